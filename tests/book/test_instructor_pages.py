"""The instructor's guide in the built book: every grader command named, every screenshot shown."""
import html
import re

import pytest

from autograder.course.layout import SAMPLE_CLASS
from book_pages import HTML, ROOT

pytestmark = pytest.mark.book

PAGE = HTML / "instructors.html"
COMMANDS = ["dropout-grader release", "collect", "--roster", "--timestamps", "grade --jobs",
            "dropout-grader feedback", "--show-hidden", "dropout-grader manual", "manual --import",
            "dropout-grader report", "dropout-grader similarity", "export --roster",
            "dropout-grader deadlines", "course.toml", "dropout-grader desk"]
SCREENSHOTS = ["feedback.png", "report.png", "similarity.png",  # tests/book/guide_screens.py
               "desk_class.png", "desk_written.png", "desk_student.png"]  # tests/desk/desk_screens.py
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def page_html():
    if not PAGE.exists():
        pytest.fail("instructors.html is not built: run `python3 run.py book`")
    return PAGE.read_text()


def test_page_names_every_command(page_html):
    text = html.unescape(re.sub(r"<[^>]+>", "", page_html))
    missing = [command for command in COMMANDS if command not in text]
    assert not missing, f"instructors.html does not name {missing}"


def test_page_shows_the_screenshots(page_html):
    images = {}
    for tag in re.findall(r"<img\b[^>]*>", page_html):
        src = re.search(r'src="([^"]+)"', tag).group(1)
        alt = re.search(r'alt="([^"]*)"', tag)
        images[src.rsplit("/", 1)[-1]] = (src, alt.group(1) if alt else "")
    for name in SCREENSHOTS:
        assert name in images, f"instructors.html does not show {name}: {sorted(images)}"
        src, alt = images[name]
        assert len(alt.split()) >= 5, f"{name} has no real alt text: {alt!r}"
        target = (PAGE.parent / src).resolve()
        assert target.is_relative_to(HTML.resolve()), f"{src} lies outside the built book"
        data = target.read_bytes()
        assert len(data) > 1000 and data.startswith(PNG_MAGIC), f"{src} is not a PNG"
        assert data == (ROOT / "_assets" / "guide" / name).read_bytes(), f"{src} is not _assets/guide/{name}"


def sample_submissions() -> int:
    """Students in the sample class as `collect` finds them: a folder each, or one loose notebook at the top
    (hidden names are skipped, as collect skips them)."""
    entries = [p for p in SAMPLE_CLASS.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
    return sum(p.is_dir() or p.name.lower().endswith(".ipynb") for p in entries)


def test_page_counts_the_sample_class(page_html):
    # The guide said 20 long after the class grew to 22: the number it states is checked against the class.
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", page_html)).split())
    stated = re.findall(r"(\d+) notebooks of the shipped sample class", text)
    assert stated, "instructors.html no longer says how many notebooks the sample class has"
    assert {int(n) for n in stated} == {sample_submissions()}, (stated, sample_submissions())
