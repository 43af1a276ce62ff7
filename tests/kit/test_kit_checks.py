"""The student kit's visible checks (kit/dropout_kit): fast, fair, in words, and standing alone.

The visible lines of every test cell in the exercise sources are run as a student's notebook
runs them: with the answers of the sources they pass, with the released stubs they fail with
"not implemented yet". Each check records its outcome for the closing summary cell, which counts
correctly and never raises. The kit imports nothing instructor-side.
"""
from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

import dropout_kit
from autograder.course.layout import ASSIGNMENTS, SOURCES
from autograder.release.sources import source_notebook
from dropout_kit import ExerciseFailure
from dropout_kit import numpy_checks as npc

KIT = Path(dropout_kit.__file__).parent
SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION\n?", re.MULTILINE | re.DOTALL)
DELIMITERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION\n?", re.MULTILINE)
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS\n?", re.DOTALL)
SUMMARY_CALL = re.compile(r'dropout_kit\.summary\("(ch\d\d)"\)')


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _code_cells(chapter: str):
    return [c for c in source_notebook(SOURCES / f"{chapter}.md").cells if c.cell_type == "code"]


def _visible_tests(chapter: str) -> dict[str, str]:
    """grade_id -> the visible lines of its test cell (what the student sees and runs)."""
    return {_meta(c)["grade_id"]: HIDDEN.sub("", c.source) for c in _code_cells(chapter) if _meta(c).get("grade")}


def _namespace(chapter: str, stub: bool = False) -> dict:
    """The given cells and the answer cells of a source notebook, run in order (tests left out)."""
    ns: dict = {}
    for cell in _code_cells(chapter):
        meta = _meta(cell)
        if meta.get("grade") or SUMMARY_CALL.search(cell.source):
            continue
        code = cell.source
        if meta.get("solution"):
            code = (SOLUTION.sub(r"\1# YOUR CODE HERE\n\1raise NotImplementedError()\n", code) if stub
                    else DELIMITERS.sub("", code))
        exec(compile(code, f"<{chapter}>", "exec"), ns)
    return ns


CASES = [(chapter, grade_id) for chapter in ASSIGNMENTS for grade_id in _visible_tests(chapter)]


@pytest.fixture(autouse=True)
def fresh_record():
    dropout_kit.RESULTS.clear()
    yield
    dropout_kit.RESULTS.clear()


@pytest.fixture(scope="module")
def answers():
    return {chapter: _namespace(chapter) for chapter in ASSIGNMENTS}


@pytest.fixture(scope="module")
def stubs():
    return {chapter: _namespace(chapter, stub=True) for chapter in ASSIGNMENTS}


def _run_visible(chapter: str, grade_id: str, ns: dict) -> None:
    exec(compile(_visible_tests(chapter)[grade_id], f"<{chapter}:{grade_id}>", "exec"), dict(ns))


# ----------------------------------------------------------------------------- the sources use the kit

def test_every_visible_test_is_one_kit_check_recorded_under_its_grade_id():
    for chapter in ASSIGNMENTS:
        tests = _visible_tests(chapter)
        assert tuple(tests) == dropout_kit.EXERCISES[chapter], chapter
        for grade_id, visible in tests.items():
            calls = [line for line in visible.splitlines() if line.strip()]
            assert len(calls) == 1 and calls[0].startswith("checks.check_"), (grade_id, visible)
            assert "full=" not in visible, "the kit has no hidden-only mode any more"


def test_each_notebook_ends_with_a_given_summary_cell():
    for chapter in ASSIGNMENTS:
        cells = source_notebook(SOURCES / f"{chapter}.md").cells
        last = cells[-1]
        assert last.cell_type == "code" and not _meta(last).get("solution") and not _meta(last).get("grade")
        assert SUMMARY_CALL.search(last.source).group(1) == chapter
        assert "import dropout_kit" in last.source


# ----------------------------------------------------------------------------- answers pass, stubs do not

@pytest.mark.parametrize("chapter,grade_id", CASES, ids="/".join)
def test_the_source_answers_pass_the_visible_check_fast(chapter, grade_id, answers):
    _run_visible(chapter, grade_id, answers[chapter])  # warm-up: imports, first torch call
    assert dropout_kit.RESULTS[grade_id] == (True, "")
    start = time.perf_counter()
    _run_visible(chapter, grade_id, answers[chapter])
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"{grade_id}: the visible check took {elapsed:.2f} s"


@pytest.mark.parametrize("chapter,grade_id", CASES, ids="/".join)
def test_the_released_stubs_fail_with_not_implemented_yet(chapter, grade_id, stubs):
    with pytest.raises(ExerciseFailure) as failure:
        _run_visible(chapter, grade_id, stubs[chapter])
    message = str(failure.value)
    assert message.startswith(f"{grade_id}: ") and "not implemented yet" in message, message
    assert "Traceback" not in message
    passed, recorded = dropout_kit.RESULTS[grade_id]
    assert not passed and "not implemented yet" in recorded


def _broken_inverted(x, p_drop, train, rng=None):
    if not train:
        return x * 1.0, {"mask": None, "scale": 1.0}
    mask = rng.random(x.shape) >= p_drop
    return x * mask, {"mask": mask, "scale": 1.0}  # forgot the scale


def _keep_as_drop(x, p_drop, train, rng=None):
    if not train:
        return x * 1.0, {"mask": None, "scale": 1.0}
    mask = rng.random(x.shape) < p_drop  # p_drop used as a keep probability
    return x * mask / (1 - p_drop), {"mask": mask, "scale": 1 / (1 - p_drop)}


def _new_mask_backward(dout, cache):
    rng = np.random.default_rng()
    return dout * (rng.random(dout.shape) < 0.6) * cache["scale"]


def _inverted_needing_rng_in_evaluation(x, p_drop, train, rng=None):
    mask = rng.random(x.shape) >= (p_drop if train else 0.0)  # draws even in evaluation
    scale = 1 / (1 - p_drop) if train else 1.0
    return x * mask * scale, {"mask": mask if train else None, "scale": scale}


def _spatial_of_any_rank(x, p_drop, train, rng=None):
    if not train:
        return x * 1.0, {"mask": None, "scale": 1.0}
    mask = rng.random(x.shape[:2] + (1,) * (x.ndim - 2)) >= p_drop
    return x * mask / (1 - p_drop), {"mask": mask, "scale": 1 / (1 - p_drop)}


class _layer_dividing_by_zero:  # noqa: N801 - stands in for a student's class named like a function
    def __init__(self, p_drop, rng=None):
        self.p_drop, self.rng, self.training, self.cache = p_drop, rng, True, None

    def train(self):
        self.training = True

    def eval(self):
        self.training = False

    def forward(self, x):
        if not self.training:
            self.cache = None
            return x
        with np.errstate(divide="ignore", invalid="ignore"):
            self.cache = (self.rng.random(x.shape) >= self.p_drop) / (1 - self.p_drop)
        return x * self.cache

    def backward(self, dout):
        return dout if self.cache is None else dout * self.cache


def _keep_to_drop_without_nan_check(p_keep):
    if p_keep < 0 or p_keep > 1:  # False for NaN
        raise ValueError(p_keep)
    return 1.0 - p_keep


def _train_epoch_zeroing_once(model, optimiser, x, y, batch_size=32):
    import torch
    model.train()
    optimiser.zero_grad()  # once per epoch: the second mini-batch's gradient adds onto the first's
    losses = []
    for start in range(0, len(x), batch_size):
        loss = torch.nn.functional.cross_entropy(model(x[start:start + batch_size]), y[start:start + batch_size])
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)


@pytest.mark.parametrize("check,fn,words", [
    (lambda fn: npc.check_forward(fn, "inverted"), _broken_inverted, "1/(1-p_drop)"),
    (lambda fn: npc.check_forward(fn, "inverted"), _keep_as_drop, "DROPPING"),
    (lambda fn: npc.check_backward(fn), _new_mask_backward, "mask saved in the forward pass"),
    (lambda fn: npc.check_keep_to_drop(fn), lambda p: str(1 - p), "must return a number"),
    (lambda fn: npc.check_keep_to_drop(fn), _keep_to_drop_without_nan_check, "p_keep=nan is not a probability"),
    (lambda fn: npc.check_forward(fn, "inverted"), _inverted_needing_rng_in_evaluation, "called without rng"),
    (lambda fn: npc.check_forward(fn, "spatial"), _spatial_of_any_rank, "raise ValueError"),
    (lambda cls: npc.check_layer(cls), _layer_dividing_by_zero, "Dropout(1.0)"),
    (lambda fn: dropout_kit.torch_checks.check_train_epoch(fn), _train_epoch_zeroing_once, "piled up"),
    (lambda fn: npc.check_forward(fn, "inverted"), lambda x, p, t, rng=None: 1 / 0, "ZeroDivisionError"),
])
def test_classic_mistakes_fail_in_words(check, fn, words):
    with pytest.raises(ExerciseFailure) as failure:
        check(fn)
    assert words in str(failure.value), str(failure.value)


# ----------------------------------------------------------------------------- the summary

def _summary(exercise=None) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        result = dropout_kit.summary(exercise)
    assert result is None
    return out.getvalue()


def test_summary_counts_passes_failures_and_checks_not_run(answers, stubs):
    text = _summary("ch02")
    assert text.startswith("0 of 2 visible checks pass; the hidden tests run when your instructor grades.")
    assert "not run yet: vanilla_dropout_forward" in text
    _run_visible("ch02", "vanilla_dropout_forward", answers["ch02"])
    with pytest.raises(ExerciseFailure):
        _run_visible("ch02", "inverted_dropout_forward", stubs["ch02"])
    text = _summary("ch02")
    assert text.startswith("1 of 2 visible checks pass; the hidden tests run when your instructor grades.")
    assert "failed:      inverted_dropout_forward: not implemented yet" in text
    assert "not run yet" not in text
    # A re-run of a test cell replaces the earlier result.
    _run_visible("ch02", "inverted_dropout_forward", answers["ch02"])
    assert _summary("ch02").startswith("2 of 2 visible checks pass")
    with pytest.raises(ExerciseFailure):
        _run_visible("ch02", "vanilla_dropout_forward", stubs["ch02"])
    assert _summary("ch02").startswith("1 of 2 visible checks pass")
    assert list(dropout_kit.RESULTS) == ["inverted_dropout_forward", "vanilla_dropout_forward"]


def test_summary_of_a_full_notebook(answers):
    for grade_id in dropout_kit.EXERCISES["ch06"]:
        _run_visible("ch06", grade_id, answers["ch06"])
    text = _summary("ch06")
    assert text.startswith("6 of 6 visible checks pass; the hidden tests run when your instructor grades.")
    assert "failed" not in text and "not run yet" not in text


def test_summary_without_an_exercise_counts_what_ran(answers):
    assert _summary().startswith("No visible check has run yet")
    _run_visible("ch01", "keep_to_drop", answers["ch01"])
    assert _summary().startswith("1 of 1 visible check passes; the hidden tests run")
    assert _summary("ch99").startswith("1 of 1 visible check passes")  # an unknown name: what ran


def test_a_check_that_crashes_is_a_failure_in_words_and_the_summary_still_prints():
    class Weird:
        def __array__(self, *args, **kwargs):
            raise RuntimeError("no array for you")

    def weird_backward(dout, cache):
        return Weird()

    with pytest.raises(ExerciseFailure) as failure:
        npc.check_backward(weird_backward)
    assert "RuntimeError" in str(failure.value) and "no array for you" in str(failure.value)
    assert dropout_kit.RESULTS["dropout_backward"][0] is False
    assert _summary("ch03").startswith("0 of 2 visible checks pass")


def test_summary_never_raises_even_on_a_broken_record():
    dropout_kit.RESULTS["keep_to_drop"] = "not a pair"
    dropout_kit.RESULTS[object()] = None
    text = _summary("ch01")
    assert "the hidden tests run when your instructor grades." in text
    text = _summary()
    assert "the hidden tests run when your instructor grades." in text


def test_an_interrupted_check_is_recorded_and_still_interrupts():
    def slow(p_keep):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        npc.check_keep_to_drop(slow)
    assert dropout_kit.RESULTS["keep_to_drop"][0] is False
    assert _summary("ch01").startswith("0 of 3 visible checks pass")


def test_torch_checks_leave_the_global_random_state_alone(answers):
    import torch
    state = torch.random.get_rng_state()
    _run_visible("ch06", "mc_dropout_predict", answers["ch06"])
    _run_visible("ch04", "train_epoch", answers["ch04"])
    assert torch.equal(torch.random.get_rng_state(), state)


# ----------------------------------------------------------------------------- the kit stands alone

FORBIDDEN = ("dropout_reference", "dropout_checks", "dropout_collect", "autograder", "course_experiments")


def test_the_kit_imports_nothing_instructor_side():
    for module in KIT.glob("*.py"):
        tree = ast.parse(module.read_text(), filename=str(module))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{module.name} imports {name}"
        for forbidden in FORBIDDEN:
            assert forbidden not in module.read_text(), f"{module.name} mentions {forbidden}"
    code = ("import sys, dropout_kit\n"
            "from dropout_kit import numpy_checks\n"
            "assert 'torch' not in sys.modules, 'the NumPy checks load torch'\n"
            "from dropout_kit import torch_checks\n"
            "dropout_kit.summary('ch01')\n"
            f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
            "assert not bad, bad\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert proc.returncode == 0, proc.stderr
    assert "0 of 3 visible checks pass" in proc.stdout


def test_a_check_whose_dependency_failed_says_which_function_to_fix_first():
    dropout_kit.RESULTS.clear()
    broken_masks = lambda n: np.zeros((2 ** n, n), dtype=bool)  # noqa: E731 - every mask drops everything
    expected = lambda a, p_drop: np.zeros_like(a)  # noqa: E731 - wrong because the masks are
    with pytest.raises(ExerciseFailure) as masks:
        npc.check_all_keep_masks(broken_masks)
    assert "first" not in str(masks.value)
    with pytest.raises(ExerciseFailure) as failure:
        npc.check_expected_masked_output(expected)
    assert str(failure.value).endswith("Note: expected_masked_output may use all_keep_masks, whose own check "
                                       "fails: fix all_keep_masks first, then run this check again.")
    assert dropout_kit.RESULTS["expected_masked_output"] == (False, str(failure.value))
    npc.check_all_keep_masks(lambda n: np.array(list(np.ndindex(*(2,) * n)), dtype=bool) if n else np.ones((1, 0), bool))
    with pytest.raises(ExerciseFailure) as again:
        npc.check_expected_masked_output(expected)
    assert "first" not in str(again.value)  # the dependency passes now: the failure is this function's own
    dropout_kit.RESULTS.clear()
