"""The registry of graded functions (``dropout_checks.registry``) against every place that names one.

A function registered in one place and missing in another fails here: a row against the graded
cells of the exercise sources (grade id, points, the hidden call, the visible call, the imports),
the book's released notebooks (grade ids, points, visible lines), the checker's ``VERDICTS``, the
kit's list of checks per notebook, the input plan the collector and the verdict both read, and
the verdict tests' classic mistakes. Each comparison is a function returning the problems it
found, so the last tests can show that it does find them.
"""
from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import json
import re
import textwrap

import pytest

import dropout_kit
import dropout_reference
from autograder.course.layout import ASSIGNMENTS, CHAPTERS, SOURCES
from autograder.release.sources import source_notebook
from dropout_checks import VERDICTS, judge, registry
from dropout_checks.registry import BY_KEY, GRADED_FUNCTIONS, of_assignment
from dropout_collect import capture

import test_verdicts_capstone as capstone_verdict_tests
import test_verdicts_numpy as numpy_verdict_tests
import test_verdicts_torch as torch_verdict_tests


def _graded(cells) -> list[tuple[str, int, str]]:
    """(grade id, points, source) of every autograded cell (written answers are graded by a person)."""
    found = []
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            found.append((meta["grade_id"], meta["points"], source))
    return found


def source_problems(assignment: str, cells) -> list[str]:
    """How the graded cells of an exercise source differ from the registry's rows."""
    rows = of_assignment(assignment)
    graded = _graded(cells)
    problems = []
    if [g for g, _, _ in graded] != [r.grade_id for r in rows]:
        problems.append(f"{assignment}: the source grades {[g for g, _, _ in graded]}, "
                        f"the registry {[r.grade_id for r in rows]} (in this order)")
    for grade_id, points, source in graded:
        row = BY_KEY.get((assignment, grade_id))
        if row is None:
            continue
        if points != row.points:
            problems.append(f"{assignment}/{grade_id}: the source's tag gives {points} points, the registry {row.points}")
        if source.strip() != row.test_cell():
            problems.append(f"{assignment}/{grade_id}: the test cell is\n{source}\nthe registry spells\n"
                            f"{row.test_cell()}")
    given = "\n".join(c["source"] for c in cells if not c.get("metadata", {}).get("nbgrader", {}).get("grade"))
    for module in sorted({r.check_module for r in rows}):
        if f"from dropout_kit import {module} as checks" not in given:
            problems.append(f"{assignment}: no given cell imports dropout_kit.{module} as checks")
    return problems


def released_problems(assignment: str, notebook: dict) -> list[str]:
    """How a released notebook's graded cells differ from the registry: ids, points, the visible line only."""
    want = [(r.grade_id, r.points, r.visible_call()) for r in of_assignment(assignment)]
    got = [(g, p, s.strip()) for g, p, s in _graded(notebook["cells"])]
    return [] if got == want else [f"{assignment}: the released notebook has {got}, the registry {want}"]


def kit_problems(exercises: dict) -> list[str]:
    """How the kit's list of visible checks per notebook differs from the registry."""
    want = {a: tuple(r.grade_id for r in of_assignment(a)) for a in ASSIGNMENTS}
    return [f"{a}: the kit lists {exercises.get(a)}, the registry {want[a]}"
            for a in sorted(set(want) | set(exercises)) if exercises.get(a) != want.get(a)]


def _reached_sources(fn) -> str:
    """The source of ``fn`` and of every function of its module it calls, however deep (a verdict's helpers)."""
    fn = getattr(fn, "func", fn)  # a functools.partial: its function
    fn = inspect.unwrap(fn)
    module = inspect.getmodule(fn)
    seen, todo, texts = set(), [fn], []
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        text = inspect.getsource(current)
        texts.append(text)
        for node in ast.walk(ast.parse(textwrap.dedent(text))):
            if isinstance(node, ast.Name):
                target = getattr(module, node.id, None)
                target = inspect.unwrap(target) if callable(target) else target  # lru_cache, wraps
                if inspect.isfunction(target) and target.__module__ == module.__name__:
                    todo.append(target)
    return "\n".join(texts)


def plan_problems(row: registry.GradedFunction) -> list[str]:
    """The row's plan exists in dropout_collect, and both its collector and its verdict read it."""
    module_name, _, name = row.plan.partition(".")
    module = importlib.import_module(f"dropout_collect.{module_name}")
    if not hasattr(module, name):
        return [f"{row.grade_id}: dropout_collect.{module_name} has no plan {name!r}"]
    problems = []
    for role, fn in (("collector", row.collector), ("verdict", row.verdict)):
        if not re.search(rf"\bplans\.{name}\b", _reached_sources(fn)):
            problems.append(f"{row.grade_id}: the {role} never reads plans.{name}")
    return problems


def _mistaken_grade_ids() -> set[str]:
    """Every grade id that a classic-mistake test of the verdict tests makes lose."""
    numpy = {grade_id for _, _, grade_id, _ in numpy_verdict_tests.MISTAKES} | set(numpy_verdict_tests.MASK_KINDS)
    torch = {grade_id for grade_id, mistakes in torch_verdict_tests.MISTAKES_BY_FUNCTION.items() if mistakes}
    capstone = {grade_id for _, grade_id, _ in capstone_verdict_tests.MISTAKES}
    return numpy | torch | capstone


# ----------------------------------------------------------------------------- the registry itself

def test_rows_are_unique_and_in_the_course_s_assignments():
    assert len(BY_KEY) == len(GRADED_FUNCTIONS)
    assert {row.assignment for row in GRADED_FUNCTIONS} == set(ASSIGNMENTS)
    for row in GRADED_FUNCTIONS:
        assert isinstance(row.points, int) and row.points > 0, row
        assert row.grade_id in row.answers, row


def test_the_checker_judges_exactly_the_registered_functions():
    assert set(VERDICTS) == set(BY_KEY)
    assert all(VERDICTS[row.key] is row.verdict for row in GRADED_FUNCTIONS)
    assert "no check" in judge("ch02", "not_registered", {}).reason


# ----------------------------------------------------------------------------- checked against it

@pytest.mark.parametrize("assignment", list(ASSIGNMENTS))
def test_the_exercise_source_grades_what_the_registry_says(assignment):
    cells = source_notebook(SOURCES / f"{assignment}.md", written_answers=True).cells
    assert source_problems(assignment, cells) == []


@pytest.mark.parametrize("assignment", list(ASSIGNMENTS))
def test_the_book_s_released_notebook_grades_what_the_registry_says(assignment):
    notebook = json.loads((CHAPTERS / ASSIGNMENTS[assignment] / "exercise.ipynb").read_text())
    assert released_problems(assignment, notebook) == []


def test_the_kit_lists_the_registered_checks_of_each_notebook():
    assert kit_problems(dropout_kit.EXERCISES) == []


def test_the_kit_s_dependencies_are_the_registry_s_and_each_is_an_earlier_function_of_the_same_notebook():
    registered = {row.grade_id: row.depends_on for row in GRADED_FUNCTIONS if row.depends_on}
    assert dropout_kit.DEPENDS_ON == registered, "copy the registry's depends_on column into kit/dropout_kit/_core.py"
    for row in GRADED_FUNCTIONS:
        earlier = [r.grade_id for r in of_assignment(row.assignment)]
        earlier = earlier[:earlier.index(row.grade_id)]
        assert set(row.depends_on) <= set(earlier), f"{row.key} depends on a function not tested before it"


@pytest.mark.parametrize("row", GRADED_FUNCTIONS, ids=lambda r: "/".join(r.key))
def test_the_collector_and_the_verdict_read_the_row_s_plan(row):
    assert plan_problems(row) == []


def test_every_registered_function_has_a_classic_mistake_that_loses_it():
    missing = {row.grade_id for row in GRADED_FUNCTIONS} - _mistaken_grade_ids()
    assert not missing, f"no classic-mistake test in tests/checks/test_verdicts_*.py makes these lose: {sorted(missing)}"


@pytest.mark.parametrize("row", [r for r in GRADED_FUNCTIONS if r.reference], ids=lambda r: "/".join(r.key))
def test_the_reference_gets_full_marks(row):
    namespace = {name: getattr(dropout_reference, name, None) for name in row.answers}
    namespace[row.grade_id] = getattr(dropout_reference, row.reference)
    with capture() as emitted:
        row.run_collector(namespace)
    assert len(emitted) == 1
    result = judge(*row.key, json.loads(json.dumps(emitted[0])))
    assert result.passed, result.reason


# ----------------------------------------------------------------------------- the comparisons find mismatches

def _source_cells(assignment):
    return source_notebook(SOURCES / f"{assignment}.md", written_answers=True).cells


def test_a_row_without_its_cell_or_a_cell_without_its_row_is_found(monkeypatch):
    cells = _source_cells("ch02")
    without_last_test = [c for c in cells if c.metadata.get("nbgrader", {}).get("grade_id") != "inverted_dropout_forward"]
    assert source_problems("ch02", without_last_test)
    rows = tuple(r for r in GRADED_FUNCTIONS if r.grade_id != "inverted_dropout_forward")
    monkeypatch.setattr(registry, "GRADED_FUNCTIONS", rows)
    assert source_problems("ch02", cells)
    assert kit_problems(dropout_kit.EXERCISES)


def test_other_points_or_another_call_in_a_cell_are_found():
    cells = _source_cells("ch03")
    test = next(c for c in cells if c.metadata.get("nbgrader", {}).get("grade_id") == "dropout_backward")
    test.metadata["nbgrader"]["points"] += 1
    assert any("points" in p for p in source_problems("ch03", cells))
    test.metadata["nbgrader"]["points"] -= 1
    test.source = test.source.replace('"dropout")', '"spatial")')
    assert any("test cell" in p for p in source_problems("ch03", cells))


def test_a_verdict_on_another_plan_is_found():
    row = BY_KEY["ch02", "vanilla_dropout_forward"]
    assert plan_problems(dataclasses.replace(row, plan="plans.layer_plan"))
    assert plan_problems(dataclasses.replace(row, plan="plans.no_such_plan"))
    assert plan_problems(dataclasses.replace(row, verdict=BY_KEY["ch03", "Dropout"].verdict))


def test_a_function_without_a_classic_mistake_is_found(monkeypatch):
    assert "evaluate" in _mistaken_grade_ids()
    monkeypatch.setitem(torch_verdict_tests.MISTAKES_BY_FUNCTION, "evaluate", [])
    assert "evaluate" not in _mistaken_grade_ids()
