"""Shared fixtures, and the test tiers: every test is marked by what it needs, read from its code.

Tiers (markers, declared in pyproject.toml):
  kernel   starts Jupyter kernels: grades notebooks, or executes them with nbconvert
  browser  drives Chromium through Playwright
  book     reads the built book in _build/ (`python3 run.py book`)
  service  starts a PostgreSQL server or a Dask cluster
  slow     takes long without any of the above: releases assignments with nbgrader, or is listed
           in SLOW below, or is marked @pytest.mark.slow
`pytest --fast` (what `python3 run.py test --fast` runs) deselects all five.

The tiers are derived, not declared (SLOW aside): a test is in a tier when its own code, a fixture it uses
or a function of its module that either of them calls matches the tier's pattern in SIGNALS. So a
new test that grades the sample class through the `graded` fixture is a kernel test without anyone
marking it. Two checks keep this from rotting: a test outside the kernel tier that launches a
kernel in this process fails (`_kernels_refused_unless_marked`), and tests/test_tiers.py fails when
a pattern stops matching anything or the classification of known tests changes.

Parallel runs (pytest-xdist, `-n auto --dist loadgroup`): `pytest_xdist_make_scheduler` below hands
out work in groups. Kernel tests form one group, "grading", so they run one after another on one
worker: they grade with two jobs of their own, kill process groups, sweep stale scratch folders and
assert time limits, and two of them at once would double the load under those limits. A test that takes
a module- or session-scoped fixture of the kernel tests of its module joins them (one kit venv, not two).
Every other module is a group of its own, so its module-scoped fixtures (a released course, a browser) are
built once; modules spread over the workers, the longest first (`work_order`). (xdist's own loadgroup
reads `xdist_group` marks by renaming test ids, which pytest 9 no longer allows, so the marks would be
ignored.)
"""
from __future__ import annotations

import ast
import contextlib
import functools
import io
import os
import re
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

# First, before any test module imports nbformat: importing the package spares each test process
# jsonschema's IRI grammar, as it spares the grader's (autograder/__init__.py says why).
import autograder  # noqa: F401,E402

os.environ.setdefault("MPLBACKEND", "Agg")

TESTS = Path(__file__).resolve().parent
FAST_EXCLUDES = ("kernel", "browser", "book", "service", "slow")
SIGNALS = {
    # the grader's entry points, the executor's `execute(...)` (not a method such as db.execute),
    # nbconvert --execute, and the CLI verbs that grade
    "kernel": re.compile(r"\b(?:grade_all|grade_one|grade_submission)\b|(?<![.\w])execute\("
                         r"|\"--execute\"|\[\s*\"dropout-grader\",\s*\"(?:check|grade|sample)\""
                         r"|main\(\[\s*\"(?:check|grade|sample)\""),
    "browser": re.compile(r"\bsync_playwright\b"),
    "book": re.compile(r"\bbook_pages\b|[\"']_build[\"']"),
    "service": re.compile(r"\bpostgres_server\(|\bLocalCluster\("),
    # releasing runs nbgrader's converter (its import, and a new course's gradebook asks the `alembic`
    # command), seconds on a busy machine; the `nbgrader` command itself 10-40 s
    "slow": re.compile(r"\brelease\(|\[\s*\"nbgrader\","),
}
# Looked for in the module's top-level code too (`from book_pages import ...`); the others only in the
# functions a test runs, since a top-level import of `grade_all` does not make every test grade.
MODULE_WIDE = {"book"}
# Slow without a kernel, a browser, the book or a service: `module` or `module::test` -> why (the module's
# path under tests/).
# (Measured with --durations on 2 busy cores; the fast tier aims at under 3 minutes.)
SLOW = {
    "checks/test_hidden_checks_flake.py": "runs every verdict on hundreds of seeds (minutes)",
    "checks/test_verdicts_torch.py::test_the_statistical_checks_hold_for_correct_code_over_repeated_runs":
        "repeats the statistical checks on many runs",
    "kit/test_kit_checks.py::test_the_kit_imports_nothing_instructor_side": "imports the kit in fresh interpreters",
}
SERIAL_GROUP = "grading"


def pytest_addoption(parser):
    parser.addoption("--fast", action="store_true",
                     help=f"run only the fast tier: deselect tests marked {', '.join(FAST_EXCLUDES)}")


@pytest.hookimpl(tryfirst=True)  # mark before -m selects (pytest's own hook)
def pytest_collection_modifyitems(config, items):
    for item in items:
        for tier in tiers_of(item):
            item.add_marker(tier)
    if config.getoption("--fast"):
        slow = [item for item in items if any(item.get_closest_marker(tier) for tier in FAST_EXCLUDES)]
        config.hook.pytest_deselected(items=slow)
        left_out = set(slow)
        items[:] = [item for item in items if item not in left_out]


def tiers_of(item) -> set[str]:
    """The tiers `item` belongs to: by the code it runs (SIGNALS), and by the SLOW table."""
    if not isinstance(item, pytest.Function):
        return set()
    module = Path(item.fspath)
    tiers = tiers_by_code(module, item.originalname, item.fixturenames)
    if listed_slow(module, item.originalname):
        tiers.add("slow")
    return tiers


def listed_slow(module: Path, test: str) -> bool:
    name = module.relative_to(TESTS).as_posix() if module.is_relative_to(TESTS) else module.name
    return name in SLOW or f"{name}::{test}" in SLOW


@functools.cache
def _decorated_slow(module: Path) -> set[str]:
    """Test functions of `module` decorated @pytest.mark.slow (what the xdist controller, with ids only, can see)."""
    _, tree = _parsed(module)
    return {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and any(ast.unparse(d).endswith("mark.slow") for d in node.decorator_list)}


def tiers_by_code(module: Path, test: str, fixtures) -> set[str]:
    """The tiers whose SIGNALS match the code that test `test` of `module`, using `fixtures`, runs."""
    code = "".join(_code_reached(module, test, fixtures))
    top_level = _module_level_code(module)
    return {tier for tier, pattern in SIGNALS.items()
            if pattern.search(code) or (tier in MODULE_WIDE and pattern.search(top_level))}


def _code_reached(module: Path, test: str, fixtures) -> list[str]:
    """Source of the test function, the fixtures it uses and the module's functions they name, transitively."""
    functions, names_in = _module_functions(module), _names_used(module)
    pending = [test, *(name for name in fixtures if name in functions)]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in functions and name not in seen:
            seen.add(name)
            pending.extend(names_in[name])
    return [functions[name] for name in sorted(seen)]


@functools.cache
def _names_used(module: Path) -> dict[str, set[str]]:
    """For each top-level function of `module`, the module's other top-level functions its code names."""
    functions = _module_functions(module)
    return {name: set(re.findall(r"\w+", code)) & functions.keys() - {name} for name, code in functions.items()}


@functools.cache
def _parsed(module: Path) -> tuple[list[str], ast.Module]:
    source = module.read_text()
    # Split once: ast.get_source_segment splits the whole source again on every call, which made
    # classifying the suite quadratic in module length (seconds of every worker's collection).
    # newline="" splits where ast does (\n, \r\n, \r) and keeps the endings.
    return io.StringIO(source, newline="").readlines(), ast.parse(source)


def _segment(lines: list[str], node: ast.stmt) -> str:
    """What ast.get_source_segment(source, node) returns, from the module's lines split once."""
    first, last = node.lineno - 1, node.end_lineno - 1
    if first == last:
        return lines[first].encode()[node.col_offset:node.end_col_offset].decode()
    return "".join([lines[first].encode()[node.col_offset:].decode(), *lines[first + 1:last],
                    lines[last].encode()[:node.end_col_offset].decode()])


@functools.cache
def _module_functions(module: Path) -> dict[str, str]:
    lines, tree = _parsed(module)
    return {node.name: _segment(lines, node) for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


@functools.cache
def _module_level_code(module: Path) -> str:
    """The module's statements outside its functions and classes: imports, constants, `pytestmark`."""
    lines, tree = _parsed(module)
    return "\n".join(_segment(lines, node) for node in tree.body
                     if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: plain `pytest` runs without it
def pytest_xdist_make_scheduler(config, log):
    """With `--dist loadgroup`: whole groups to one worker each (see the module's docstring)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByTier(LoadScopeScheduling):
        ordered = False

        def _split_scope(self, nodeid: str) -> str:
            return xdist_group(config.rootpath, nodeid)

        def _assign_work_unit(self, node) -> None:
            # xdist queues groups by their number of tests; the first assignment takes them longest first
            if not self.ordered:
                self.workqueue = OrderedDict(sorted(self.workqueue.items(),
                                                    key=lambda unit: work_order(config.rootpath, *unit)))
                self.ordered = True
            super()._assign_work_unit(node)

    return ByTier(config, log)


# Tiers in the order their groups are handed out: longest first, so that what is left at the end is
# short tests that fill both workers evenly (a slow module started last would run on alone).
HEAVY_FIRST = ("kernel", "service", "slow", "browser", "book")


def work_order(root: Path, group: str, nodeids) -> tuple:
    """Sort key of an xdist group: the kernel group, then groups by their heaviest tier and its number of
    tests, then by number of tests."""
    if group == SERIAL_GROUP:
        return (0,)
    counts = dict.fromkeys(HEAVY_FIRST, 0)
    for nodeid in nodeids:
        path, _, rest = nodeid.partition("::")
        module, test = root / path, re.split(r"[\[:]", rest, maxsplit=1)[0]
        if module.suffix == ".py":
            slow = listed_slow(module, test) or test in _decorated_slow(module)
            for tier in tiers_by_code(module, test, ()) | ({"slow"} if slow else set()):
                counts[tier] += 1
    heaviest = next((rank for rank, tier in enumerate(HEAVY_FIRST) if counts[tier]), len(HEAVY_FIRST))
    return (1, heaviest, -counts[HEAVY_FIRST[heaviest]] if heaviest < len(HEAVY_FIRST) else 0, -len(nodeids))


def xdist_group(root: Path, nodeid: str) -> str:
    """Kernel tests: one group for all. Others: their module, so that a module-scoped fixture is built once
    (pytest tears it down whenever a test of another module runs in between).

    The controller has only test ids; the test's own source names the fixtures it takes, which
    tiers_by_code follows, so the function's name is enough."""
    path, _, rest = nodeid.partition("::")
    test = re.split(r"[\[:]", rest, maxsplit=1)[0]
    module = root / path
    if module.suffix == ".py" and ("kernel" in tiers_by_code(module, test, ())
                                   or test in _sharing_with_kernel_tests(module)):
        return SERIAL_GROUP
    return path


@functools.cache
def _sharing_with_kernel_tests(module: Path) -> set[str]:
    """Tests of `module` outside the kernel tier that take a module- or session-scoped fixture its kernel tests
    take too: in the kernel group, so that the fixture (say, a kit installed into a fresh venv) is built once,
    not once on each worker."""
    _, tree = _parsed(module)
    functions = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    shared_scope = {node.name for node in functions for d in node.decorator_list
                    if isinstance(d, ast.Call) and ast.unparse(d.func).endswith("fixture")
                    and any(k.arg == "scope" and ast.unparse(k.value) in ("'module'", "'session'") for k in d.keywords)}
    tests = {node.name: {a.arg for a in node.args.args} for node in functions if node.name.startswith("test")}
    kernel = {name for name in tests if "kernel" in tiers_by_code(module, name, ())}
    held = shared_scope & set().union(*(tests[name] for name in kernel))
    return {name for name, takes in tests.items() if name not in kernel and takes & held}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    with _kernels_refused_unless_marked(item):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    with _kernels_refused_unless_marked(item):
        yield


@contextlib.contextmanager
def _kernels_refused_unless_marked(item):
    """Outside the kernel tier, launching a Jupyter kernel in this process fails the test."""
    if item.get_closest_marker("kernel"):
        yield
        return
    from jupyter_client.provisioning.local_provisioner import LocalProvisioner

    async def refuse(self, cmd, **kwargs):
        raise RuntimeError(f"{item.nodeid} started a Jupyter kernel but is not in the kernel tier: make "
                           "SIGNALS['kernel'] in tests/conftest.py match what it calls")

    original = LocalProvisioner.launch_kernel
    LocalProvisioner.launch_kernel = refuse
    try:
        yield
    finally:
        LocalProvisioner.launch_kernel = original


@pytest.fixture
def rng():
    return np.random.default_rng(20141)
