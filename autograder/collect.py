"""Bring a class's submissions into ``course/submitted/<student>/<assignment>/exercise.ipynb``.

Accepts a folder or a ``.zip`` as learning-management systems export them: one entry per
student, either a folder (named after the student) holding notebooks, or a file named
``<student>_<anything>.ipynb``. Notebook names may carry suffixes or be renamed; the
assignment is read from a ``chNN`` in the name, or from ``--assignment``. The originals are
only read, never changed.
"""
from __future__ import annotations

import json
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

from .paths import ASSIGNMENTS

ASSIGNMENT_IN_NAME = re.compile(r"ch0?([1-7])", re.IGNORECASE)


class CollectError(ValueError):
    pass


def _assignment_from_content(path: Path) -> str | None:
    """The graded cells' ids tell the assignment even when the file was renamed."""
    from .sources import points_by_function

    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        ids = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in cells}
    except (ValueError, AttributeError, UnicodeDecodeError):
        return None
    matches = [a for a in ASSIGNMENTS if set(points_by_function(a)) & ids]
    return matches[0] if len(matches) == 1 else None


def _assignment_of(path: Path, default: str | None) -> str | None:
    match = ASSIGNMENT_IN_NAME.search(path.name)
    if match:
        return f"ch0{match.group(1)}"
    return default or _assignment_from_content(path)


def _student_of_file(path: Path) -> str:
    return re.split(r"[_\s]", path.stem, maxsplit=1)[0] or path.stem


def _entries(root: Path, default: str | None):
    for entry in sorted(root.iterdir()):
        if entry.name.startswith((".", "__MACOSX")):
            continue
        if entry.is_dir():
            for nb in sorted(p for p in entry.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts):
                yield entry.name, _assignment_of(nb, default), nb
        elif entry.suffix == ".ipynb":
            yield _student_of_file(entry), _assignment_of(entry, default), entry


def collect(source: Path, course: Path, assignment: str | None = None) -> list[tuple[str, str, Path]]:
    """Copy every submission into the course folder; returns (student, assignment, copied path)."""
    if assignment is not None and assignment not in ASSIGNMENTS:
        raise CollectError(f"unknown assignment {assignment!r}; choose one of {', '.join(ASSIGNMENTS)}")
    if not source.exists():
        raise CollectError(f"{source} does not exist: pass the folder or .zip your LMS exported")
    with tempfile.TemporaryDirectory() as tmp:
        root = source
        if source.is_file():
            if not zipfile.is_zipfile(source):
                raise CollectError(f"{source} is neither a folder nor a .zip archive")
            with zipfile.ZipFile(source) as archive:
                archive.extractall(tmp)
            root = Path(tmp)
            inner = [p for p in root.iterdir() if not p.name.startswith((".", "__MACOSX"))]
            if len(inner) == 1 and inner[0].is_dir() and all(p.is_dir() for p in inner[0].iterdir()):
                root = inner[0]  # an archive that wraps the class in one folder
        collected, skipped = [], []
        for student, name, notebook in _entries(root, assignment):
            if name is None:
                skipped.append(notebook.name)
                continue
            target = course / "submitted" / student / name / "exercise.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(notebook, target)
            collected.append((student, name, target))
    if skipped:
        print(f"skipped {len(skipped)} notebook(s) whose assignment could not be told from the name "
              f"(rename to contain chNN or pass --assignment): {', '.join(skipped[:5])}")
    return collected
