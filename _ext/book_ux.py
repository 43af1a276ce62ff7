"""Reader-experience fixes for the book that need Python rather than CSS/JS (issue 12).

1. Author-year labels in the bibliography.  sphinxcontrib-bibtex's ``author_year`` reference
   style writes "[Srivastava et al., 2014]" in the text, but its bibliography styles label the
   entries with pybtex's *alpha* labels ("[SHK+14]").  Here one function, ``short_label``, makes the
   "Author et al., 2014" text, and both the in-text reference style (``author_year_book``) and the
   bibliography's label style (``author_year_book``) use it, so the two always agree.  Two papers
   with the same authors and year get "2016a"/"2016b" (ordered by title) in both places.

2. A ``.ipynb`` download of every lesson.  sphinx-book-theme's download menu offers the executed
   notebook only when launch buttons (Binder, Colab, ...) are configured, because the copy into
   ``_sources`` lives in its launch-button code.  We do the same copy for MyST-markdown notebooks
   (with the cached outputs merged in, see ``_with_cached_outputs``) and set ``ipynb_source`` before
   the theme builds its header buttons (priority 500 < the theme's 501). Its first cell says what
   running it needs: the packages its imports name, and this course's repository for the course's
   own packages (``requirements_cell``).

3. The repository's address, written once in ``_config.yml`` (the theme's ``repository_url``), is
   handed to pages as the MyST substitutions ``{{ repository }}`` (a link) and ``{{ repository_url }}``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from pybtex.database import parse_file
from pybtex.plugin import register_plugin as register_pybtex_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.template import node
from sphinxcontrib.bibtex.plugin import register_plugin as register_bibtex_plugin
from sphinxcontrib.bibtex.style.referencing import BracketStyle, PersonStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle
from sphinxcontrib.bibtex.style.referencing.basic_author_year import (
    BasicAuthorYearParentheticalReferenceStyle, BasicAuthorYearTextualReferenceStyle)
from sphinxcontrib.bibtex.style.template import join, join2, post_text, pre_text, reference

STYLE = "author_year_book"
# citation key -> "a"/"b"/... for entries whose short author list and year coincide
_YEAR_SUFFIX: dict[str, str] = {}


def _short_authors(entry) -> str:
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    surnames = [" ".join(p.prelast_names + p.last_names) for p in people]
    surnames = [Text.from_latex(s).render_as("text") for s in surnames]
    if not surnames:
        return Text.from_latex(entry.fields.get("title", "Anonymous")).render_as("text")
    if len(surnames) == 1:
        return surnames[0]
    if len(surnames) == 2:
        return f"{surnames[0]} and {surnames[1]}"
    return f"{surnames[0]} et al."


def _year(entry) -> str:
    return entry.fields.get("year", "n.d.") + _YEAR_SUFFIX.get(entry.key, "")


def short_label(entry) -> str:
    """'Srivastava et al., 2014' - the bibliography label, identical to the in-text reference."""
    return f"{_short_authors(entry)}, {_year(entry)}"


def compute_year_suffixes(bibfiles: Iterable[Path]) -> None:
    groups: dict[tuple[str, str], list] = {}
    for bibfile in bibfiles:
        for entry in parse_file(str(bibfile)).entries.values():
            groups.setdefault((_short_authors(entry), entry.fields.get("year", "")), []).append(entry)
    _YEAR_SUFFIX.clear()
    for entries in groups.values():
        if len(entries) > 1:
            entries.sort(key=lambda e: Text.from_latex(e.fields.get("title", "")).render_as("text").lower())
            for letter, entry in zip("abcdefghijklmnopqrstuvwxyz", entries):
                _YEAR_SUFFIX[entry.key] = letter


@node
def year_with_suffix(children, data):
    """The year of ``data['entry']``, with the a/b suffix that tells same-author-year papers apart."""
    assert not children
    return Text(_year(data["entry"]))


class AuthorYearLabelStyle(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            yield short_label(entry)


class AuthorYearBibliographyStyle(UnsrtStyle):
    """pybtex's unsrt entries, author-year labels, sorted by author, year, title."""
    default_label_style = STYLE
    default_sorting_style = "author_year_title"


@dataclass
class _Parenthetical(BasicAuthorYearParentheticalReferenceStyle):
    def inner(self, role_name):
        return join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[
            pre_text,
            reference[join(sep=self.author_year_sep)[
                self.person.author_or_editor_or_title(full="s" in role_name), year_with_suffix]],
            post_text,
        ]


@dataclass
class _Textual(BasicAuthorYearTextualReferenceStyle):
    def inner(self, role_name):
        return join(sep=self.text_reference_sep)[
            self.person.author_or_editor_or_title(full="s" in role_name),
            join[self.bracket.left,
                 join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[
                     pre_text, reference[year_with_suffix], post_text],
                 self.bracket.right],
        ]


@dataclass
class AuthorYearBookReferenceStyle(AuthorYearReferenceStyle):
    """sphinxcontrib-bibtex's author_year, with the year suffix of ``year_with_suffix``."""

    def __post_init__(self):
        super().__post_init__()
        # swap in the two basic styles that print the suffixed year, then re-map the roles
        self.styles[0] = _Parenthetical(
            bracket=self.bracket_parenthetical, person=self.person, author_year_sep=self.author_year_sep,
            pre_text_sep=self.pre_text_sep, post_text_sep=self.post_text_sep)
        self.styles[1] = _Textual(
            bracket=self.bracket_textual, person=self.person, text_reference_sep=self.text_reference_sep,
            pre_text_sep=self.pre_text_sep, post_text_sep=self.post_text_sep)
        for style in self.styles[:2]:
            self.role_style.update((role, style) for role in style.role_names())


def _suffixes_from_config(app, config) -> None:
    compute_year_suffixes(Path(app.srcdir, name) for name in config.bibtex_bibfiles)


def _repository_substitutions(app, config) -> None:
    url = config.html_theme_options.get("repository_url", "")
    if not url:
        raise ValueError("_config.yml sets no repository url (sphinx.config.html_theme_options.repository_url)")
    config.myst_substitutions = {**(config.myst_substitutions or {}), "repository_url": url,
                                 "repository": f"[{url}]({url})"}


# Top-level modules the lessons import that come from this repository, not from PyPI.
COURSE_PACKAGES = {"course_experiments", "dropout_reference", "dropout_kit", "dropout_collect", "dropout_checks"}
PYPI_NAMES = {"myst_nb": "myst-nb", "IPython": "ipython", "sklearn": "scikit-learn"}


def imported_modules(notebook) -> list[str]:
    """Top-level modules the code cells import, in order of first import (the standard library left out)."""
    import ast
    import sys

    found = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in found:
                    found.append(top)
    return found


def requirements_cell(notebook, repository_url: str):
    """A first markdown cell that says what running the downloaded lesson needs."""
    import nbformat

    modules = imported_modules(notebook)
    pypi = [PYPI_NAMES.get(m, m) for m in modules if m not in COURSE_PACKAGES]
    ours = [m for m in modules if m in COURSE_PACKAGES]
    lines = ["**Running this notebook.** It is the lesson as the book executed it, outputs included."]
    if pypi:
        lines.append(f"It imports {', '.join(f'`{m}`' for m in pypi)} (Python 3.11).")
    if ours:
        names = ", ".join(f"`{m}`" for m in ours)
        what = f"package {names}, which comes" if len(ours) == 1 else f"packages {names}, which come"
        lines.append(f"It also imports this course's own {what} with the "
                     f"course's repository, {repository_url}. Clone it and, in its folder, run "
                     "`python3 -m venv .venv`, then `.venv/bin/pip install -c constraints.txt -e \".[book]\" jupyterlab` "
                     "(the pinned versions of all of the above), then open this notebook with `.venv/bin/jupyter lab`.")
    elif pypi:
        lines.append(f"Install them with `pip install {' '.join(pypi)}`.")
    return nbformat.v4.new_markdown_cell(" ".join(lines), metadata={"dropout_course_download_note": True})


def _with_cached_outputs(app, executed: Path) -> bytes:
    """The notebook MyST-NB wrote to jupyter_execute, with the outputs of its cached execution.

    In ``execute_notebooks: cache`` mode MyST-NB 1.4 writes the notebook *before* the outputs are
    merged in (the cache client merges into a copy), so that file has no outputs; we merge them
    from the same jupyter-cache here. Without a cache match the file is offered as it is.
    """
    import nbformat

    config = app.env.mystnb_config
    notebook = nbformat.read(executed, as_version=4)
    if config.execution_mode == "cache" and config.execution_cache_path:
        from jupyter_cache import get_cache

        cache = get_cache(config.execution_cache_path)
        try:
            _, notebook = cache.merge_match_into_notebook(notebook)
        except KeyError:  # no cached run matches this code (e.g. execution was skipped)
            pass
    notebook.cells.insert(0, requirements_cell(notebook, app.config.html_theme_options["repository_url"]))
    return nbformat.writes(notebook).encode("utf-8")


def add_notebook_download(app, pagename, templatename, context, doctree) -> None:
    """Offer the executed notebook of a MyST-markdown lesson in the theme's download menu."""
    if doctree is None or "kernelspec" not in app.env.metadata.get(pagename, {}):
        return
    if not context.get("sourcename", "").endswith((".md", ".md.txt")):
        return  # .ipynb sources are offered by the theme already
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.exists():
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(_with_cached_outputs(app, executed))
    context["ipynb_source"] = f"{pagename}.ipynb"


def setup(app):
    register_pybtex_plugin("pybtex.style.labels", STYLE, AuthorYearLabelStyle)
    register_pybtex_plugin("pybtex.style.formatting", STYLE, AuthorYearBibliographyStyle)
    register_bibtex_plugin("sphinxcontrib.bibtex.style.referencing", STYLE, AuthorYearBookReferenceStyle)
    app.connect("config-inited", _suffixes_from_config)
    app.connect("config-inited", _repository_substitutions)
    app.connect("html-page-context", add_notebook_download, priority=500)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
