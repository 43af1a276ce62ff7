"""The student kit: one zip with everything a student needs, and nothing an instructor keeps.

    python -m autograder.release.student_kit [--out _build/kit]

builds ``dropout-student-kit.zip``, which unzips into one folder::

    dropout-student-kit/
        README.md                       the three commands, and how to hand in
        requirements.txt                the checks' wheel (by relative path) and pinned packages
        wheels/dropout_kit-<v>-py3-none-any.whl   the visible checks (kit/dropout_kit)
        ch01_exercise.ipynb ... ch08_exercise.ipynb   the released notebooks

The notebooks are the book's copies of the nbgrader release (``chapters/*/exercise.ipynb``, kept
in sync with a fresh release by a test) without the book's kit-link cell. Nothing of
``solutions/`` goes in, and the build refuses to write a kit in which any file mentions a
solution block, a hidden test, the reference package, the collectors or the trusted checks.
The zip is byte-for-byte the same for the same inputs, and is rewritten only when it changes,
so the book does not re-read its pages for nothing.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from autograder.course.files import write_bytes_atomically
from autograder.course.layout import ASSIGNMENTS, CHAPTERS, REPO

KIT_NAME = "dropout-student-kit"
ZIP_NAME = f"{KIT_NAME}.zip"
KIT_SOURCE = REPO / "kit"                    # kit/pyproject.toml + kit/dropout_kit/
DEFAULT_OUT = REPO / "_build" / "kit"        # gitignored; `run.py book` builds the kit here
BOOK_LINK = f"/_build/kit/{ZIP_NAME}"        # the same file, as the book's {download} roles name it
# Cells the book adds to its copy of a released notebook (the kit link) carry this metadata.
BOOK_ONLY = "dropout_course_book_only"
# What the student needs besides the checks; versions come from the project's constraints.txt.
PINNED = ("numpy", "torch", "matplotlib", "jupyterlab")
# Text that must not appear in any file of the kit.
FORBIDDEN = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
             "dropout_reference", "dropout_collect", "dropout_checks")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)           # zip timestamps: the same bytes for the same inputs


class KitError(RuntimeError):
    """The kit cannot be built, or would leak what it must not hold."""


def notebook_name(assignment: str) -> str:
    return f"{assignment}_exercise.ipynb"


def pinned_versions(constraints: Path = REPO / "constraints.txt") -> dict[str, str]:
    pins = {}
    for line in constraints.read_text().splitlines():
        name, sep, version = line.split("#", 1)[0].strip().partition("==")
        if sep:
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    missing = [name for name in PINNED if name not in pins]
    if missing:
        raise KitError(f"constraints.txt pins no version of {', '.join(missing)}")
    return {name: pins[name] for name in PINNED}


def kit_notebook(assignment: str) -> dict:
    """The released notebook as the book holds it, less the cells only the book shows.

    Plain JSON (nbformat 4): importing nbformat costs seconds, and the book build runs this.
    """
    nb = json.loads((CHAPTERS / ASSIGNMENTS[assignment] / "exercise.ipynb").read_text())
    nb["cells"] = [cell for cell in nb["cells"] if not cell.get("metadata", {}).get(BOOK_ONLY)]
    return nb


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _checks_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted([KIT_SOURCE / "pyproject.toml", *(KIT_SOURCE / "dropout_kit").glob("*.py")]):
        digest.update(path.relative_to(KIT_SOURCE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:10]


def build_wheel(out_dir: Path) -> Path:
    """Build the dropout-kit wheel into ``out_dir`` from a scratch copy of kit/ (nothing written in the tree).

    The version gets a local label from the checks' digest ("0.1.0+a1b2c3d4e5"): pip skips a wheel
    whose version is already installed, so a kit with changed checks must carry a new version.
    """
    with tempfile.TemporaryDirectory(prefix="dropout-kit-build-") as scratch:
        src = Path(scratch) / "kit"
        shutil.copytree(KIT_SOURCE, src, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "build", "*.egg-info"))
        project = src / "pyproject.toml"
        text, count = re.subn(r'(?m)^version = "([^"+]+)"', rf'version = "\1+{_checks_digest()}"', project.read_text())
        if count != 1:
            raise KitError("kit/pyproject.toml must have one line `version = \"X.Y.Z\"`")
        project.write_text(text)
        wheels = Path(scratch) / "wheels"
        env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}  # 1980-01-01: reproducible zip entries
        # setuptools' PEP 517 hook, as `pip wheel --no-deps --no-build-isolation` would call it (no network).
        hook = f"from setuptools import build_meta; build_meta.build_wheel({str(wheels)!r})"
        proc = subprocess.run([sys.executable, "-c", hook], cwd=src, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise KitError(f"building the dropout-kit wheel failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        built = sorted(wheels.glob("dropout_kit-*.whl"))
        if len(built) != 1:
            raise KitError(f"expected one dropout-kit wheel, got {[p.name for p in built]}")
        out_dir.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy2(built[0], out_dir / built[0].name))


def requirements_text(wheel_name: str, pins: dict[str, str]) -> str:
    lines = ["# Everything the exercises need. From inside this folder, into a fresh virtual environment:",
             "#     .venv/bin/pip install -r requirements.txt",
             "# The visible checks of the exercises (imported as dropout_kit), shipped in this kit:",
             f"./wheels/{wheel_name}",
             "# The versions the course is built and tested with:"]
    lines += [f"{name}=={version}" for name, version in pins.items()]
    return "\n".join(lines) + "\n"


def exercise_title(assignment: str) -> str:
    """The notebook's own title ("Exercise 2: vanilla and inverted dropout"), from its first heading."""
    for cell in kit_notebook(assignment)["cells"]:
        if cell["cell_type"] == "markdown":
            for line in _source(cell).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return f"Exercise {int(assignment[2:])}"


def readme_text(pins: dict[str, str]) -> str:
    rows = "\n".join(f"| `{notebook_name(a)}` | {exercise_title(a)} |" for a in ASSIGNMENTS)
    return f"""# Dropout, from first principles: student kit

This folder holds the exercise notebooks of the course and what they need to run.

| file | what it is |
|---|---|
{rows}
| `requirements.txt` | the packages to install: the exercises' checks, NumPy, PyTorch, Matplotlib, JupyterLab |
| `wheels/` | the exercises' checks (`dropout_kit`), installed by `requirements.txt` |

## Set up (once)

You need Python 3.11 or newer (the course is tested with 3.11) and an internet connection
for the install.
Open a terminal in this folder and run the three commands:

```bash
python3 -m venv .venv
.venv/bin/pip install -r requirements.txt
.venv/bin/jupyter lab
```

The first makes a virtual environment in `.venv`, the second installs the packages into it
(PyTorch {pins["torch"]} is a large download, give it a few minutes), and the third opens
JupyterLab in your browser. Next time only the third command is needed. On Windows, write
`py -m venv .venv`, then `.venv\\Scripts\\pip install -r requirements.txt` and
`.venv\\Scripts\\jupyter lab`.

## Work on an exercise

1. In JupyterLab, open the notebook of the chapter, for example `ch02_exercise.ipynb`.
2. Run the first code cell: it imports the checks. Fill in each cell that says
   `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line).
3. Run the check cell under your answer. When your function passes, the cell runs without
   an error; otherwise it stops with one sentence that says what is wrong (and, when your code
   raised, the lines of your code where). Before you have written anything it says "not
   implemented yet".
4. Answer the written questions, if there are any, in the cells below them. The last cell
   counts how many of the notebook's visible checks pass.

"Run All" stops at the first check that fails, so the cells after it, the summary included,
do not run: fix that function and run on from there, or run the remaining cells one at a time.

The visible checks catch the common mistakes quickly. Your instructor grades with more tests
that you do not see, so a passing check is a good sign, not a grade. Do not edit or delete the
check cells: at grading they are put back as released anyway.

## Hand in

Save the notebook (Ctrl+S) and upload the notebook of that chapter where your course's LMS
asks for it, for example `ch02_exercise.ipynb` for Exercise 2. Keep the chapter in the file
name (`ch02`), or name it `exercise.ipynb` if your instructor asks for that; hand in one
notebook per exercise.
"""


def _zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"{KIT_NAME}/{name}", date_time=FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, files[name])
    return buffer.getvalue()


def texts_of(name: str, data: bytes) -> list[tuple[str, str]]:
    """Every text a kit file holds, decoded: a wheel's members and a notebook's cell sources included."""
    if name.endswith(".whl"):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return [(f"{name}:{member}", zf.read(member).decode("utf-8", "replace")) for member in zf.namelist()]
    text = data.decode("utf-8", "replace")
    if name.endswith(".ipynb"):
        cells = json.loads(text)["cells"]
        return [(name, text)] + [(f"{name} cell {i}", _source(cell)) for i, cell in enumerate(cells)]
    return [(name, text)]


def leaks(files: dict[str, bytes]) -> list[str]:
    return [f"{where} mentions {word!r}" for name, data in files.items()
            for where, text in texts_of(name, data) for word in FORBIDDEN if word in text]


def kit_files(scratch: Path) -> dict[str, bytes]:
    """Path inside the kit folder -> content."""
    pins = pinned_versions()
    wheel = build_wheel(scratch)
    files = {f"wheels/{wheel.name}": wheel.read_bytes(),
             "requirements.txt": requirements_text(wheel.name, pins).encode(),
             "README.md": readme_text(pins).encode()}
    for assignment in ASSIGNMENTS:
        text = json.dumps(kit_notebook(assignment), indent=1, sort_keys=True, ensure_ascii=False)  # as nbformat writes
        files[notebook_name(assignment)] = text.encode() + b"\n"
    return files


def build_kit(out: Path = DEFAULT_OUT) -> Path:
    """Write ``out/dropout-student-kit.zip`` (only if its content changed) and return its path."""
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="dropout-kit-") as scratch:
        files = kit_files(Path(scratch))
    found = leaks(files)
    if found:
        raise KitError("the student kit would hold instructor material: " + "; ".join(found))
    data = _zip_bytes(files)
    target = out / ZIP_NAME
    if target.exists() and target.read_bytes() == data:
        return target
    out.mkdir(parents=True, exist_ok=True)
    write_bytes_atomically(target, data, prefix=f".{target.name}")
    return target


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m autograder.release.student_kit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder for {ZIP_NAME} (default: _build/kit)")
    args = parser.parse_args(argv)
    try:
        print(build_kit(args.out))
    except KitError as err:
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    main()
