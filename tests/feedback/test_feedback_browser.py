"""A feedback page in Chromium: its two tables keep their columns in line, and a phone never scrolls it sideways.

Hand-made gradebook rows (no grading); the page is opened from its file, as a student opens the one handed back.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from autograder.feedback.pages import feedback

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book"))  # when run alone, as the full run does
from test_book_browser import launched_chromium  # noqa: E402 - Debian's Chromium, offline flags

DESKTOP, PHONE = 1100, 390
# An exception message a student chose can hold a token longer than a phone is wide.
UNBROKEN = "inverted_dropout_forward: the test stopped with ValueError: " + "x" * 120
ROW = {"student": "carol", "assignment": "ch02", "sha256": "0" * 64, "score": 3.0, "max_score": 9.0,
       "functions": {"inverted_dropout_forward": {"points": 0.0, "max_points": 3, "reason": UNBROKEN},
                     "spatial_dropout_forward": {"points": 0.0, "max_points": 3,
                                                 "reason": "spatial_dropout_forward: kept units were multiplied by 1"},
                     "vanilla_dropout_forward": {"points": 3.0, "max_points": 3, "reason": ""}},
       "written": {"q_dropout_variance": {"points": None, "max_points": 1.0},
                   "q_test_time_scaling": {"points": 0.5, "max_points": 1.0, "comment": "half right"}}}
# Where each column of each table starts, and how wide the page is against the window.
LAYOUT = """() => ({columns: [...document.querySelectorAll('table')].map(t => [...t.rows[0].cells].map(
                        c => Math.round(c.getBoundingClientRect().left))),
                    page: document.documentElement.scrollWidth, window: document.documentElement.clientWidth})"""


@pytest.fixture(scope="module")
def browser():
    with launched_chromium() as chromium:
        yield chromium


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_the_points_columns_line_up_and_nothing_scrolls_sideways(browser, tmp_path, width):
    (path,) = feedback([ROW], tmp_path / "course", tmp_path / "feedback", names={})
    page = browser.new_page(viewport={"width": width, "height": 800})
    page.goto(path.as_uri(), wait_until="load")
    layout = page.evaluate(LAYOUT)
    page.close()
    functions, written = layout["columns"]
    assert functions == written, f"the two tables' columns start at different places: {layout['columns']}"
    assert layout["page"] <= layout["window"], f"the page is {layout['page']} px wide in a {width} px window"
