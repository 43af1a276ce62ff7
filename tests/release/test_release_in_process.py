"""`release` runs nbgrader's GenerateAssignment in this process; the notebooks it writes are the command's, byte for byte."""
from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
from nbgrader.dbutil import _temp_alembic_ini as nbgrader_alembic_ini

from autograder.course.layout import tool_env
from autograder.release.notebooks import release


def released_files(course: Path) -> dict[str, bytes]:
    return {p.relative_to(course).as_posix(): p.read_bytes() for p in sorted((course / "release").rglob("*"))
            if p.is_file()}


# Two assignments: the settings, the one thing that could make the two differ, are the same for all.
COMPARED = ("ch02", "ch05")


def test_in_process_release_writes_what_the_nbgrader_command_writes(tmp_path, monkeypatch):
    """Also with the venv's bin/ off PATH, as for an instructor who runs .venv/bin/dropout-grader without
    activating it: nbgrader would ask the `alembic` command for a new gradebook's schema version."""
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    course = tmp_path / "course"
    assert release(course, COMPARED) == [course / "release" / name / "exercise.ipynb" for name in COMPARED]
    assert os.environ["PATH"] == "/usr/bin:/bin" and (course / "gradebook.db").is_file()
    ours = released_files(course)
    assert sorted(ours) == sorted(f"release/{name}/exercise.ipynb" for name in COMPARED)
    for name in COMPARED:
        # The same sources (their cell ids are drawn per release), generated again by the command.
        proc = subprocess.run(["nbgrader", "generate_assignment", name, "--force"], cwd=course, env=tool_env(),
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-2000:]
    theirs = released_files(course)
    assert theirs.keys() == ours.keys()
    with contextlib.closing(sqlite3.connect(course / "gradebook.db")) as db:
        stamped = db.execute("SELECT version_num FROM alembic_version").fetchall()
    with nbgrader_alembic_ini(f"sqlite:///{course / 'gradebook.db'}") as ini:  # as nbgrader asks the command
        heads = subprocess.run(["alembic", "-c", ini, "heads"], env=tool_env(), capture_output=True, text=True)
    assert stamped == [(heads.stdout.split()[0],)], heads.stdout + heads.stderr
    for path in ours:
        assert ours[path] == theirs[path], f"{path}: the in-process release differs from `nbgrader generate_assignment`"
        assert b"BEGIN SOLUTION" not in ours[path] and b"BEGIN HIDDEN TESTS" not in ours[path]


def test_a_failed_release_names_the_assignment_and_nbgrader_says_why(tmp_path, monkeypatch):
    from autograder.release import notebooks

    def broken_sources(course, assignments):
        for name in assignments:
            folder = course / "source" / name
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "exercise.ipynb").write_text("{ not a notebook")

    monkeypatch.setattr(notebooks, "write_sources", broken_sources)
    with pytest.raises(RuntimeError, match=r"nbgrader generate_assignment ch02 failed"):
        release(tmp_path / "course", ("ch02",))
