"""The NumPy verdicts (chapters 1, 3, 5 and 7): fair both ways, and unmoved by forged data.

Every graded function is run through its collector and judged after a JSON round trip, as in
a notebook: the reference and correct answers in other styles get full marks; each classic
mistake loses exactly its function, with a reason in words; malformed or forged payloads
fail with a reason and never raise out of ``judge`` or run anything they carry.
"""
from __future__ import annotations

import builtins
import itertools
import json
import math
import pickle
import re
import warnings

import numpy as np
import pytest

import dropout_reference as ref
from autograder.sample import build_class as sample_class
from autograder.course.layout import SOURCES
from autograder.release.sources import source_notebook
from dropout_checks import VERDICTS, judge
from dropout_checks.registry import GRADED_FUNCTIONS
from dropout_collect import capture, plans, wire
from dropout_collect import numpy_collectors as collect

ASSIGNMENTS = ("ch01", "ch03", "ch05", "ch07")
# (assignment, grade_id) -> how its hidden test calls the collector, given the notebook's namespace
RUNS = {row.key: row.run_collector for row in GRADED_FUNCTIONS if row.assignment in ASSIGNMENTS}
STUB = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION\n?", re.MULTILINE | re.DOTALL)


# ----------------------------------------------------------------------------- helpers

def payload_of(run, ns) -> dict:
    """What the hidden test displays, after the JSON round trip of a notebook file."""
    with capture() as got:
        run(ns)
    assert len(got) == 1, "a collector must emit exactly one payload"
    return json.loads(json.dumps(got[0]))


def verdict(key, ns):
    return judge(*key, payload_of(RUNS[key], ns))


def solutions(assignment: str, edits=(), stub: str | None = None) -> dict:
    """The answer cells of the exercise source run in a fresh namespace.

    ``edits`` are (old, new) replacements; ``stub`` = "all" or a function name replaces the
    solution regions of every cell (or of that function's cell) by ``raise NotImplementedError()``,
    as nbgrader releases them.
    """
    nb = source_notebook(SOURCES / f"{assignment}.md")
    cells = [c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    code = []
    for cell in cells:
        if stub == "all" or (stub and re.search(rf"^(def|class) {stub}\b", cell, re.MULTILINE)):
            cell = STUB.sub(lambda m: f"{m.group(1)}raise NotImplementedError()\n", cell)
        code.append(sample_class.SOLUTION.sub("", cell))
    source = "\n".join(code)
    for old, new in edits:
        assert old in source, old
        source = source.replace(old, new)
    namespace = {"np": np, "math": math}
    exec(source, namespace)
    return namespace


def keys_of(assignment):
    return [key for key in RUNS if key[0] == assignment]


def judge_all(assignment, ns) -> dict:
    return {grade_id: verdict((assignment, grade_id), ns) for _, grade_id in keys_of(assignment)}


@pytest.fixture(scope="module")
def reference_payloads():
    """One correct payload per grade_id (the exercise's own solutions)."""
    namespaces = {a: solutions(a) for a in ASSIGNMENTS}
    return {key: payload_of(run, namespaces[key[0]]) for key, run in RUNS.items()}


# ----------------------------------------------------------------------------- correct answers

@pytest.mark.parametrize("key", list(RUNS), ids="/".join)
def test_the_exercise_solution_gets_full_marks(key, reference_payloads):
    assert judge(*key, reference_payloads[key]).passed


# The reference package's own functions get full marks: tests/checks/test_registry.py (every row's reference).


class ValueProblem(ValueError):
    """A student's own ValueError subclass is still a ValueError."""


def _check_p(p):
    if not 0 <= p <= 1:
        raise ValueProblem(f"p must lie in [0, 1], got {p}")


def keep_to_drop_f32(p_keep):
    _check_p(p_keep)
    warnings.warn("float32 on purpose")  # a warning costs nothing
    return np.float32(1) - np.float32(p_keep)


def all_keep_masks_bool(n):
    return np.array(list(itertools.product((False, True), repeat=n)))


def all_keep_masks_lists(n):
    return [[(i >> j) & 1 for j in range(n)] for i in range(2 ** n)]


def expected_masked_output_closed_form(a, p_drop):
    return ((1 - p_drop) * a).astype(np.float32)


def expected_masked_output_loop(a, p_drop):
    total = np.zeros(a.size, dtype=np.float32)
    for mask in itertools.product((0, 1), repeat=a.size):
        k = sum(mask)
        total += np.float32((1 - p_drop) ** k * p_drop ** (a.size - k)) * np.array(mask, np.float32) * a.astype(np.float32)
    return total


def backward_f32(dout, cache):
    mask = 1 if cache["mask"] is None else cache["mask"].astype(np.int8)  # int 0/1 mask
    warnings.warn("float32 on purpose")
    return (dout.astype(np.float32) * mask * np.float32(cache["scale"])).astype(np.float32)


class DropoutBinomial:
    """A layer in another style: binomial int masks, float32, extra state, ``train(mode)``."""

    def __init__(self, p_drop=0.5, rng=None):
        _check_p(p_drop)
        self.p_drop, self.rng, self.training, self.history = p_drop, rng or np.random.default_rng(), True, []

    def train(self, mode=True):
        self.training = mode

    def eval(self):
        self.train(False)

    def forward(self, x):
        if not self.training:
            self.mask = np.ones(x.shape, np.int64)
            return x.astype(np.float32)
        self.mask = self.rng.binomial(1, 1 - self.p_drop, size=x.shape)
        self.history.append(self.mask.mean())
        return (x * self.mask / (1 - self.p_drop)).astype(np.float32)

    def backward(self, dout):
        scale = 1 / (1 - self.p_drop) if self.training else 1.0
        return (dout * self.mask * scale).astype(np.float32)


def spatial_binomial(x, p_drop, train, rng=None):
    _check_p(p_drop)
    if not train:
        return x.astype(np.float32), {"mask": None, "scale": 1.0, "mode": "eval"}
    mask = rng.binomial(1, 1 - p_drop, size=x.shape[:2] + (1,) * (x.ndim - 2))
    scale = np.float32(1 / (1 - p_drop)) if p_drop < 1 else np.float32(0)
    with np.errstate(all="ignore"):
        out = (x.astype(np.float32) * mask * scale).astype(np.float32)
    return out, {"mask": mask, "scale": scale, "p_drop": p_drop, "shape": x.shape, "note": object()}


def locked_choice(x, p_drop, train, rng=None):
    _check_p(p_drop)
    if not train:
        return x.copy(), {"mask": None, "scale": 1.0}
    mask = rng.choice([False, True], p=[p_drop, 1 - p_drop], size=(1,) + x.shape[1:])
    scale = 1 / (1 - p_drop) if p_drop < 1 else 0.0
    return np.where(mask, x * scale, 0.0).astype(np.float32), {"mask": mask, "scale": scale}


def dropconnect_forward_f32(x, W, b, p_drop, train, rng=None):
    if not train:
        return (x.astype(np.float32) @ W.astype(np.float32) + b).astype(np.float32), {"mask": None, "scale": 1.0}
    mask = rng.choice(2, p=[p_drop, 1 - p_drop], size=W.shape)  # int 0/1
    scale = 1 / (1 - p_drop)
    W_used = (W * mask * scale).astype(np.float32)
    out = x.astype(np.float32) @ W_used + b.astype(np.float32)
    return out, {"mask": mask, "scale": np.float32(scale), "x": x.astype(np.float32), "W": W, "extra": [1, "two"]}


def dropconnect_backward_f32(dout, cache):
    dout = dout.astype(np.float32)
    W_used = (cache["W"] * cache["mask"] * cache["scale"]).astype(np.float32)
    return dout @ W_used.T, (cache["x"].T @ dout) * cache["mask"] * cache["scale"], dout.sum(axis=0)


ALTERNATIVES = [
    ("ch01", "keep_to_drop", {"keep_to_drop": keep_to_drop_f32}),
    ("ch01", "keep_to_drop", {"keep_to_drop": lambda p: (_check_p(p), round(1 - p, 12))[1]}),
    ("ch01", "all_keep_masks", {"all_keep_masks": all_keep_masks_bool}),
    ("ch01", "all_keep_masks", {"all_keep_masks": all_keep_masks_lists}),
    ("ch01", "all_keep_masks", {"all_keep_masks": lambda n: all_keep_masks_bool(n).astype(np.float32)[::-1]}),
    ("ch01", "expected_masked_output", {"expected_masked_output": expected_masked_output_closed_form}),
    ("ch01", "expected_masked_output", {"expected_masked_output": expected_masked_output_loop}),
    ("ch03", "dropout_backward", {"dropout_backward": backward_f32}),
    ("ch03", "Dropout", {"Dropout": DropoutBinomial}),
    ("ch05", "spatial_dropout_forward", {"spatial_dropout_forward": spatial_binomial}),
    ("ch05", "spatial_dropout_backward", {"spatial_dropout_backward": backward_f32}),
    ("ch07", "dropconnect_forward", {"dropconnect_forward": dropconnect_forward_f32}),
    ("ch07", "dropconnect_backward", {"dropconnect_forward": dropconnect_forward_f32,
                                      "dropconnect_backward": dropconnect_backward_f32}),
    ("ch07", "locked_dropout_forward", {"locked_dropout_forward": locked_choice}),
]


@pytest.mark.parametrize("assignment, grade_id, ns", ALTERNATIVES,
                         ids=[f"{g}-{i}" for i, (_, g, _) in enumerate(ALTERNATIVES)])
def test_a_correct_answer_in_another_style_gets_full_marks(assignment, grade_id, ns):
    result = verdict((assignment, grade_id), ns)
    assert result.passed, result.reason


# ----------------------------------------------------------------------------- mistakes

SAMPLE = [(student, spec) for student, spec in sample_class.STUDENTS.items() if spec[0] in ASSIGNMENTS]
SAMPLE_REASONS = {  # words each sample-class mistake's reason must contain
    ("grace", "dropout_backward"): "using the mask saved in the forward pass",
    ("grace", "Dropout"): "backward must reuse the mask of the last forward",
    ("ivan", "spatial_dropout_forward"): "kept or dropped as a whole",
    ("trent", "keep_to_drop"): "not implemented yet",
    ("trent", "all_keep_masks"): "not implemented yet",
    ("trent", "expected_masked_output"): "not implemented yet",
    ("quinn", "locked_dropout_forward"): "not implemented yet",
    ("rupert", "Dropout"): "not implemented yet",
}


@pytest.mark.parametrize("student, spec", SAMPLE, ids=[s for s, _ in SAMPLE])
def test_the_sample_class_loses_exactly_the_expected_functions(student, spec):
    assignment, _, edits = spec
    if edits == "stub":
        ns = solutions(assignment, stub="all")
    elif isinstance(edits, str):
        ns = solutions(assignment, stub=edits.split(":")[1])
    else:
        ns = solutions(assignment, edits)
    verdicts = judge_all(assignment, ns)
    lost = {grade_id for grade_id, v in verdicts.items() if not v.passed}
    assert lost == sample_class.EXPECTED_LOSSES.get(student, set()), {g: v.reason for g, v in verdicts.items()}
    for grade_id in lost:
        assert SAMPLE_REASONS[student, grade_id] in verdicts[grade_id].reason, verdicts[grade_id].reason


BACKWARD_LINE = '    return dout * cache["mask"] * cache["scale"]'
LAYER_FORWARD = "        mask = self.rng.random(x.shape) >= self.p_drop\n"
MISTAKES = [  # (assignment, edits, the grade_id that must fail, words of its reason)
    ("ch01", [("return 1.0 - p_keep", "return p_keep")], "keep_to_drop", "should give p_drop"),
    ("ch01", [("raise ValueError(f\"p_keep", "raise TypeError(f\"p_keep")], "keep_to_drop", "but TypeError was raised"),
    ("ch01", [("if not 0.0 <= p_keep <= 1.0:  # False for NaN too", "if p_keep < 0 or p_keep > 1:")],
     "keep_to_drop", "p_keep=nan is not a probability"),
    ("ch01", [("return (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1",
               "return np.random.default_rng(0).integers(0, 2, (2 ** n, n))")], "all_keep_masks", "distinct"),
    ("ch01", [("return (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1",
               "return ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1).T")], "all_keep_masks", "expected shape"),
    ("ch01", [("return probs @ (masks * a)", "return (masks * a).mean(axis=0)")],
     "expected_masked_output", "probability-weighted sum"),
    ("ch03", [(BACKWARD_LINE, '    return dout * cache["mask"]')], "dropout_backward", "missing the scale"),
    ("ch03", [('    if cache["mask"] is None:\n        return dout * cache["scale"]\n', "")],
     "dropout_backward", 'cache["mask"] None'),
    ("ch03", [("            return x * 1.0\n", "            return x * (1.0 - self.p_drop)\n")],
     "Dropout", "forward must be the identity"),
    ("ch03", [("        return x * mask * scale", "        return x * mask")], "Dropout", "scaled by 1/(1-p_drop)"),
    ("ch03", [(LAYER_FORWARD, "        mask = self.rng.random(x.shape) < self.p_drop\n")], "Dropout", "the probability of DROPPING"),
    ("ch03", [(LAYER_FORWARD, "        mask = np.random.default_rng(x.size).random(x.shape) >= self.p_drop\n")],
     "Dropout", "same mask"),
    ("ch03", [("        self.training = False\n", "        self.mode = 'eval'\n")], "Dropout",
     ".eval() must set .training to False"),
    ("ch03", [("            raise ValueError(f\"p_drop must", "            print(f\"p_drop must")], "Dropout",
     "should raise ValueError"),
    ("ch05", [(BACKWARD_LINE, '    return dout * cache["mask"]')], "spatial_dropout_backward", "missing the scale"),
    ("ch05", [(BACKWARD_LINE, "    return dout * (np.random.random(dout.shape) < 0.5) * cache[\"scale\"]")],
     "spatial_dropout_backward", "mask saved in the forward pass"),
    ("ch07", [("mask = rng.random(W.shape) >= p_drop", "mask = rng.random(W.shape) < p_drop")],
     "dropconnect_forward", "probability of DROPPING"),
    ("ch07", [("scale = 1.0 / (1.0 - p_drop) if p_drop < 1 else 0.0\n    else:",
               "scale = 1.0\n    else:")], "dropconnect_forward", "1/(1-p_drop)"),
    ("ch07", [("mask, scale = np.ones(W.shape, dtype=bool), 1.0",
               "mask, scale = rng.random(W.shape) >= p_drop, 1.0 / (1.0 - p_drop)")],
     "dropconnect_forward", "must use W itself"),
    ("ch07", [("mask = rng.random(W.shape) >= p_drop", "mask = rng.random(x.shape) >= p_drop"),
              ("W_used = W * mask * scale", "W_used = W * scale")], "dropconnect_forward", "cover the weights"),
    ("ch07", [('dW = (cache["x"].T @ dout) * cache["mask"] * cache["scale"]', 'dW = cache["x"].T @ dout')],
     "dropconnect_backward", "zero on dropped weights"),
    ("ch07", [('dx = dout @ cache["W_used"].T', 'dx = dout @ (cache["W_used"] / cache["scale"]).T')],
     "dropconnect_backward", "dx must be dout @ (W * mask * scale).T"),
    ("ch07", [("return dx, dW, dout.sum(axis=0)", "return dx, dW, dout.mean(axis=0)")],
     "dropconnect_backward", "summed over the batch"),
    ("ch07", [("mask = rng.random((1,) + x.shape[1:]) >= p_drop", "mask = rng.random(x.shape) >= p_drop")],
     "locked_dropout_forward", "kept or dropped as a whole"),
]


@pytest.mark.parametrize("assignment, edits, grade_id, words", MISTAKES,
                         ids=[f"{g}-{i}" for i, (_, _, g, _) in enumerate(MISTAKES)])
def test_a_classic_mistake_loses_its_function_with_a_reason(assignment, edits, grade_id, words):
    result = verdict((assignment, grade_id), solutions(assignment, edits))
    assert not result.passed
    assert words in result.reason, result.reason


@pytest.mark.parametrize("key", list(RUNS), ids="/".join)
def test_a_stub_is_not_implemented_yet(key):
    result = verdict(key, solutions(key[0], stub="all"))
    assert not result.passed and "not implemented yet" in result.reason, result.reason


def test_a_backward_stub_with_a_working_forward_is_not_implemented_yet():
    ns = solutions("ch07", [('    dx = dout @ cache["W_used"].T\n', "    raise NotImplementedError()\n")])
    result = verdict(("ch07", "dropconnect_backward"), ns)
    assert not result.passed and "not implemented yet" in result.reason, result.reason


# ----------------------------------------------------------------------------- forged and malformed data

def _with_records(payload, records):
    return {**payload, "records": records}


HUGE = {"__array__": {"dtype": "float64", "shape": [10 ** 6, 10 ** 6], "data": ""}}
GARBAGE = [None, 0, "records", {"a": 1}, [None], [1, 2, 3], [[]], [{"value": HUGE}], HUGE,
           [{"value": {"__object__": "Tensor"}}] * 20, [{"error": "boom"}] * 20, [{}] * 20,
           [{"value": {"__tuple__": [{"__object__": "x"}, {"__dict__": []}]}}] * 20,
           [{"value": {"__tuple__": [[[1, "a"]], {"__dict__": [["mask", [[1, [2]]]], ["scale", "s"]]}]}}] * 20,
           [{"value": 1e308, "training": {"value": "yes"}}] * 20]


@pytest.mark.parametrize("key", list(RUNS), ids="/".join)
def test_malformed_payloads_fail_with_a_reason(key, reference_payloads):
    good = reference_payloads[key]
    records = good["records"]
    cases = [_with_records(good, records[:-1]), _with_records(good, records + records[-1:]),
             _with_records(good, records[::-1]), {**good, "version": 99}, "not a dict", [good]]
    cases += [_with_records(good, garbage) for garbage in GARBAGE]
    for index in range(len(records)):  # every single record replaced by garbage
        for garbage in ([], {"value": HUGE}, {"value": {"__object__": "ndarray"}}, {"error": {"__error__": {}}}):
            cases.append(_with_records(good, records[:index] + [garbage] + records[index + 1:]))
    for payload in cases:
        result = judge(*key, payload)
        assert not result.passed and result.reason, payload


def test_a_huge_array_claim_is_refused_before_any_memory_is_spent(reference_payloads):
    key = ("ch03", "dropout_backward")
    records = [{"value": HUGE}] + reference_payloads[key]["records"][1:]
    result = judge(*key, _with_records(reference_payloads[key], records))
    assert not result.passed and "not readable" in result.reason and "too large" in result.reason


def test_records_from_another_function_fail(reference_payloads):
    everything = {**reference_payloads}
    for kind, grade_id in (("vanilla", "vanilla_dropout_forward"), ("inverted", "inverted_dropout_forward")):
        everything["ch02", grade_id] = payload_of(lambda ns: collect.forward(grade_id, ref.vanilla_dropout_forward
                                                                             if kind == "vanilla" else
                                                                             ref.inverted_dropout_forward, kind), {})
    for (source, target) in itertools.permutations(everything, 2):
        if target in RUNS:
            result = judge(*target, everything[source])
            assert not result.passed and result.reason, (source, target)


def test_forged_data_earns_points_only_by_being_the_correct_answer(reference_payloads):
    x, W, b = plans.dropconnect_inputs(0)
    dout = plans.dropconnect_dout(0)
    mask = (np.arange(W.size).reshape(W.shape) % 5) < 3  # made up, but used consistently: a correct answer
    scale = 1 / (1 - plans.DROPCONNECT_BACKWARD_P)
    W_used = W * mask * scale

    def forged(out, grads):
        forward = {"value": wire.encode((out, {"mask": mask, "scale": scale})), "warnings": 0}
        return {"version": wire.VERSION, "grade_id": "dropconnect_backward",
                "records": [forward, {"value": wire.encode(grads), "warnings": 0}]}

    key = ("ch07", "dropconnect_backward")
    right = (dout @ W_used.T, (x.T @ dout) * mask * scale, dout.sum(axis=0))
    assert judge(*key, forged(x @ W_used + b, right)).passed
    # The same gradients, but claiming a forward output the mask did not produce.
    result = judge(*key, forged(x @ W + b, right))
    assert not result.passed and "does not equal" in result.reason
    # A layer that claims .training flags but returns outputs that are not dropout.
    records = reference_payloads["ch03", "Dropout"]["records"]
    zeros = [dict(r, value=wire.encode(np.zeros(s.shape))) if s.action == "forward" else r
             for s, r in zip(plans.layer_plan(), records)]
    result = judge("ch03", "Dropout", _with_records(reference_payloads["ch03", "Dropout"], zeros))
    assert not result.passed and "kept 0.0000" in result.reason


def test_a_verdict_never_runs_anything_from_the_payload(reference_payloads, monkeypatch, tmp_path):
    target = tmp_path / "pwned"
    code = f"__import__('pathlib').Path({str(target)!r}).write_text('x')"

    def refuse(*args, **kwargs):
        raise AssertionError("the checker tried to run or unpickle payload data")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(np, "load", refuse)
    pickled = pickle.dumps(object()).hex()
    payloads = []
    for key, good in reference_payloads.items():
        n = len(good["records"])
        for value in (code, {"__object__": code}, {"__error__": {"type": code, "message": code}},
                      {"__array__": {"dtype": "object", "shape": [1], "data": pickled}},
                      {"__tuple__": [code, {"__dict__": [["mask", code], ["scale", code]]}]}):
            payloads.append((key, _with_records(good, [{"value": value, "training": {"value": code}}] * n)))
    for key, payload in payloads:
        result = judge(*key, payload)
        assert not result.passed and "tried to run" not in result.reason
    assert not target.exists()


# ----------------------------------------------------------------------------- the exercise sources

GRADED = ("ch01", "ch02", "ch03", "ch05", "ch07")
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.DOTALL)


def _graded_cells(assignment):
    nb = source_notebook(SOURCES / f"{assignment}.md")
    return nb, [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


@pytest.mark.parametrize("assignment", GRADED)
def test_every_graded_cell_collects_for_a_verdict(assignment):
    nb, cells = _graded_cells(assignment)
    assert cells
    for cell in cells:
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        assert (assignment, grade_id) in VERDICTS, grade_id
        assert cell.source.startswith("### BEGIN HIDDEN TESTS\n"), f"{grade_id}: the hidden block must come first"
        hidden = HIDDEN.search(cell.source).group(1)
        calls = re.findall(r"collect\.(\w+)\(\s*\"([^\"]+)\"", hidden)
        assert [g for _, g in calls] == [grade_id], f"{grade_id}: {calls}"
        assert hasattr(collect, calls[0][0]), calls[0][0]


@pytest.mark.parametrize("assignment", GRADED)
def test_no_cell_imports_the_trusted_packages(assignment):
    nb, _ = _graded_cells(assignment)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert not [c for c in code if "dropout_reference" in c or "dropout_checks" in c]
    assert any("from dropout_kit import numpy_checks as checks" in c for c in code)


# ----------------------------------------------------------------------------- the whole rule of a mask
# Every mask-drawing function, built from one "drawer" ``draw(rng, shape, p_drop) -> keep-mask``
# for the shape of its keep decisions (x's shape; (N, C) for spatial, (N, D) for locked, W's
# shape for DropConnect; the batch, or W's input units, on axis 0). Honest drawers in every
# reasonable style must get full marks everywhere; each broken one must lose every function.

def _drawn(draw, rng, shape, p_drop) -> np.ndarray:
    return np.asarray(draw(rng, shape, p_drop))


def _check_p_drop(p_drop):
    if not 0 <= p_drop <= 1:  # False for NaN too
        raise ValueError(f"p_drop is the probability of dropping and must lie in [0, 1], got {p_drop}")


def forward_drawing(kind: str, draw):
    """A forward of ``kind`` ("vanilla", "inverted", "spatial" or "locked") whose mask comes from ``draw``."""
    def forward(x, p_drop, train, rng=None):
        _check_p_drop(p_drop)
        inverted = kind != "vanilla"
        if not train:
            scale = 1.0 if inverted else 1.0 - p_drop
            return x * scale, {"mask": None, "scale": scale}
        if kind == "spatial":
            mask = _drawn(draw, rng, x.shape[:2], p_drop).reshape(x.shape[:2] + (1,) * (x.ndim - 2))
        elif kind == "locked":
            mask = _drawn(draw, rng, x.shape[1:], p_drop)[None]
        else:
            mask = _drawn(draw, rng, x.shape, p_drop)
        scale = (1.0 / (1.0 - p_drop) if p_drop < 1 else 0.0) if inverted else 1.0
        return x * mask * scale, {"mask": mask, "scale": scale}
    return forward


def dropconnect_drawing(draw):
    def dropconnect_forward(x, W, b, p_drop, train, rng=None):
        if not train:
            return x @ W + b, {"mask": None, "scale": 1.0}
        mask = _drawn(draw, rng, W.shape, p_drop)
        scale = 1.0 / (1.0 - p_drop)
        return x @ (W * mask * scale) + b, {"mask": mask, "scale": scale}
    return dropconnect_forward


def layer_drawing(draw, build_rng=lambda rng: rng if rng is not None else np.random.default_rng()):
    class Layer:
        def __init__(self, p_drop=0.5, rng=None):
            _check_p_drop(p_drop)
            self.p_drop, self.rng, self.training = p_drop, build_rng(rng), True

        def train(self):
            self.training = True

        def eval(self):
            self.training = False

        def forward(self, x):
            self.mask = _drawn(draw, self.rng, x.shape, self.p_drop) if self.training else None
            self.scale = 1.0 / (1.0 - self.p_drop) if self.training else 1.0
            return x * self.scale if self.mask is None else x * self.mask * self.scale

        def backward(self, dout):
            return dout * self.scale if self.mask is None else dout * self.mask * self.scale
    return Layer


MASK_KINDS = {  # grade_id -> (assignment, how its answer is built from a drawer, its collector)
    "vanilla_dropout_forward": ("ch02", lambda d: forward_drawing("vanilla", d),
                                lambda g, f: collect.forward(g, f, "vanilla")),
    "inverted_dropout_forward": ("ch02", lambda d: forward_drawing("inverted", d),
                                 lambda g, f: collect.forward(g, f, "inverted")),
    "spatial_dropout_forward": ("ch05", lambda d: forward_drawing("spatial", d),
                                lambda g, f: collect.forward(g, f, "spatial")),
    "locked_dropout_forward": ("ch07", lambda d: forward_drawing("locked", d),
                               lambda g, f: collect.forward(g, f, "locked")),
    "dropconnect_forward": ("ch07", dropconnect_drawing, collect.dropconnect_forward),
    "Dropout": ("ch03", layer_drawing, collect.layer),
}


def judge_drawer(grade_id: str, draw):
    assignment, build, run = MASK_KINDS[grade_id]
    fn = build(draw)
    return judge(assignment, grade_id, payload_of(lambda ns: run(grade_id, fn), {}))


def _torch_generator(rng):
    import torch
    return torch.Generator().manual_seed(int(rng.integers(2 ** 62)))


def _torch_rand(rng, shape, p_drop):
    import torch
    return (torch.rand(shape, generator=_torch_generator(rng)) >= p_drop).numpy()


def _torch_bernoulli(rng, shape, p_drop):
    import torch
    return torch.bernoulli(torch.full(shape, 1.0 - p_drop), generator=_torch_generator(rng)).numpy()


def _keep_mask(rng, shape, p_drop):
    """A helper, as a student would define it in a cell of its own."""
    keep = 1.0 - p_drop
    return np.where(rng.random(shape) < keep, True, False)


HONEST_DRAWERS = {
    "reference": lambda rng, shape, p: rng.random(shape) >= p,
    "float32": lambda rng, shape, p: rng.random(shape, dtype=np.float32) < np.float32(1 - p),
    "below keep": lambda rng, shape, p: rng.random(shape) < 1 - p,
    "binomial ints": lambda rng, shape, p: rng.binomial(1, 1 - p, size=shape),
    "choice": lambda rng, shape, p: rng.choice([False, True], p=[p, 1 - p], size=shape),
    "np.where float 0/1": lambda rng, shape, p: np.where(rng.uniform(size=shape) > p, 1.0, 0.0),
    "transposed draw": lambda rng, shape, p: (rng.random(shape[::-1]) >= p).T,
    "helper cell": _keep_mask,
    "torch.rand": _torch_rand,
    "torch.bernoulli": _torch_bernoulli,
    "a child generator per call": lambda rng, shape, p: np.random.default_rng(rng.integers(2 ** 63)).random(shape) >= p,
    "spawned generator": lambda rng, shape, p: rng.spawn(1)[0].random(shape) >= p,
}


@pytest.mark.parametrize("grade_id", list(MASK_KINDS))
@pytest.mark.parametrize("style", list(HONEST_DRAWERS))
def test_an_honest_mask_in_any_style_gets_full_marks(grade_id, style):
    result = judge_drawer(grade_id, HONEST_DRAWERS[style])
    assert result.passed, result.reason


def _layer_result(layer_class):
    return judge("ch03", "Dropout", payload_of(lambda ns: collect.layer("Dropout", layer_class), {}))


@pytest.mark.parametrize("build_rng", [
    lambda rng: np.random.default_rng(rng),                    # default_rng(Generator) is that generator
    lambda rng: (rng or np.random.default_rng()).spawn(1)[0],  # a child stream of the given generator
], ids=["default_rng(rng)", "spawned"])
def test_a_layer_that_wraps_or_spawns_its_generator_gets_full_marks(build_rng):
    result = _layer_result(layer_drawing(HONEST_DRAWERS["reference"], build_rng))
    assert result.passed, result.reason


class RotatingBlock:
    """Exactly (1 - p_drop) * n kept units in one contiguous block that moves on every call: the kept
    fraction is exact and two calls differ, but the units are not independent (once got full marks)."""

    def __init__(self):
        self.offset = 0

    def __call__(self, rng, shape, p_drop):
        n = math.prod(shape)
        self.offset += 1 + n // 7
        return ((np.arange(n) + self.offset) % n < round((1 - p_drop) * n)).reshape(shape)


class ReusedMask:
    """One uniform draw per shape, kept for every later call (a cached mask)."""

    def __init__(self):
        self.uniforms = {}

    def __call__(self, rng, shape, p_drop):
        return self.uniforms.setdefault(tuple(shape), rng.random(shape)) >= p_drop


class NudgedMask:
    """The previous call's mask with 1% of its decisions redrawn: two calls differ, but barely."""

    def __init__(self):
        self.last = {}

    def __call__(self, rng, shape, p_drop):
        mask = self.last.get((tuple(shape), p_drop))
        mask = rng.random(shape) >= p_drop if mask is None else mask.copy()
        redraw = rng.random(shape) < 0.01
        mask[redraw] = rng.random(int(redraw.sum())) >= p_drop
        self.last[(tuple(shape), p_drop)] = mask
        return mask


def _shared_by_batch(rng, shape, p_drop):
    return np.broadcast_to(rng.random((1,) + tuple(shape[1:])) >= p_drop, shape)  # rng.random(x.shape[1:])


def _one_per_sample(rng, shape, p_drop):
    return np.broadcast_to(rng.random((shape[0],) + (1,) * (len(shape) - 1)) >= p_drop, shape)


def _random_block(rng, shape, p_drop):
    """A contiguous block of exactly (1 - p_drop) * n units at a random place: random, but not independent."""
    n = math.prod(shape)
    return ((np.arange(n) + rng.integers(n)) % n < round((1 - p_drop) * n)).reshape(shape)


def _fixed_number_per_sample(rng, shape, p_drop):
    """Exactly (1 - p_drop) * n kept units per sample, at random places: random, but not one coin per unit."""
    n = math.prod(shape[1:])
    ranks = rng.random((shape[0], n)).argsort(axis=1).argsort(axis=1)
    return (ranks < round((1 - p_drop) * n)).reshape(shape)


BROKEN_DRAWERS = {  # name -> (a fresh drawer, words its reason must contain)
    "one mask shared by the batch": (lambda: _shared_by_batch, "had the same keep decisions"),
    "one decision per sample": (lambda: _one_per_sample, "independently"),
    "rotating block": (RotatingBlock, "independently"),
    "randomly placed block": (lambda: _random_block, "independently"),
    "a fixed number per sample": (lambda: _fixed_number_per_sample, "kept exactly"),
    "reseeded on every call": (lambda: lambda rng, shape, p: np.random.default_rng(0).random(shape) >= p, "same mask"),
    "mask reused between calls": (ReusedMask, "same mask"),
    "mask nudged between calls": (NudgedMask, "more often than independent masks do"),
}


@pytest.mark.parametrize("grade_id", list(MASK_KINDS))
@pytest.mark.parametrize("mistake", list(BROKEN_DRAWERS))
def test_a_mask_that_breaks_the_rule_loses_its_function(grade_id, mistake):
    make, words = BROKEN_DRAWERS[mistake]
    result = judge_drawer(grade_id, make())
    assert not result.passed
    assert result.reason.startswith(f"{grade_id}:") and words in result.reason, result.reason


@pytest.mark.parametrize("grade_id, words", [
    ("vanilla_dropout_forward", "shared by the whole batch, e.g. rng.random(x.shape[1:])"),
    ("spatial_dropout_forward", "shared by the whole batch, e.g. rng.random((1, C, 1, 1))"),
    ("locked_dropout_forward", "shared by the whole batch, e.g. rng.random((1, 1, D))"),
    ("dropconnect_forward", "one row of the mask used for every input unit"),
    ("Dropout", "shared by the whole batch"),
])
def test_a_batch_shared_mask_is_named_in_the_reason(grade_id, words):
    result = judge_drawer(grade_id, _shared_by_batch)
    assert not result.passed and words in result.reason, result.reason


def test_layers_that_copy_their_generator_repeat_each_others_masks_and_lose():
    import copy
    reference = HONEST_DRAWERS["reference"]
    copied = _layer_result(layer_drawing(reference, lambda rng: copy.deepcopy(rng) if rng is not None
                                         else np.random.default_rng()))
    assert not copied.passed and "with the same rng" in copied.reason, copied.reason
    seeded = _layer_result(layer_drawing(reference, lambda rng: rng if rng is not None else np.random.default_rng(0)))
    assert not seeded.passed and "two layers built without an rng" in seeded.reason, seeded.reason


def test_one_mask_shared_by_every_layer_loses():
    shared = {}

    def draw(rng, shape, p_drop):  # one module-level mask per shape, for every layer and call
        return shared.setdefault(tuple(shape), rng.random(shape) >= p_drop)

    result = _layer_result(layer_drawing(draw))
    assert not result.passed and "same mask" in result.reason, result.reason


@pytest.mark.parametrize("saved", [lambda mask: mask[None], lambda mask: mask.T], ids=["extra axis", "transposed"])
def test_a_cached_mask_of_another_shape_loses(saved):
    def forward(x, p_drop, train, rng=None):
        out, cache = ref.inverted_dropout_forward(x, p_drop, train, rng)
        if cache["mask"] is not None and x.ndim == 2:
            cache = {**cache, "mask": saved(cache["mask"])}
        return out, cache

    result = judge("ch02", "inverted_dropout_forward",
                   payload_of(lambda ns: collect.forward("inverted_dropout_forward", forward, "inverted"), {}))
    assert not result.passed and "must broadcast to the shape of x" in result.reason, result.reason
