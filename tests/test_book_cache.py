"""`python3 run.py book` re-executes lessons when code they import changes (the execution cache
keys a lesson on its own cells only, so without this a lesson would keep outputs of old code)."""
import importlib.util

import pytest

from autograder.course.layout import REPO


@pytest.fixture
def run_py(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("run_py_under_test", REPO / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "ROOT", tmp_path)
    return module


def build(run_py, tmp_path):
    """What build_book does around the build: check, build (here: make the folders), stamp."""
    cache, html = tmp_path / "_build" / ".jupyter_cache", tmp_path / "_build" / "html"
    stamp, digest = run_py.drop_if_changed(cache / ".imports-digest", [tmp_path / "course_experiments"],
                                           drop=[cache, html])
    for folder in (cache, html):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "built").touch()
    stamp.write_text(digest)
    return cache, html


def test_lessons_run_again_only_when_imported_code_changed(run_py, tmp_path):
    code = tmp_path / "course_experiments"
    code.mkdir()
    (code / "sweep.py").write_text("RATES = (0.1, 0.5)\n")
    cache, html = build(run_py, tmp_path)

    (code / "notes.txt").write_text("not code")
    build(run_py, tmp_path)
    (cache / "built").unlink()  # a second build keeps what the first left
    run_py.drop_if_changed(cache / ".imports-digest", [code], drop=[cache, html])
    assert cache.exists() and html.exists()

    (code / "sweep.py").write_text("RATES = (0.1, 0.5, 0.8)\n")
    run_py.drop_if_changed(cache / ".imports-digest", [code], drop=[cache, html])
    assert not cache.exists() and not html.exists()


def test_a_renamed_module_counts_as_a_change(run_py, tmp_path):
    code = tmp_path / "course_experiments"
    code.mkdir()
    (code / "a.py").write_text("X = 1\n")
    cache, html = build(run_py, tmp_path)
    (code / "a.py").rename(code / "b.py")
    run_py.drop_if_changed(cache / ".imports-digest", [code], drop=[cache, html])
    assert not cache.exists()


def test_the_lessons_imports_are_the_packages_they_import(run_py):
    """LESSON_IMPORTS names every project package a lesson imports."""
    import re
    imported = set()
    for lesson in [REPO / "intro.md", *REPO.glob("chapters/*/lesson.md")]:
        imported |= set(re.findall(r"^\s*(?:from|import) (\w+)", lesson.read_text(), re.M))
    ours = {p.name for p in REPO.glob("*/") if (p / "__init__.py").exists()}
    ours |= {p.name for p in (REPO / "solutions").glob("*/") if (p / "__init__.py").exists()}
    assert imported & ours, "the lessons import none of the project's packages: the scan is broken"
    assert imported & ours <= {p.name for p in run_py.LESSON_IMPORTS}
