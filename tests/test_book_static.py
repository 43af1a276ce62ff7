"""The built book (run.py test builds it first): pages, figures, offline assets, search."""
import io
import re
import zipfile

import pytest

from book_pages import ALL_PAGES, EXERCISES, HTML, KIT_PAGES, LESSONS, ROOT

pytestmark = pytest.mark.book

EXTERNAL = re.compile(r"<(script|link)[^>]+(src|href)=\"(https?:)?//", re.IGNORECASE)


@pytest.fixture(scope="module", autouse=True)
def built():
    if not (HTML / "index.html").exists():
        pytest.fail("the book is not built: run `python3 run.py book` (run.py test does it for you)")


@pytest.mark.parametrize("page", ALL_PAGES)
def test_page_exists_and_loads_nothing_from_the_web(page):
    text = (HTML / page).read_text()
    assert not EXTERNAL.findall(text), f"{page} loads a script or stylesheet from the web"
    if 'class="math' in text:
        assert "_static/mathjax/tex-chtml.js" in text, f"{page} has math but does not load the vendored MathJax"


def test_no_page_anywhere_loads_from_the_web():
    offenders = [str(p.relative_to(HTML)) for p in HTML.rglob("*.html") if EXTERNAL.search(p.read_text())]
    assert not offenders, offenders


@pytest.mark.parametrize("page,figures", LESSONS.items())
def test_lesson_has_its_figures_and_no_errors(page, figures):
    text = (HTML / page).read_text()
    images = re.findall(r"<img[^>]+src=\"([^\"]+\.png)\"", text)
    assert len(images) >= figures, f"{page}: {len(images)} figures, expected at least {figures}"
    for src in images:
        assert (HTML / page).parent.joinpath(src).resolve().exists(), f"{page}: missing image {src}"


@pytest.mark.parametrize("page", EXERCISES)
def test_exercise_pages_show_stubs_and_offer_the_download(page):
    text = (HTML / page).read_text()
    assert "YOUR CODE HERE" in text
    assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text
    assert re.search(r"href=\"[^\"]*exercise\.ipynb\"", text), "no download link to the notebook"
    assert (HTML / "_sources" / page.replace(".html", ".ipynb")).exists()


@pytest.mark.parametrize("page", KIT_PAGES)
def test_pages_link_the_student_kit_copied_into_the_book(page):
    text = (HTML / page).read_text()
    links = re.findall(r"<a class=\"reference download internal\"[^>]*href=\"([^\"]*dropout-student-kit\.zip)\"", text)
    assert links, f"{page} has no download link to the student kit"
    built = (ROOT / "_build" / "kit" / "dropout-student-kit.zip").read_bytes()
    for href in links:
        target = ((HTML / page).parent / href).resolve()
        assert target.is_relative_to(HTML.resolve()), f"{page}: the kit link leaves the book: {href}"
        assert target.read_bytes() == built, f"{page}: {href} is not the kit `run.py book` built"
    with zipfile.ZipFile(io.BytesIO(built)) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
    assert sum(name.endswith("_exercise.ipynb") for name in names) == 7, names


def test_search_works_offline():
    assert (HTML / "search.html").exists()
    index = (HTML / "searchindex.js").read_text()
    for word in ("dropout", "spatial", "calibr"):
        assert word in index.lower()


def test_references_page_cites_the_papers():
    text = (HTML / "references.html").read_text()
    for name in ("Srivastava", "Tompson", "Gal", "Wan", "Li"):
        assert name in text


@pytest.mark.parametrize("page", list(LESSONS))
def test_lessons_executed_without_error_output(page):
    text = (HTML / page).read_text()
    assert "Traceback (most recent call last)" not in text, f"{page} shows a traceback"
