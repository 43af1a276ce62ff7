"""The hidden tests' verdicts, run on correct code over many seeds: they must never fail it.

Each seed runs the reference through every NumPy collector that takes a seed and judges the
records with the matching verdict at that seed (the graded notebooks use seed 0).

What can fail correct code, per seed, each with probability below ``DELTA = 1e-11``:

* the forwards (200 seeds; they are the slow part): 14 keep-rate checks (Hoeffding; vanilla 2,
  inverted 4, spatial 6, locked 2) and 4 "two fresh masks differ" checks (below 2**-4000);
* the rest (1000 seeds): the layer's 5 keep-rate and 2 fresh-mask checks, DropConnect's 2
  keep-rate and 1 fresh-mask check, and DropConnect's backward refusing a mask that keeps all
  or none of 2000 weights (below 0.6**2000). The backward and expectation verdicts are exact.

The union bound puts this file's false-failure rate below (200 * 18 + 1000 * 11) * 1e-11
= 1.5e-7: a failure here means a check is wrong, not unlucky.

Speed: the records skip the wire format (compressing every array thousands of times would take
minutes); ``test_verdicts_numpy`` covers the same collectors and verdicts through a JSON round
trip. Here the values are handed over as :func:`dropout_collect.wire.decode` would return them.
"""
import numpy as np
import pytest

import dropout_reference as ref
from autograder import sample_class
from dropout_checks import DELTA, Failure
from dropout_checks import numpy_verdicts as verdicts
from dropout_collect import capture, core, wire
from dropout_collect import numpy_collectors as collect

FORWARD_SEEDS = range(200)
SEEDS = range(1000)
FORWARD_CHECKS_PER_SEED = 18
OTHER_CHECKS_PER_SEED = 11
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
    total = len(FORWARD_SEEDS) * FORWARD_CHECKS_PER_SEED + len(SEEDS) * OTHER_CHECKS_PER_SEED
    assert DELTA <= 1e-11 and total * DELTA < 1e-6


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
