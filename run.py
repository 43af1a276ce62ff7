#!/usr/bin/env python3
"""One entry point for the course's chores; every command sets up what it needs first.

    python3 run.py book     build the student kit and the book into _build/ (warnings are errors)
    python3 run.py test     build the book if needed, then run every test (in parallel where safe)
    python3 run.py test --fast      the fast tier: no kernels, browser, book or services (minutes)
    python3 run.py check NOTEBOOK   grade one exercise notebook here, with the hidden tests

Only the standard library is used here, so it runs on a machine with nothing but Python.
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
PYTHON = BIN / "python"
STAMP = VENV / ".installed-from"
# Debian packages the grader and the tests need -> a file that shows each is installed.
DEBIAN_PACKAGES = {"bubblewrap": "/usr/bin/bwrap",  # the grader's sandbox for student kernels
                   "chromium": "/usr/bin/chromium", "chromium-driver": "/usr/bin/chromedriver",
                   "postgresql": "/usr/lib/postgresql/*/bin/initdb"}
MATHJAX_SOURCE = ROOT / "node_modules" / "mathjax" / "es5"
MATHJAX_VENDORED = ROOT / "_vendor" / "mathjax"  # not _static: Jupyter Book would load every .js there


def say(message: str) -> None:
    print(f"[run.py] {message}", flush=True)


def call(*args, **kwargs) -> None:
    subprocess.run([str(a) for a in args], check=True, cwd=kwargs.pop("cwd", ROOT), env=tool_env(), **kwargs)


def tool_env() -> dict:
    """The venv's bin/ first on PATH: nbgrader calls `alembic` and Jupyter calls kernels by name."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV)
    # No MPLBACKEND here: the book's kernels need matplotlib's inline backend to show figures.
    env.pop("MPLBACKEND", None)
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def requirements_digest() -> str:
    """What decides the installed packages: pyproject's [project] and [build-system], and constraints.txt.

    Not the whole pyproject.toml: a change to pytest's settings there must not reinstall the venv."""
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    digest = hashlib.sha256()
    digest.update(json.dumps({k: pyproject.get(k) for k in ("project", "build-system")}, sort_keys=True).encode())
    digest.update((ROOT / "constraints.txt").read_bytes())
    return digest.hexdigest()


def ensure_python_env() -> None:
    """Create .venv and install the pinned dependencies, unless they are already current."""
    if not PYTHON.exists():
        say("creating the virtual environment in .venv")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    wanted = requirements_digest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    say("installing pinned Python dependencies (first run takes a few minutes)")
    call(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    call(PYTHON, "-m", "pip", "install", "--quiet", "-c", "constraints.txt", "-e", ".[all]")
    call(PYTHON, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3")
    STAMP.write_text(wanted)


def apt_install(packages: list[str]) -> None:
    if os.geteuid() != 0:
        sys.exit(f"[run.py] missing system packages {packages}; as root run: "
                 f"apt-get update && apt-get install -y {' '.join(packages)}")
    say(f"installing Debian packages: {' '.join(packages)}")
    quiet = {"DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env={**os.environ, **quiet})
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env={**os.environ, **quiet},
                   stdout=subprocess.DEVNULL)


def ensure_node_assets() -> None:
    """MathJax and axe-core come from npm, pinned in package-lock.json, and are served locally."""
    if shutil.which("npm") is None:
        apt_install(["nodejs", "npm"])
    if not (MATHJAX_SOURCE / "tex-chtml.js").exists() or not (ROOT / "node_modules" / "axe-core").exists():
        say("installing MathJax and axe-core from npm")
        call("npm", "ci", "--no-audit", "--no-fund", "--silent")
    if not (MATHJAX_VENDORED / "tex-chtml.js").exists():
        shutil.copytree(MATHJAX_SOURCE, MATHJAX_VENDORED, dirs_exist_ok=True)


def ensure_test_services() -> None:
    """bubblewrap for grading, Chromium for the browser tests, PostgreSQL for the gradebook test."""
    missing = [pkg for pkg, pattern in DEBIAN_PACKAGES.items() if not glob.glob(pattern)]
    if missing:
        apt_install(missing)


# The packages the lessons import (besides third-party ones), whose changes must re-execute them.
LESSON_IMPORTS = [ROOT / "course_experiments", ROOT / "solutions" / "dropout_reference"]


def drop_if_changed(stamp: Path, sources: list[Path], drop: list[Path]) -> tuple[Path, str]:
    """Delete the ``drop`` folders when the Python files under ``sources`` differ from the digest
    the last build wrote into ``stamp`` (a file in the first of them); give back the stamp and the
    digest to write there once the build has succeeded."""
    files = sorted(f for source in sources for f in source.rglob("*.py"))
    digest = hashlib.sha256(b"".join(f.relative_to(ROOT).as_posix().encode() + b"\0" + f.read_bytes()
                                     for f in files)).hexdigest()
    if stamp.parent.exists() and (not stamp.exists() or stamp.read_text() != digest):
        say(f"{', '.join(s.name for s in sources)} changed since the last build: "
            f"dropping {', '.join(str(d.relative_to(ROOT)) for d in drop)}")
        for folder in drop:
            shutil.rmtree(folder, ignore_errors=True)
    return stamp, digest


def build_book(strict: bool = True) -> None:
    ensure_python_env()
    ensure_node_assets()
    say("building the student kit into _build/kit (the book links it for download)")
    call(PYTHON, "-m", "autograder.release.student_kit", "--out", ROOT / "_build" / "kit", stdout=subprocess.DEVNULL)
    say("building the book (executed notebooks are cached in _build/.jupyter_cache)")
    # Sphinx copies _static only when some page is rewritten, and never overwrites a file there:
    # when one of our assets changed, drop the HTML (executed notebooks stay cached) to re-render.
    static = ROOT / "_build" / "html" / "_static"
    if static.exists() and any(not (static / a.name).exists() or (static / a.name).read_bytes() != a.read_bytes()
                               for a in (ROOT / "_assets").iterdir() if a.is_file()):
        shutil.rmtree(ROOT / "_build" / "html")
    # Nor does Sphinx notice when our own extension (_ext/) changed: re-render then too.
    html, cache, doctrees = (ROOT / "_build" / name for name in ("html", ".jupyter_cache", ".doctrees"))
    ext_stamp = drop_if_changed(html / ".ext-digest", [ROOT / "_ext"], drop=[html])
    # The execution cache keys a lesson on its own cells only, and Sphinx re-reads only pages whose
    # text changed (its record of what it read is in .doctrees): when code the lessons import
    # changed, drop all three so every lesson runs again.
    lessons_stamp = drop_if_changed(cache / ".imports-digest", LESSON_IMPORTS, drop=[cache, doctrees, html])
    args = [BIN / "jupyter-book", "build", ".", "--keep-going"]
    if strict:
        args[3:3] = ["-W", "-n"]
    call(*args)
    for stamp, digest in (ext_stamp, lessons_stamp):
        stamp.write_text(digest)
    say(f"done: open {ROOT / '_build' / 'html' / 'index.html'}")


def cmd_book(args) -> None:
    build_book()


# One worker per core; `loadgroup` keeps each xdist group on one worker (tests/conftest.py puts all
# kernel tests in one group, so they run one at a time). `-- -n 0` after the command runs serially.
PARALLEL = ["-n", "auto", "--dist", "loadgroup"]


def cmd_test(args) -> None:
    ensure_python_env()
    if args.fast:
        tier = ["--fast"]  # tests/conftest.py: deselects the kernel, browser, book, service and slow tiers
    else:
        tier = []
        ensure_test_services()
        if not args.no_book:
            build_book()
    extra = list(args.pytest_args)
    rc = subprocess.run([PYTHON, "-m", "pytest", *PARALLEL, *tier, *extra], cwd=ROOT, env=tool_env()).returncode
    if rc == 5:
        say("pytest collected no tests: that is a failure here, not a pass")
        rc = 1
    sys.exit(rc)


def cmd_check(args) -> None:
    """Grade one notebook with the hidden tests: the grader's own `check`, after the set-up it needs."""
    ensure_python_env()
    if not glob.glob(DEBIAN_PACKAGES["bubblewrap"]) and "--no-sandbox" not in args.check_args:
        apt_install(["bubblewrap"])
    # From the caller's folder: a relative path names the notebook where the student typed it.
    sys.exit(subprocess.run([BIN / "dropout-grader", "check", *args.check_args], cwd=os.getcwd(),
                            env=tool_env()).returncode)


def cmd_setup(args) -> None:
    ensure_python_env()
    ensure_node_assets()
    ensure_test_services()
    say(f"ready: activate with `source {BIN / 'activate'}`")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="create .venv, fetch MathJax/axe-core, bubblewrap, Chromium and PostgreSQL; nothing else").set_defaults(func=cmd_setup)
    sub.add_parser("book", help="set up, then build the book into _build/html with warnings as errors").set_defaults(func=cmd_book)
    test = sub.add_parser("test", help="set up, build the book, then run every test in parallel (extra args go to pytest)",
                          description="Without --fast: the full tier CI runs (Debian packages, the book, every test). "
                                      "With --fast: only the Python environment, then the tests that need no Jupyter "
                                      "kernel, browser, built book, database server or long run.")
    test.add_argument("--fast", action="store_true",
                      help="the fast tier only: no apt, no book build, no kernel/browser/book/service/slow tests")
    test.add_argument("--no-book", action="store_true", help="skip the book build (book tests then fail)")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER, help="passed to pytest, e.g. -k backward")
    test.set_defaults(func=cmd_test)
    check = sub.add_parser("check", help="set up, then grade one exercise notebook with the hidden tests "
                                         "(e.g. python3 run.py check ch02/exercise.ipynb)")
    check.add_argument("check_args", nargs=argparse.REMAINDER, help="the notebook, then any `dropout-grader check` option")
    check.set_defaults(func=cmd_check)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
