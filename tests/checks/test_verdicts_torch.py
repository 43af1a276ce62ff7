"""The PyTorch verdicts (chapters 4 and 6): fair both ways, and data is all they trust.

Each test runs a collector in this process on some implementation, sends its payload through
JSON as a notebook output would, and judges it: the reference solutions of the exercise
sources and correct alternatives in other styles get full marks; each classic mistake loses
its own function with a reason that names it; stubs, malformed and forged payloads fail with
a reason and never make ``judge`` raise.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import re
import warnings

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from autograder.course.layout import SOURCES
from autograder.sample.build_class import EXPECTED_LOSSES, STUDENTS
from autograder.release.sources import source_notebook
from dropout_checks import VERDICTS, judge
from dropout_checks.registry import BY_KEY, of_assignment
from dropout_collect import capture
from dropout_collect import torch_plans as plans

METRICS = plans.METRICS
GRADE_IDS = {chapter: tuple(row.grade_id for row in of_assignment(chapter)) for chapter in ("ch04", "ch06")}
CHAPTER = {g: ch for ch, ids in GRADE_IDS.items() for g in ids}
SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION", re.MULTILINE | re.DOTALL)


def payload(grade_id: str, fn) -> dict:
    """What the hidden test of ``grade_id`` emits for ``fn``, after a JSON round trip."""
    with capture() as got:
        BY_KEY[CHAPTER[grade_id], grade_id].run_collector({grade_id: fn})
    assert len(got) == 1
    return json.loads(json.dumps(got[0]))


def verdict(grade_id: str, fn):
    return judge(CHAPTER[grade_id], grade_id, payload(grade_id, fn))


def passes(grade_id: str, fn) -> None:
    result = verdict(grade_id, fn)
    assert result.passed, result.reason


def loses(grade_id: str, fn, *words: str) -> str:
    result = verdict(grade_id, fn)
    assert not result.passed
    assert result.reason.startswith(grade_id + ":"), result.reason
    for word in words:
        assert word in result.reason, result.reason
    return result.reason


def cells(chapter: str):
    return [c for c in source_notebook(SOURCES / f"{chapter}.md").cells if c.cell_type == "code"]


def namespace(chapter: str, edits=(), stub: bool = False) -> dict:
    """The given cells and the solution cells of a chapter's source, run as a student's notebook would."""
    ns: dict = {}
    pending = list(edits)
    for cell in cells(chapter):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            continue
        code = cell.source
        if meta.get("solution"):
            if stub:  # what nbgrader releases
                code = SOLUTION.sub(r"\1# YOUR CODE HERE\n\1raise NotImplementedError()", code)
            for old, new in edits:
                if old in code:
                    code, pending = code.replace(old, new), [e for e in pending if e != (old, new)]
        exec(compile(code, f"<{chapter}>", "exec"), ns)
    assert not pending, f"edits that match no solution: {pending}"
    return ns


@pytest.fixture(scope="module")
def ref():
    return {**namespace("ch04"), **namespace("ch06")}


# ----------------------------------------------------------------------------- structure of the sources

@pytest.mark.parametrize("chapter", sorted(GRADE_IDS))
def test_every_graded_cell_has_a_verdict_and_a_data_only_hidden_block(chapter):
    graded = [c for c in cells(chapter) if c.metadata.get("nbgrader", {}).get("grade")]
    assert sorted(c.metadata["nbgrader"]["grade_id"] for c in graded) == sorted(GRADE_IDS[chapter])
    for cell in graded:
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        assert (chapter, grade_id) in VERDICTS
        assert cell.source.startswith("### BEGIN HIDDEN TESTS\n"), "the collector must run before the visible check"
        hidden = cell.source.split("### BEGIN HIDDEN TESTS", 1)[1].split("### END HIDDEN TESTS", 1)[0]
        assert re.search(rf'collect\.\w+\("{grade_id}", ', hidden), hidden
        assert "from dropout_collect import torch_collectors as collect" in hidden
        for forbidden in ("dropout_reference", "dropout_checks"):
            assert forbidden not in cell.source
    given = [c.source for c in cells(chapter) if not c.metadata.get("nbgrader", {}).get("solution")
             and not c.metadata.get("nbgrader", {}).get("grade")]
    assert any("from dropout_kit import torch_checks as checks" in g for g in given)
    assert not any("dropout_checks" in g or "dropout_reference" in g for g in given)


def test_plans_are_deterministic_and_leave_the_global_rng_alone():
    state = torch.random.get_rng_state()
    a, b = plans.predict_model(), plans.predict_model()
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    # The 2^K softmax candidates of mc_dropout_predict are far apart, so a sample names its mask.
    with torch.no_grad():
        z = plans.predict_model().eval()(plans.predict_input()).double()
    masks = torch.tensor(list(itertools.product((0.0, 1.0), repeat=z.shape[1])), dtype=torch.float64)
    c = torch.softmax(2 * z[None] * masks[:, None], -1)
    gaps = (c[:, None] - c[None]).abs().amax(-1) + 10 * torch.eye(len(masks))[:, :, None]
    assert gaps.min() > 1e-3
    # No random ECE confidence sits near a bin edge, so float32 binning agrees with float64.
    for case in plans.metric_cases("expected_calibration_error"):
        if case.purpose == "random":
            scaled = case.probs.double().max(-1).values * (case.n_bins or 15)
            assert (scaled - scaled.round()).abs().min() > 1e-4


# ----------------------------------------------------------------------------- the reference solutions

@pytest.mark.parametrize("grade_id", sorted(CHAPTER))
def test_reference_solution_gets_full_marks(ref, grade_id):
    passes(grade_id, ref[grade_id])


@pytest.mark.parametrize("grade_id", sorted(CHAPTER))
def test_stub_is_not_implemented_yet(grade_id):
    ns = namespace(CHAPTER[grade_id], stub=True)
    loses(grade_id, ns[grade_id], "not implemented yet")


@pytest.mark.parametrize("student", sorted(s for s, (a, _, _) in STUDENTS.items() if a in GRADE_IDS))
def test_sample_class_loses_exactly_the_expected_functions(student):
    chapter, _, edits = STUDENTS[student]
    ns = namespace(chapter, edits if isinstance(edits, list) else ())
    lost = {g for g in GRADE_IDS[chapter] if not verdict(g, ns[g]).passed}
    assert lost == EXPECTED_LOSSES.get(student, set())


@pytest.mark.parametrize("grade_id", sorted(CHAPTER))
def test_collectors_never_raise_whatever_the_answer_is(grade_id):
    def exits(*args, **kwargs):
        raise SystemExit(3)
    for answer in (None, exits, lambda *a, **k: object()):
        result = verdict(grade_id, answer)  # a payload was emitted, and judged
        assert not result.passed and result.reason


def test_the_statistical_checks_hold_for_correct_code_over_repeated_runs(ref):
    """The keep-rate checks fail correct code with probability < 1e-11 each (Hoeffding)."""
    for _ in range(15):
        passes("enable_mc_dropout", ref["enable_mc_dropout"])
        passes("mc_dropout_predict", ref["mc_dropout_predict"])


# ----------------------------------------------------------------------------- train_epoch

def _epoch(model, optimiser, x, y, batch_size, *, loss_fn=F.cross_entropy, clear="before", shuffle=False,
           train=True, step=True, result="mean"):
    """A configurable train_epoch: the defaults are correct, each option a style or a mistake."""
    if train:
        model.train()
    order = torch.randperm(len(x)) if shuffle else torch.arange(len(x))
    if clear == "once":
        optimiser.zero_grad()
    losses = []
    for start in range(0, len(x), batch_size):
        idx = order[start:start + batch_size]
        if clear == "before":
            optimiser.zero_grad()
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        if step:
            optimiser.step()
        if clear == "after":
            optimiser.zero_grad()
        losses.append(loss.item())
    return {"mean": float(np.mean(losses)), "last": losses[-1], "tensor": torch.tensor(np.mean(losses))}[result]


def _epoch_dataloader(model, optimiser, x, y, batch_size=32):
    model.train()
    criterion, total = nn.CrossEntropyLoss(reduction="sum"), 0.0
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch_size, shuffle=True)
    for xb, yb in loader:
        model.zero_grad(set_to_none=False)
        loss = criterion(model(xb), yb)
        (loss / len(xb)).backward()
        optimiser.step()
        total += loss.item()
    warnings.warn("a warning costs nothing")
    return total / len(x)


@pytest.mark.parametrize("style", [
    dict(loss_fn=nn.CrossEntropyLoss()),
    dict(loss_fn=lambda logits, y: F.nll_loss(F.log_softmax(logits, -1), y)),
    dict(shuffle=True),
    dict(clear="after"),          # PyTorch's tutorial order: the gradients start cleared
    dict(result="tensor"),        # a 0-d tensor converts to the float asked for
])
def test_train_epoch_styles_get_full_marks(style):
    passes("train_epoch", lambda *a, **k: _epoch(*a, **k, **style))


def test_train_epoch_with_a_dataloader_and_a_warning_gets_full_marks():
    passes("train_epoch", _epoch_dataloader)


TRAIN_EPOCH_MISTAKES = [
    (dict(clear="never"), ("zero_grad", "before each backward")),
    (dict(clear="once"), ("zero_grad", "not once per epoch")),
    (dict(train=False), ("model.train()",)),
    (dict(step=False), ("optimiser.step()",)),
    (dict(result="last"), ("mean of the mini-batch losses", "not the last")),
]


@pytest.mark.parametrize("mistake, words", TRAIN_EPOCH_MISTAKES)
def test_train_epoch_mistakes_lose(mistake, words):
    loses("train_epoch", lambda *a, **k: _epoch(*a, **k, **mistake), *words)


def test_train_epoch_that_skips_the_last_batch_loses():
    def short(model, optimiser, x, y, batch_size=32):
        return _epoch(model, optimiser, x[:-batch_size] if len(x) > batch_size else x,
                      y[:-batch_size] if len(x) > batch_size else y, batch_size)
    loses("train_epoch", short, "expected 4")


# ----------------------------------------------------------------------------- evaluate

def _evaluate(model, x, y, *, eval_mode=True, grad=False, batches=None, restore=False):
    was_training = model.training
    if eval_mode:
        model.eval()
    with contextlib.nullcontext() if grad else torch.inference_mode():
        parts = [model(x[i:i + batches]) for i in range(0, len(x), batches)] if batches else [model(x)]
        logits = torch.cat(parts)
        loss = nn.CrossEntropyLoss()(logits, y)
        accuracy = (logits.argmax(-1) == y).double().mean()
    model.train(was_training if restore else model.training)
    return np.float32(loss.item()), accuracy.numpy()


@pytest.mark.parametrize("style", [dict(), dict(batches=10), dict(restore=True)])
def test_evaluate_styles_get_full_marks(style):
    passes("evaluate", lambda *a: _evaluate(*a, **style))


EVALUATE_MISTAKES = [
    (lambda *a: _evaluate(*a, eval_mode=False), "model.eval()"),
    (lambda *a: _evaluate(*a, grad=True), "torch.no_grad()"),
    (lambda m, x, y: {"loss": 1.0}, "pair"),
]


@pytest.mark.parametrize("mistake, words", EVALUATE_MISTAKES)
def test_evaluate_mistakes_lose(mistake, words):
    loses("evaluate", mistake, words)


# ----------------------------------------------------------------------------- enable_mc_dropout

class ClassContext:
    """A correct context manager written as a class."""

    def __init__(self, model):
        self.model = model

    def __enter__(self):
        self.saved = {m: m.training for m in self.model.modules()}
        for m in self.model.modules():  # each module's own flag: train(False) on a parent would recurse
            m.training = isinstance(m, nn.Dropout)
        return self.model

    def __exit__(self, *exc):
        for m, mode in self.saved.items():
            m.training = mode
        return False


def _context(*, switch_others=True, restore="exact", use_finally=True, swallow=False, train_all=False):
    """A configurable enable_mc_dropout: the defaults are correct."""
    @contextlib.contextmanager
    def cm(model):
        saved = [(m, m.training) for m in model.modules()]
        if train_all:
            model.train()
        elif switch_others:
            model.eval()
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.train()

        def back():
            if restore == "exact":
                for m, mode in saved:
                    m.training = mode
            elif restore == "top":
                model.train(saved[0][1])
            elif restore == "eval":
                model.eval()

        try:
            yield model
        except Exception:
            back()
            if not swallow:
                raise
            return
        finally:
            if use_finally:
                back()
        back()
    return cm


def test_enable_mc_dropout_styles_get_full_marks():
    passes("enable_mc_dropout", ClassContext)
    passes("enable_mc_dropout", _context())


CONTEXT_MISTAKES = [
    (dict(train_all=True), ("BatchNorm", "only dropout")),
    (dict(switch_others=False), ("BatchNorm", "training mode")),
    (dict(restore="top"), ("restore",)),
    (dict(restore="eval"), ("restore",)),
    (dict(restore="none", use_finally=False), ("restore",)),
    (dict(swallow=True), ("propagate",)),
]


@pytest.mark.parametrize("mistake, words", CONTEXT_MISTAKES)
def test_enable_mc_dropout_mistakes_lose(mistake, words):
    loses("enable_mc_dropout", _context(**mistake), *words)


def test_enable_mc_dropout_without_try_finally_loses_on_the_exception_path():
    @contextlib.contextmanager
    def no_finally(model):
        saved = [(m, m.training) for m in model.modules()]
        model.eval()
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.train()
        yield model
        for m, mode in saved:
            m.training = mode
    loses("enable_mc_dropout", no_finally, "left by an exception", "try/finally")


def test_enable_mc_dropout_that_only_switches_dropout_on_loses():
    @contextlib.contextmanager
    def lazy(model):
        saved = [(m, m.training) for m in model.modules()]
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.train()
            elif isinstance(m, nn.BatchNorm1d):
                m.eval()
        try:
            yield model
        finally:
            for m, mode in saved:
                m.training = mode
    loses("enable_mc_dropout", lazy, "only dropout modules may be in training mode")


# ----------------------------------------------------------------------------- mc_dropout_predict

def _predict(ref, *, softmax=True, grad=False, context=None, fresh=True, numpy=False, batched=False):
    cm = context or ref["enable_mc_dropout"]

    def predict(model, x, T):
        with (contextlib.nullcontext() if grad else torch.no_grad()), cm(model):
            if batched:
                logits = model(x.repeat(T, 1)).reshape(T, len(x), -1)
            else:
                passes_ = [model(x) for _ in range(T if fresh else 1)]
                logits = torch.stack(passes_ if fresh else passes_ * T)
            out = F.log_softmax(logits, -1).exp() if softmax else logits
        if numpy:
            warnings.warn("returned as NumPy")
            return out.numpy()
        return out
    return predict


def test_mc_dropout_predict_styles_get_full_marks(ref):
    passes("mc_dropout_predict", _predict(ref, numpy=True))
    passes("mc_dropout_predict", _predict(ref, batched=True))
    passes("mc_dropout_predict", _predict(ref, context=ClassContext))


def _predict_without_dropout(ref):
    def no_dropout(model, x, T):
        model.eval()
        with torch.no_grad():
            return torch.stack([torch.softmax(model(x), -1) for _ in range(T)])
    return no_dropout


PREDICT_MISTAKES = [  # (the mistaken answer, given the reference namespace; words of its reason)
    (lambda ref: _predict(ref, softmax=False), "softmax"),
    (lambda ref: _predict(ref, grad=True), "torch.no_grad()"),
    (lambda ref: _predict(ref, fresh=False), "identical"),
    (lambda ref: _predict(ref, context=_context(train_all=True)), "BatchNorm"),
    (lambda ref: _predict(ref, context=_context(restore="none", use_finally=False)), "afterwards"),
    (_predict_without_dropout, "dropout was not active"),
]


@pytest.mark.parametrize("mistake, words", PREDICT_MISTAKES)
def test_mc_dropout_predict_mistakes_lose(ref, mistake, words):
    loses("mc_dropout_predict", mistake(ref), words)


# ----------------------------------------------------------------------------- the metrics

def _entropy(p):
    return -(p * torch.log(p.clamp_min(1e-30))).sum(-1)


def _ece_float32(probs, labels, n_bins=15):
    """Guo et al.'s loop: float32 linspace edges, float32 accumulation, a Python float back."""
    confidence, predicted = probs.max(-1)
    correct = predicted.eq(labels)
    edges = torch.linspace(0, 1, n_bins + 1)
    ece = torch.zeros(1)
    for lo, hi in zip(edges[:-1], edges[1:]):
        members = confidence.gt(lo) & confidence.le(hi)
        if members.any():
            gap = correct[members].float().mean() - confidence[members].float().mean()
            ece += members.float().mean() * gap.abs()
    return ece.item()


def _ece_numpy(probs, labels, n_bins=15):
    p, y = np.asarray(probs), np.asarray(labels)
    confidence = p.max(-1)
    index = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    total = np.float32(0)
    for b in range(n_bins):
        members = index == b
        if members.any():
            total += np.float32(members.mean() * abs((p[members].argmax(-1) == y[members]).mean()
                                                      - confidence[members].mean()))
    return total


ALTERNATIVES = {
    "predictive_entropy": [
        lambda probs: _entropy(probs.mean(0)),
        lambda probs: torch.distributions.Categorical(probs=probs.mean(0)).entropy(),
        lambda probs: (lambda m: -(m * np.log(m + 1e-12)).sum(-1))(probs.numpy().mean(0)),
        lambda probs: _entropy(probs.float().mean(0)),
    ],
    "mutual_information": [
        lambda probs: _entropy(probs.mean(0)) - _entropy(probs).mean(0),
        lambda probs: (_entropy(probs.float().mean(0)) - _entropy(probs.float()).mean(0)).numpy(),
    ],
    "expected_calibration_error": [_ece_float32, _ece_numpy],
    "negative_log_likelihood": [
        lambda probs, labels: F.nll_loss(torch.log(probs), labels),
        lambda probs, labels: float(-np.log(probs.numpy()[np.arange(len(labels)), labels.numpy()]).mean()),
        lambda probs, labels: -torch.log(probs.float().gather(1, labels[:, None])).mean(),
    ],
}


@pytest.mark.parametrize("grade_id, index", [(g, i) for g, fns in ALTERNATIVES.items() for i in range(len(fns))])
def test_metric_styles_get_full_marks(grade_id, index):
    passes(grade_id, ALTERNATIVES[grade_id][index])


def _ece_left_closed(probs, labels, n_bins=15):
    confidence, predicted = probs.max(-1)
    index = torch.floor(confidence * n_bins).long().clamp(0, n_bins - 1)
    correct = (predicted == labels).double()
    return sum((index == b).double().mean() * (correct[index == b].mean() - confidence[index == b].mean()).abs()
               for b in range(n_bins) if (index == b).any())


METRIC_MISTAKES = [
    ("predictive_entropy", lambda p: -(p.mean(0) * torch.log2(p.mean(0).clamp_min(1e-30))).sum(-1), ("natural log",)),
    ("predictive_entropy", lambda p: _entropy(p).mean(0), ("MEAN prediction",)),
    ("predictive_entropy", lambda p: -(p.mean(0) * torch.log(p.mean(0))).sum(-1), ("0·log 0",)),
    ("predictive_entropy", lambda p: _entropy(p.mean(0)).mean(), ("shape",)),
    ("mutual_information", lambda p: _entropy(p).mean(0) - _entropy(p.mean(0)), ("wrong sign",)),
    ("mutual_information", lambda p: _entropy(p.mean(0)), ("zero mutual information",)),
    ("expected_calibration_error", _ece_left_closed, ("closed on the right",)),
    ("negative_log_likelihood", lambda p, y: -torch.log(p[torch.arange(len(y)), y]).sum(), ("sum",)),
    ("negative_log_likelihood", lambda p, y: -torch.log2(p[torch.arange(len(y)), y]).mean(), ("natural log",)),
]


@pytest.mark.parametrize("grade_id, fn, words", METRIC_MISTAKES)
def test_metric_mistakes_lose(grade_id, fn, words):
    loses(grade_id, fn, *words)


# grade_id -> its classic mistakes, each run by a test above; tests/checks/test_registry.py checks that every
# registered function of chapters 4 and 6 has some.
MISTAKES_BY_FUNCTION = {"train_epoch": TRAIN_EPOCH_MISTAKES, "evaluate": EVALUATE_MISTAKES,
                        "enable_mc_dropout": CONTEXT_MISTAKES, "mc_dropout_predict": PREDICT_MISTAKES,
                        **{m: [mistake for mistake in METRIC_MISTAKES if mistake[0] == m] for m in METRICS}}


# ----------------------------------------------------------------------------- malformed and forged data

GARBAGE = [None, 1, "x", [], {}, {"version": 99, "records": []}, {"version": 1}, {"version": 1, "records": None},
           {"version": 1, "records": [None]}, {"version": 1, "records": [{"value": 3}]},
           {"version": 1, "records": [{"value": {"__object__": "Module"}}] * 4},
           {"version": 1, "records": [{"error": {"__error__": {"type": "ValueError", "message": "m"}}}] * 4},
           {"version": 1, "records": [{"value": {"__array__": {"dtype": "float64", "shape": [3], "data": "!!"}}}]},
           {"version": 1, "records": [{"__evil__": 1}]}, {"version": 1, "records": [[[[[]]]]]}]


@pytest.mark.parametrize("grade_id", sorted(CHAPTER))
def test_malformed_payloads_fail_with_a_reason_and_never_raise(grade_id):
    for garbage in GARBAGE:
        result = judge(CHAPTER[grade_id], grade_id, garbage)
        assert not result.passed
        assert garbage is None or result.reason


def _mutations(data):
    """Payloads that differ from ``data`` in one place: a record dropped, a value replaced."""
    records = data["records"]
    yield {**data, "records": records[:-1]}
    yield {**data, "records": records + records[-1:]}

    def walk(node, path=()):
        yield path, node
        if isinstance(node, dict):
            for key, value in node.items():
                yield from walk(value, path + (key,))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from walk(value, path + (i,))

    def replaced(path, new):
        copy = json.loads(json.dumps(data))
        node = copy
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = new
        return copy

    for path, node in list(walk(data))[1::7]:
        if not path:
            continue
        if isinstance(node, dict) and "__array__" in node:
            array = node["__array__"]
            yield replaced(path, {"__array__": {**array, "shape": array["shape"][:-1] + [0]}})
        yield replaced(path, 0.5)
        yield replaced(path, {"__object__": "Forged"})


@pytest.mark.parametrize("grade_id", sorted(CHAPTER))
def test_mutated_payloads_never_raise(ref, grade_id):
    data = payload(grade_id, ref[grade_id])
    for forged in _mutations(data):
        result = judge(CHAPTER[grade_id], grade_id, forged)
        assert result.passed or result.reason


def test_plausible_forged_numbers_earn_nothing(ref):
    """Numbers that look right but are not the answer on the checker's own inputs."""
    def forge(grade_id, values):
        return judge(CHAPTER[grade_id], grade_id, {"version": 1, "grade_id": grade_id, "records": values})

    # Metrics: the right shapes and ranges, wrong values.
    for grade_id in METRICS:
        cases = plans.metric_cases(grade_id)
        records = []
        for case in cases:
            shape = (case.probs.shape[1],) if grade_id in ("predictive_entropy", "mutual_information") else ()
            records.append({"value": json.loads(json.dumps(_wire(np.full(shape, 0.55))))})
        result = forge(grade_id, records)
        assert not result.passed and result.reason
    # evaluate: a plausible (loss, accuracy) pair, the probe claiming eval mode without grad.
    pair = {"value": {"__tuple__": [1.05, 0.48]}}
    result = forge("evaluate", [{"first": pair, "second": pair,
                                 "probe_calls": {"value": [{"__tuple__": [False, False]}]}}])
    assert not result.passed and "expected" in result.reason
    # mc_dropout_predict: valid probability vectors that are no dropout mask's softmax.
    probs = np.random.default_rng(0).dirichlet(np.ones(4), size=(plans.MC_T, 12)).astype(np.float32)
    result = forge("mc_dropout_predict", [{"value": _wire(probs), "requires_grad": False,
                                           "after_modes": {"value": []}, "after": {"value": _wire(np.zeros((12, 4)))}}])
    assert not result.passed and "softmax" in result.reason
    # train_epoch: the untouched initial state with a tiny nudge, and a plausible loss.
    records = []
    for scenario in plans.TRAIN_SCENARIOS:
        model, _, _ = plans.train_setup(scenario)
        state = {k: v * 0.99 if v.is_floating_point() else v + 1 for k, v in model.state_dict().items()}
        records.append({"value": 1.1, "state": {"value": _wire(state)}})
    result = forge("train_epoch", records)
    assert not result.passed and result.reason
    # enable_mc_dropout: outputs that double every unit (no unit dropped) with the right modes.
    good = payload("enable_mc_dropout", ref["enable_mc_dropout"])
    forged = json.loads(json.dumps(good))
    h = torch.relu(plans.set_modes(plans.context_model(), (False,) * 5)[:3](plans.context_input())).detach()
    for record in forged["records"]:
        entries = dict((k, v) for k, v in record["value"]["__dict__"])
        entries["inside"] = [_wire(2 * h), _wire(2 * h)]
        record["value"]["__dict__"] = [[k, v] for k, v in entries.items()]
    result = judge("ch06", "enable_mc_dropout", forged)
    assert not result.passed and "dropout" in result.reason


def _wire(value):
    from dropout_collect import wire
    return json.loads(json.dumps(wire.encode(value)))
