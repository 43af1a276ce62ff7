"""The hidden tests' verdicts, run on correct code over many seeds: they must never fail it.

Each seed runs the reference through every NumPy collector that takes a seed and judges the
records with the matching verdict at that seed (the graded notebooks use seed 0).

What can fail correct code: the rate tests of ``dropout_checks.masks`` (kept fraction,
independence of neighbours along each axis, independence of two calls' or two layers' masks),
each with probability below ``DELTA = 1e-11`` (Hoeffding), counted here by wrapping
``dropout_kit.properties.rate_test`` (the one rate test, shared with the visible checks):

* the forwards (200 seeds; they are the slow part): 50 per seed (vanilla 7, inverted 17,
  spatial 19, locked 7);
* the rest (1000 seeds): the layer's 35 and DropConnect's 9 per seed;
* the capstone's ``fc_net_loss`` (200 seeds): 4 per seed (the kept fraction and the fresh draws of
  the masks its one-example and unit-vector batch calls show, and the batch masks' independence
  across examples and across units); its gradient check is exact (no step crosses a ReLU kink).

Beside these, exact checks that a correct mask passes but with a vanishing probability: it is
constant along an axis with probability below 1e-70 (``masks.constant_along``), every sample
keeps the same number of units with probability below 1e-20 (``masks.equal_counts``, asked only
where that holds), and DropConnect's backward refuses a mask that keeps all or none of 2000
weights (below 0.6**2000); the backward and expectation verdicts are exact.

The union bound puts this file's false-failure rate below (200 * 54 + 1000 * 44) * 1e-11
= 5.5e-7: a failure here means a check is wrong, not unlucky. Over a class, every graded
function of one student runs 103 rate tests (the 98 above and the 5 keep-rate tests of
``enable_mc_dropout`` and ``mc_dropout_predict``): 500 students make 51,500 tests and a
false-failure rate below 5.2e-7 for the whole class. The capstone's training band
(``capstone_verdicts.GAP``, ``FALL``) is not a rate test: its rate (< 1e-12 for a class) is an
estimate from 800 measured runs, stated where it is defined.

Speed: the records skip the wire format (compressing every array thousands of times would take
minutes); ``test_verdicts_numpy`` covers the same collectors and verdicts through a JSON round
trip. Here the values are handed over as :func:`dropout_collect.wire.decode` would return them.
"""
import collections
import contextlib

import numpy as np
import pytest

import dropout_reference as ref
from autograder.sample import build_class as sample_class
from dropout_checks import DELTA, Failure
from dropout_checks import numpy_verdicts as verdicts
from dropout_checks import capstone_verdicts, torch_verdicts
from dropout_collect import capstone_collectors, capture, core, wire
from dropout_collect import numpy_collectors as collect
from dropout_collect import torch_collectors
from dropout_kit import properties

FORWARD_SEEDS = range(200)
SEEDS = range(1000)
# rate tests per seed, per verdict (the docstring's figures; a test below counts them)
FORWARD_CHECKS = {"vanilla": 7, "inverted": 17, "spatial": 19, "locked": 7}
OTHER_CHECKS = {"Dropout": 35, "dropconnect_forward": 9}
TORCH_CHECKS = {"enable_mc_dropout": 4, "mc_dropout_predict": 1}
CAPSTONE_CHECKS = {"fc_net_loss": 4}
FORWARD_CHECKS_PER_SEED = sum(FORWARD_CHECKS.values())
OTHER_CHECKS_PER_SEED = sum(OTHER_CHECKS.values())
CLASS_SIZE = 500
FORWARDS = {"vanilla": ref.vanilla_dropout_forward, "inverted": ref.inverted_dropout_forward,
            "spatial": ref.spatial_dropout_forward, "locked": ref.locked_dropout_forward}


def _as_decoded(value):
    """What ``wire.decode(wire.encode(value))`` returns, without compressing anything."""
    if isinstance(value, BaseException):
        return wire.Error(type(value).__name__, str(value))
    if isinstance(value, np.ndarray | np.generic):
        return np.array(value)
    if isinstance(value, tuple):
        return tuple(_as_decoded(v) for v in value)
    if isinstance(value, list):
        return [_as_decoded(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_decoded(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return wire.Object(type(value).__name__)


def _records(run):
    with capture() as got:
        run()
    return got[0]["records"]


@pytest.fixture
def plain_wire(monkeypatch):
    monkeypatch.setattr(core.wire, "encode", _as_decoded)


def _ch01_expected_masked_output():
    namespace = {"np": np}
    exec("\n".join(sample_class._solutions("ch01")), namespace)  # the exercise's own solution
    return namespace["expected_masked_output"]


def _failures(seeds, judge_one) -> list[str]:
    failures = []
    for seed in seeds:
        try:
            judge_one(seed)
        except Failure as err:
            failures.append(f"seed {seed}: {err}")
    return failures


def test_the_stated_bound_is_below_one_in_a_million():
    total = len(FORWARD_SEEDS) * (FORWARD_CHECKS_PER_SEED + sum(CAPSTONE_CHECKS.values())) + len(SEEDS) * OTHER_CHECKS_PER_SEED
    assert DELTA <= 1e-11 and total * DELTA < 1e-6


@contextlib.contextmanager
def counted_rate_tests():
    """Count every call of ``properties.rate_test`` (every statistical test of a verdict) in the block."""
    counter = collections.Counter()
    original = properties.rate_test

    def counting(events, expected):
        counter["tests"] += 1
        return original(events, expected)

    properties.rate_test = counting
    try:
        yield counter
    finally:
        properties.rate_test = original


def _torch_reference():
    import test_verdicts_torch
    return {**test_verdicts_torch.namespace("ch04"), **test_verdicts_torch.namespace("ch06")}


def _decoded(run):
    """The records a collector emits, through the real wire format (torch tensors included)."""
    return wire.decode(_records(run))


def test_the_counted_rate_tests_are_the_stated_ones():
    """Every rate test a verdict runs on a correct answer is counted in the docstring's figures."""
    runs = {kind: lambda kind=kind: verdicts.forward(
        _decoded(lambda: collect.forward(kind, FORWARDS[kind], kind, 0)), kind, 0) for kind in FORWARDS}
    runs["Dropout"] = lambda: verdicts.layer(_decoded(lambda: collect.layer("Dropout", ref.Dropout, 0)), 0)
    runs["dropconnect_forward"] = lambda: verdicts.dropconnect_forward(
        _decoded(lambda: collect.dropconnect_forward("f", ref.dropconnect_forward, 0)), 0)
    torch_ref = _torch_reference()
    for grade_id in TORCH_CHECKS:
        collector = getattr(torch_collectors, grade_id)
        runs[grade_id] = lambda g=grade_id, c=collector: getattr(torch_verdicts, g)(
            _decoded(lambda: c(g, torch_ref[g], seed=0)), seed=0)
    runs["fc_net_loss"] = lambda: capstone_verdicts.fc_net_loss(
        _decoded(lambda: capstone_collectors.fc_net_loss("fc_net_loss", ref.fc_net_loss, seed=0)), seed=0)
    counted = {}
    for name, run in runs.items():
        with counted_rate_tests() as counter:
            run()
        counted[name] = counter["tests"]
    assert counted == {**FORWARD_CHECKS, **OTHER_CHECKS, **TORCH_CHECKS, **CAPSTONE_CHECKS}


def test_a_whole_class_stays_inside_the_false_failure_budget():
    """Each test fails correct code with probability <= 1e-8 and a class of 500 with < 1e-6 in all."""
    per_student = (FORWARD_CHECKS_PER_SEED + OTHER_CHECKS_PER_SEED + sum(TORCH_CHECKS.values())
                   + sum(CAPSTONE_CHECKS.values()))
    assert DELTA <= 1e-8
    assert CLASS_SIZE * per_student * DELTA < 1e-6


def test_forward_verdicts_never_fail_correct_code(plain_wire):
    def judge_one(seed):
        for kind, fn in FORWARDS.items():
            verdicts.forward(_records(lambda: collect.forward(kind, fn, kind, seed)), kind, seed)
    failures = _failures(FORWARD_SEEDS, judge_one)
    assert not failures, "\n".join(failures[:10])


def test_other_verdicts_never_fail_correct_code(plain_wire):
    expected_masked_output = _ch01_expected_masked_output()

    def judge_one(seed):
        for kind in ("dropout", "spatial"):
            verdicts.backward(_records(lambda: collect.backward(kind, ref.dropout_backward, kind, seed)), kind, seed)
        verdicts.layer(_records(lambda: collect.layer("Dropout", ref.Dropout, seed)), seed)
        verdicts.dropconnect_forward(_records(lambda: collect.dropconnect_forward("f", ref.dropconnect_forward, seed)),
                                     seed)
        verdicts.dropconnect_backward(_records(lambda: collect.dropconnect_backward(
            "b", ref.dropconnect_forward, ref.dropconnect_backward, seed)), seed)
        verdicts.expected_masked_output(_records(lambda: collect.expected_masked_output(
            "e", expected_masked_output, seed)), seed)
    failures = _failures(SEEDS, judge_one)
    assert not failures, "\n".join(failures[:10])


def test_capstone_verdict_never_fails_correct_code(plain_wire):
    def judge_one(seed):
        capstone_verdicts.fc_net_loss(_records(lambda: capstone_collectors.fc_net_loss(
            "fc_net_loss", ref.fc_net_loss, seed=seed)), seed)
    failures = _failures(FORWARD_SEEDS, judge_one)
    assert not failures, "\n".join(failures[:10])


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and np.array_equal(a, b, equal_nan=True))
    if isinstance(a, wire.Error) or isinstance(b, wire.Error):
        return isinstance(a, wire.Error) and isinstance(b, wire.Error) and (a.type, a.message) == (b.type, b.message)
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple | list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def test_the_shortcut_decodes_like_the_wire():
    """The shortcut above hands the verdicts exactly what the real wire format would."""
    out, cache = ref.inverted_dropout_forward(np.ones((3, 4), np.float32), 0.5, True, np.random.default_rng(0))
    for value in [(out, cache), ValueError("p_drop"), [1, 2.5, None, "s", True], np.float32(2), object(),
                  {"mask": None, "scale": 1.0}]:
        assert _same(wire.decode(wire.encode(value)), _as_decoded(value)), value
