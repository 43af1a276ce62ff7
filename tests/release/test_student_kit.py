"""The student kit, as a student gets it: what the zip holds, and that it works in a fresh venv.

The slow test unzips the kit, makes a virtual environment with the base interpreter (nothing of
this project in it), runs `pip install -r requirements.txt` from inside the kit folder, and runs
every notebook there twice with that environment's own Jupyter: as released (given cells run,
every check says "not implemented yet") and with the reference answers pasted into the answer
cells (every check passes). The reference package must not be importable there.
"""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from autograder.course.layout import ASSIGNMENTS, CHAPTERS, REPO, SOURCES
from autograder.release.sources import source_notebook
from autograder.release.student_kit import BOOK_ONLY, FORBIDDEN, KIT_NAME, build_kit, pinned_versions, texts_of

NOTEBOOKS = [f"{a}_exercise.ipynb" for a in ASSIGNMENTS]
MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")
# Reference-answer lines that a visible check may hold, because it recomputes what it expects
# from the property the exercise text states. Only the wheel (the checks) may hold these; a new
# coincidence fails the test until someone has looked at it and listed it here.
CHECKS_MAY_HOLD = {
    "W_used = W * mask * scale": "the DropConnect forward's definition, stated in the exercise text",
    "loss = nn.functional.cross_entropy(logits, y).item()": "check_evaluate recomputes the expected loss",
}


@pytest.fixture(scope="session")
def kit_zip(tmp_path_factory) -> Path:
    return build_kit(tmp_path_factory.mktemp("kit"))


@pytest.fixture(scope="session")
def kit_files(kit_zip) -> dict[str, bytes]:
    with zipfile.ZipFile(kit_zip) as zf:
        assert zf.testzip() is None
        return {name: zf.read(name) for name in zf.namelist() if not name.endswith("/")}


def _inside(files: dict[str, bytes]) -> dict[str, bytes]:
    """Paths relative to the kit folder; every member must be inside that one folder."""
    prefix = f"{KIT_NAME}/"
    assert all(name.startswith(prefix) for name in files), sorted(files)
    return {name[len(prefix):]: data for name, data in files.items()}


def _joined(text) -> str:
    """A notebook's multi-line string, stored as one string or as a list of lines."""
    return "".join(text) if isinstance(text, list) else text


def solution_blocks(assignment: str) -> dict[str, str]:
    """grade_id of each answer cell -> the reference answer, without the BEGIN/END SOLUTION lines."""
    answers = {}
    for cell in source_notebook(SOURCES / f"{assignment}.md").cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            answers[meta["grade_id"]] = "\n".join(line for line in cell.source.splitlines() if not MARKER.match(line))
    assert answers, f"{assignment} has no solution cells"
    return answers


def distinctive_solution_lines() -> set[str]:
    """Lines of the model answers (code and written) that no stub or check would hold by chance.

    Read from the sources' text, so every ``### BEGIN SOLUTION`` block counts, whatever cell it is in.
    """
    lines = set()
    for assignment in ASSIGNMENTS:
        inside = False
        for line in (SOURCES / f"{assignment}.md").read_text().splitlines():
            if MARKER.match(line):
                inside = "BEGIN" in line
            elif inside and len(line.strip()) >= 24 and not line.strip().startswith("#"):
                lines.add(line.strip())
    assert len(lines) > 20, lines
    return lines


def test_kit_holds_the_notebooks_requirements_readme_and_one_wheel(kit_files):
    files = _inside(kit_files)
    wheels = [name for name in files if name.startswith("wheels/")]
    assert len(wheels) == 1 and re.fullmatch(r"wheels/dropout_kit-[^/-]+-py3-none-any\.whl", wheels[0]), wheels
    assert sorted(files) == sorted(NOTEBOOKS + ["README.md", "requirements.txt"] + wheels)
    with zipfile.ZipFile(io.BytesIO(files[wheels[0]])) as whl:
        packages = {name.split("/")[0] for name in whl.namelist()}
    assert packages == {"dropout_kit", wheels[0].split("/")[1].split("-py3")[0] + ".dist-info"}, packages


def test_kit_holds_no_solution_hidden_test_or_reference(kit_files):
    texts = [item for name, data in _inside(kit_files).items() for item in texts_of(name, data)]
    found = [f"{where}: {word!r}" for where, text in texts for word in FORBIDDEN if word in text]
    assert not found, found
    lines = distinctive_solution_lines()
    leaked = sorted({f"{where}: {line!r}" for where, text in texts for line in lines if line in text
                     and not (where.startswith("wheels/") and line in CHECKS_MAY_HOLD)})
    assert not leaked, leaked


def test_requirements_install_the_wheel_by_relative_path_and_pin_the_project_versions(kit_files):
    files = _inside(kit_files)
    requirements = [line for line in files["requirements.txt"].decode().splitlines() if line and not line.startswith("#")]
    wheel = next(name for name in files if name.startswith("wheels/"))
    assert requirements[0] == f"./{wheel}"
    pins = dict(line.split("==") for line in requirements[1:])
    assert pins == pinned_versions()
    assert pins["torch"] == "2.13.0"
    assert set(pins) == {"numpy", "torch", "matplotlib", "jupyterlab"}


def test_readme_gives_the_three_commands_and_how_to_hand_in(kit_files):
    readme = _inside(kit_files)["README.md"].decode()
    for command in ("python3 -m venv .venv", ".venv/bin/pip install -r requirements.txt", ".venv/bin/jupyter lab"):
        assert command in readme, command
    assert "Hand in" in readme and "ch02_exercise.ipynb" in readme


def test_kit_notebooks_are_the_book_copies_without_the_kit_link(kit_files):
    files = _inside(kit_files)
    for assignment, chapter in ASSIGNMENTS.items():
        book = json.loads((CHAPTERS / chapter / "exercise.ipynb").read_text())
        kit = json.loads(files[f"{assignment}_exercise.ipynb"])
        assert sum(bool(c["metadata"].get(BOOK_ONLY)) for c in book["cells"]) == 1, f"{chapter}: no kit link cell"
        assert kit["cells"] == [c for c in book["cells"] if not c["metadata"].get(BOOK_ONLY)]
        assert kit["metadata"]["kernelspec"]["name"] == "python3"


def test_build_is_reproducible_and_leaves_an_unchanged_zip_alone(kit_zip, tmp_path):
    again = build_kit(tmp_path)
    assert again.read_bytes() == kit_zip.read_bytes()
    stamp = again.stat().st_mtime_ns
    os.utime(again, ns=(stamp - 10**9, stamp - 10**9))
    build_kit(tmp_path)
    assert again.stat().st_mtime_ns == stamp - 10**9, "an unchanged kit was rewritten (the book would re-read its pages)"


def test_wheel_needs_numpy_only_and_the_numpy_checks_import_without_torch(kit_files):
    files = _inside(kit_files)
    wheel = next(name for name in files if name.startswith("wheels/"))
    with zipfile.ZipFile(io.BytesIO(files[wheel])) as whl:
        metadata = whl.read(next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert [r for r in requires if "extra ==" not in r] == ["numpy>=2.0"], requires
    assert any(r.startswith("torch") and 'extra == "torch"' in r for r in requires), requires
    blocked = ("import sys; sys.modules['torch'] = None\n"
               "import dropout_kit\nfrom dropout_kit import numpy_checks\nassert 'torch' not in dir(numpy_checks)")
    proc = subprocess.run([sys.executable, "-c", blocked], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, f"the NumPy checks need torch, but the wheel does not require it:\n{proc.stderr}"


def test_the_project_still_imports_the_checks_from_kit():
    import dropout_kit

    assert Path(dropout_kit.__file__).resolve().is_relative_to(REPO / "kit" / "dropout_kit")


# --- a fresh virtual environment, as a student makes it -------------------------------------------

def _student_env(venv: Path) -> dict:
    """The machine's environment without this project: its venv is neither on PATH nor active."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "MPLBACKEND") and not k.startswith("JUPYTER")}
    env["PATH"] = os.pathsep.join([str(venv / "bin"), "/usr/local/bin", "/usr/bin", "/bin"])
    return env


@pytest.fixture(scope="session")
def student(kit_zip):
    """The unzipped kit with its .venv made by the base interpreter and `pip install -r requirements.txt`.

    In a folder of its own, removed at the end (the venv holds torch: about 1 GB).
    """
    with tempfile.TemporaryDirectory(prefix="dropout-student-") as home:
        yield _install_kit(kit_zip, Path(home))


def _install_kit(kit_zip: Path, home: Path):
    with zipfile.ZipFile(kit_zip) as zf:
        zf.extractall(home)
    folder = home / KIT_NAME
    venv = folder / ".venv"
    base = getattr(sys, "_base_executable", None) or str(Path(sys.base_prefix) / "bin" / "python3")
    env = _student_env(venv)
    subprocess.run([base, "-m", "venv", ".venv"], cwd=folder, env=env, check=True)
    proc = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "-r", "requirements.txt"], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"pip install -r requirements.txt failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return folder, venv, env


def _execute(student, notebooks: dict[str, dict], label: str) -> dict[str, dict]:
    """Run the notebooks with the kit venv's own `jupyter nbconvert`; errors are kept as outputs."""
    folder, venv, env = student
    work = folder / label
    work.mkdir()
    for name, nb in notebooks.items():
        probe = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                 "source": "import sys\nprint('KERNEL-PREFIX', sys.prefix)"}
        nb = {**nb, "cells": nb["cells"] + [probe]}
        (work / name).write_text(json.dumps(nb))
    proc = subprocess.run([str(venv / "bin" / "jupyter"), "nbconvert", "--to", "notebook", "--execute", "--allow-errors",
                           "--ExecutePreprocessor.timeout=600", "--output-dir", "out", *sorted(notebooks)],
                          cwd=work, env={**env, "MPLBACKEND": "Agg"}, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    executed = {name: json.loads((work / "out" / name).read_text()) for name in notebooks}
    for name, nb in executed.items():
        printed = "".join(_joined(o.get("text", "")) for o in nb["cells"][-1]["outputs"] if o["output_type"] == "stream")
        assert f"KERNEL-PREFIX {venv}" in printed, f"{name} ran in another Python: {printed!r}"
        nb["cells"].pop()
    return executed


def _kind(cell) -> str:
    meta = cell["metadata"].get("nbgrader", {})
    return "answer" if meta.get("solution") else "check" if meta.get("grade") else "given"


def _errors(cell) -> list[dict]:
    return [o for o in cell.get("outputs", []) if o["output_type"] == "error"]


def _released(student) -> dict[str, dict]:
    folder, _, _ = student
    return {name: json.loads((folder / name).read_text()) for name in NOTEBOOKS}


@pytest.mark.slow
def test_kit_installs_in_a_fresh_venv_without_the_reference(student):
    folder, venv, env = student
    python = str(venv / "bin" / "python")
    ok = subprocess.run([python, "-c", "import dropout_kit, numpy, torch, matplotlib, jupyterlab; print(dropout_kit.__file__)"],
                        cwd=folder, env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert Path(ok.stdout.strip()).is_relative_to(venv), ok.stdout
    versions = subprocess.run([python, "-c", "import numpy, torch, matplotlib, jupyterlab; print(numpy.__version__, "
                               "torch.__version__.split('+')[0], matplotlib.__version__, jupyterlab.__version__)"],
                              env=env, capture_output=True, text=True, check=True).stdout.split()
    pins = pinned_versions()
    assert versions == [pins["numpy"], pins["torch"], pins["matplotlib"], pins["jupyterlab"]]
    for module in ("dropout_reference", "dropout_collect", "dropout_checks", "autograder", "course_experiments"):
        proc = subprocess.run([python, "-c", f"import {module}"], cwd=folder, env=env, capture_output=True, text=True)
        assert proc.returncode != 0 and "ModuleNotFoundError" in proc.stderr, f"{module} is importable in the kit's venv"


@pytest.mark.slow
def test_released_notebooks_run_and_every_check_says_not_implemented(student):
    executed = _execute(student, _released(student), "as_released")
    for name, nb in executed.items():
        checks = 0
        for index, cell in enumerate(nb["cells"]):
            if cell["cell_type"] != "code":
                continue
            errors = _errors(cell)
            where = f"{name} cell {index} ({_kind(cell)})"
            if _kind(cell) != "check":
                assert not errors, f"{where} failed: {errors[0]['ename']}: {errors[0]['evalue']}"
                continue
            checks += 1
            assert len(errors) == 1, f"{where}: a check passed, or failed twice, on the stubs"
            error = errors[0]
            said = f"{error['ename']}: {error['evalue']}"
            assert error["ename"] == "NotImplementedError" or "not implemented" in error["evalue"].lower(), \
                f"{where} does not say the function is not implemented yet: {said}"
        assert checks, f"{name} has no visible check"


@pytest.mark.slow
def test_reference_answers_pasted_into_the_kit_pass_every_check(student):
    notebooks = _released(student)
    for name, nb in notebooks.items():
        answers = solution_blocks(name.split("_")[0])
        pasted = set()
        for cell in nb["cells"]:
            grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
            if _kind(cell) == "answer":
                assert grade_id in answers, (f"{name}: answer cell {grade_id} has no solution in the source: "
                                             "is chapters/*/exercise.ipynb out of date (`dropout-grader release --sync-book`)?")
                cell["source"] = answers[grade_id]
                pasted.add(grade_id)
        assert pasted == set(answers), f"{name}: the kit lacks answer cells {set(answers) - pasted}"
    executed = _execute(student, notebooks, "with_answers")
    for name, nb in executed.items():
        for index, cell in enumerate(nb["cells"]):
            errors = _errors(cell)
            assert not errors, f"{name} cell {index} ({_kind(cell)}): {errors[0]['ename']}: {errors[0]['evalue']}"
