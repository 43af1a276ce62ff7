"""The built book (run.py test builds it first): pages, figures, offline assets, search."""
import io
import re
import zipfile
from pathlib import Path

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
    released = {f"{path.parent.name[:2]}" for path in (ROOT / "chapters").glob("*/exercise.ipynb")}
    assert {name.rsplit("/", 1)[-1][2:4] for name in names if name.endswith("_exercise.ipynb")} == released, names


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


def _text(html: str) -> str:
    """Visible text of an HTML fragment, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", "", html).replace("&nbsp;", " ").split())


def test_the_themes_second_header_and_search_box_are_gone():
    """pydata-sphinx-theme's own header (navbar_persistent) held a second search box and a hidden
    menu button that captured the sidebar handlers; the book's config removes it."""
    for page in ALL_PAGES:
        text = (HTML / page).read_text()
        assert "navbar-persistent--container" not in text and "navbar-persistent--mobile" not in text, (
            f"{page}: the theme's extra header with a second search box is back (set navbar_persistent: [])")
        assert len(re.findall(r"<button[^>]*class=\"[^\"]*primary-toggle", text)) == 1, (
            f"{page}: more than one menu button; the themes bind only the first")


@pytest.mark.parametrize("page", list(LESSONS))
def test_lesson_offers_its_executed_notebook_for_download(page):
    import jupytext
    import nbformat

    text = (HTML / page).read_text()
    notebook = Path(page).with_suffix(".ipynb").as_posix()
    links = re.findall(r"href=\"([^\"]*_sources/" + re.escape(notebook) + ")\"", text)
    assert links, f"{page}: the download menu has no .ipynb link"
    target = ((HTML / page).parent / links[0]).resolve()
    assert target.is_relative_to(HTML.resolve()) and target.exists(), f"{page}: {links[0]} is missing"
    nb = nbformat.read(target, as_version=4)
    nbformat.validate(nb)
    source = jupytext.read(ROOT / Path(page).with_suffix(".md"))
    code = lambda book: [c.source.strip() for c in book.cells if c.cell_type == "code"]  # noqa: E731
    assert code(nb) == code(source), f"{target.name}: its code cells differ from {page}'s source"
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{target.name} is not executed"


def _bibliography():
    """references.html -> {anchor id: label text}, and the entries' HTML."""
    text = (HTML / "references.html").read_text()
    entries = re.findall(r"<div class=\"citation\" id=\"([^\"]+)\" role=\"doc-biblioentry\">(.*?)</div>", text, re.S)
    labels = {}
    for anchor, body in entries:
        label = re.search(r"<span class=\"label\">(.*?)</span></span>", body, re.S)
        labels[anchor] = _text(label.group(1)).strip("[] ") if label else ""
    return labels, dict(entries)


def test_every_reference_has_a_link_and_an_author_year_label():
    labels, entries = _bibliography()
    assert len(entries) >= 13, f"only {len(entries)} bibliography entries"
    unlinked = [labels[a] or a for a, body in entries.items()
                if not re.search(r"<a class=\"reference external\" href=\"https?://", body)]
    assert not unlinked, f"references without a url or doi: {unlinked}"
    not_author_year = [label for label in labels.values() if not re.fullmatch(r"\D+, (\d{4}[a-z]?|n\.d\.)", label)]
    assert not not_author_year, f"bibliography labels that are not 'Author, year': {not_author_year}"
    assert len(set(labels.values())) == len(labels), f"two entries share a label: {sorted(labels.values())}"


def test_in_text_citations_read_like_the_bibliography_labels():
    labels, _ = _bibliography()
    checked, wrong = 0, []
    for page in ALL_PAGES:
        text = (HTML / page).read_text()
        for span in re.findall(r"<span class=\"bibtex-citation\"[^>]*>(.*?)</span>", text, re.S):
            for anchor, shown in re.findall(r"references\.html#([^\"]+)\"[^>]*>(.*?)</a>", span, re.S):
                shown, label = _text(shown), labels.get(anchor)
                checked += 1
                if label is None:
                    wrong.append(f"{page}: {shown!r} points at no bibliography entry")
                elif shown == label:
                    continue  # {cite:p}: [Srivastava et al., 2014]
                elif re.fullmatch(r"\d{4}[a-z]?", shown) and label.endswith(", " + shown) and \
                        label.rsplit(", ", 1)[0] in _text(span):
                    continue  # {cite:t}: Srivastava et al. [2014]
                else:
                    wrong.append(f"{page}: in text {shown!r}, in the bibliography {label!r}")
    assert checked, "no citation found in the book"
    assert not wrong, wrong
