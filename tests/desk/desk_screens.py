"""The instructors' guide's screenshots of the desk: `python tests/desk/desk_screens.py` writes them into
_assets/guide/ (the browser test takes the same pictures into a temporary folder, so this keeps working)."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHOTS = ("desk_class.png", "desk_written.png", "desk_student.png")
VIEWPORT = {"width": 1100, "height": 760}


def take(page, base: str, token: str, out: Path) -> list[Path]:
    """Class table, a written question being graded, a student's page with an override; PNGs into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(VIEWPORT)
    page.goto(f"{base}/a/ch02?token={token}")
    page.screenshot(path=str(out / SHOTS[0]))
    page.goto(f"{base}/a/ch02/q/q_test_time_scaling")
    page.wait_for_selector("body[data-math=done]", timeout=30_000)
    card = page.locator("form.mark").nth(1)
    card.locator("input[name=points]").fill("0.5")
    card.locator("textarea").fill("Right idea; say why the means differ.")
    card.locator("textarea").press("Alt+ArrowDown")  # saves, and moves to the next answer
    page.wait_for_selector("form.mark >> nth=1 >> .state.saved")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": 1000})
    page.evaluate("window.scrollTo(0, document.getElementById('model-answer').getBoundingClientRect().top"
                  " + window.scrollY - 70)")
    page.screenshot(path=str(out / SHOTS[1]))
    page.set_viewport_size(VIEWPORT)
    page.goto(f"{base}/a/ch02/s/bob")
    page.fill("#f-inverted_dropout_forward-p", "1")
    page.fill("#f-inverted_dropout_forward-r", "regrade request: the mask was right, only the scale was off")
    page.click("#f-inverted_dropout_forward button")
    page.wait_for_selector("p.saved")
    page.screenshot(path=str(out / SHOTS[2]))
    return [out / name for name in SHOTS]


def main() -> None:
    sys.path[:0] = [str(HERE), str(HERE.parent), str(HERE.parent / "book")]
    from autograder.release.notebooks import release
    from desk_course import TOKEN, fill_guide, running
    from test_book_browser import launched_chromium

    course = Path(tempfile.mkdtemp(prefix="desk-guide-"))
    release(course, ("ch02",))
    with running(course, fill_guide(course), author="instructor") as base, launched_chromium() as browser:
        for path in take(browser.new_page(), base, TOKEN, HERE.parents[1] / "_assets" / "guide"):
            print(f"{path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
