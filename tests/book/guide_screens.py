"""The instructors' guide's screenshots of the grader's own pages: `python tests/book/guide_screens.py` takes the
shipped sample class through the commands the guide names, in a temporary course, and writes feedback.png,
report.png and similarity.png into _assets/guide/ (tests/desk/desk_screens.py takes the desk's three)."""
from __future__ import annotations

import math
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Each page from its top down to the last thing its figure's caption describes, so no picture ends in a cut-off
# plot or a heading without its list: carol's whole feedback page (the one the guide describes), the report's
# score histogram (its first picture), the similarity report's pairs table and "Not compared" list.
PAGES = {"feedback.png": ("feedback_html/carol.html", "body"),
         "report.png": ("report/ch02.html", "img"),
         "similarity.png": ("similarity/ch02.html", "h2:text-is('Not compared') + ul")}
MARGIN = 24  # pixels of white below the last thing shown


def term(course: Path) -> None:
    """Release, collect with a class list, grade, feedback, report, similarity: what an instructor types."""
    from autograder.cli import main
    from autograder.course.layout import SAMPLE_CLASS, Course
    from desk_course import GUIDE_NAMES, write_roster

    # The desk pictures' class list, so both sets of pictures name the same people; sybil is added because she
    # handed in ch02 too. The other chapters' students are on no list here, hence --allow-unmatched.
    lists = course.parent / "class-list"
    lists.mkdir()
    write_roster(lists, {**GUIDE_NAMES, "sybil": "Sybil Laurent"})
    where = ["--course", str(course)]
    main(["release", *where])
    main(["collect", *where, "--roster", str(Course(lists).roster), "--allow-unmatched", str(SAMPLE_CLASS)])
    main(["grade", *where, "--jobs", "2"])
    main(["feedback", *where])
    main(["report", *where])
    main(["similarity", *where, "--assignment", "ch02"])


def shoot(page, course: Path, out: Path) -> list[Path]:
    from desk_screens import VIEWPORT

    out.mkdir(parents=True, exist_ok=True)
    for name, (page_path, last) in PAGES.items():
        page.set_viewport_size(VIEWPORT)
        page.goto((course / page_path).as_uri(), wait_until="load")
        bottom = page.locator(last).first.evaluate("e => e.getBoundingClientRect().bottom")
        page.set_viewport_size({"width": VIEWPORT["width"], "height": math.ceil(bottom) + MARGIN})
        page.screenshot(path=str(out / name))
    return [out / name for name in PAGES]


def main() -> None:
    sys.path[:0] = [str(HERE), str(HERE.parent), str(HERE.parent / "desk")]
    from test_book_browser import launched_chromium

    with tempfile.TemporaryDirectory(prefix="guide-screens-") as tmp:
        course = Path(tmp) / "course"
        term(course)
        with launched_chromium() as browser:
            for path in shoot(browser.new_page(), course, HERE.parents[1] / "_assets" / "guide"):
                print(f"{path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
