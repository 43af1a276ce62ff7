"""Every point the course's three source documents make is taught, where chapters/seed_points.toml says.

That file is the project's own list: each point restated in the course's words, the source(s) making
it (by a short title) and a pattern for the lesson sentence that teaches it. The source documents
themselves are not part of the repository and are never read here.
"""
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED_POINTS = ROOT / "chapters" / "seed_points.toml"
TABLE = tomllib.loads(SEED_POINTS.read_text())
SOURCES, POINTS = TABLE["sources"], TABLE["point"]
FIELDS = {"point", "sources", "chapter", "sentence"}


def lesson_text(chapter: str) -> str:
    """The lesson's MyST source with every run of white space (line breaks included) read as one space."""
    return re.sub(r"\s+", " ", (ROOT / "chapters" / chapter / "lesson.md").read_text())


def words_in(pattern: str) -> list[str]:
    return re.findall(r"[A-Za-z]{2,}", re.sub(r"\\.", " ", pattern))


@pytest.mark.parametrize("row", POINTS, ids=[row["point"][:60] for row in POINTS])
def test_seed_point_is_taught_where_the_table_says(row):
    assert re.search(row["sentence"], lesson_text(row["chapter"]), re.I), \
        f"{row['point']!r} ({', '.join(row['sources'])}) is no longer taught in {row['chapter']}: " \
        f"no match for {row['sentence']!r}"


@pytest.mark.parametrize("row", POINTS, ids=[row["point"][:60] for row in POINTS])
def test_each_row_is_complete_and_names_known_sources(row):
    assert set(row) == FIELDS, f"{row['point']!r}: fields {sorted(row)}, expected {sorted(FIELDS)}"
    assert row["sources"] and set(row["sources"]) <= set(SOURCES), row["sources"]
    assert (ROOT / "chapters" / row["chapter"] / "lesson.md").exists(), row["chapter"]
    assert len(words_in(row["sentence"])) >= 3, f"{row['sentence']!r} should quote the sentence, not a lone word"


def test_every_source_is_covered_by_several_points():
    for source in SOURCES:
        assert sum(source in row["sources"] for row in POINTS) >= 5, source


def test_no_point_is_listed_twice():
    statements = [row["point"].lower() for row in POINTS]
    assert len(statements) == len(set(statements))


def test_every_chapter_but_none_outside_the_book_is_named():
    chapters = {path.parent.name for path in (ROOT / "chapters").glob("*/lesson.md")}
    assert {row["chapter"] for row in POINTS} == chapters


def test_sources_are_named_by_title_not_by_a_path_outside_the_repository():
    for key, title in SOURCES.items():
        assert not re.search(r"[/\\]|\.(txt|md)\b", title), f"{key}: {title!r} looks like a path"
