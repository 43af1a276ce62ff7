"""The repository's address is written once (`_config.yml`) and every place that gives it agrees."""
from __future__ import annotations

import re
import sys

import jupytext
import yaml

from autograder.course.layout import REPO

sys.path.insert(0, str(REPO / "_ext"))
import book_ux  # noqa: E402 - the book's own extension, from _ext/

CONFIG_TEXT = (REPO / "_config.yml").read_text()
CONFIG = yaml.safe_load(CONFIG_TEXT)
URL = CONFIG["repository"]["url"]


def test_one_setting_feeds_the_repository_button():
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", URL)
    theme = CONFIG["sphinx"]["config"]["html_theme_options"]
    assert theme["repository_url"] == URL and theme["use_repository_button"] is True
    # an alias of the one setting, not a second copy of the address
    assert CONFIG_TEXT.count(URL) == 1 and "repository_url: *repository_url" in CONFIG_TEXT
    assert "substitution" in CONFIG["parse"]["myst_enable_extensions"]


def test_the_students_page_and_the_readme_give_the_same_address():
    assert "{{ repository }}" in (REPO / "students.md").read_text()
    assert URL in (REPO / "README.md").read_text()

    class Config:
        html_theme_options = CONFIG["sphinx"]["config"]["html_theme_options"]
        myst_substitutions = None
    book_ux._repository_substitutions(None, Config)
    assert Config.myst_substitutions == {"repository_url": URL, "repository": f"[{URL}]({URL})"}


def test_a_lesson_download_says_what_it_needs():
    nb = jupytext.read(REPO / "chapters" / "07_beyond" / "lesson.md")
    note = book_ux.requirements_cell(nb, URL).source
    for needed in ("`numpy`", "`torch`", "`matplotlib`", "`dropout_reference`", "`course_experiments`", URL,
                   "pip install -c constraints.txt"):
        assert needed in note, needed
    assert "`warnings`" not in note  # the standard library needs nothing
