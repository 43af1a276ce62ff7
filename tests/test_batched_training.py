"""The batched trainer (course_experiments/batched.py) is the old one-at-a-time loop, run many times at once.

Each member must end where ``train_classifier`` ends for the same seed and rates (same initial weights,
data order and dropout masks, so only float rounding of the batched products differs), and no member
may depend on the others: changing one member's rate leaves every other member's result unchanged.
Small sizes keep this fast; the recipe is the chapter's otherwise.
"""
import functools

import numpy as np
import pytest
import torch

from course_experiments import classification
from course_experiments.batched import Member, split_evenly, train_mlps
from course_experiments.data import mnist1d_split
from course_experiments.training import make_mlp, train_classifier

HIDDEN, EPOCHS, LR, BATCH, RECORD = (32, 16), 6, 2e-3, 50, 2
DATA = {seed: mnist1d_split(200, 100, seed=seed) for seed in (0, 1, 2)}
MEMBERS = [Member(0, 0.0), Member(1, 0.3), Member(0, 0.5, p_drop_input=0.2), Member(2, 0.4, ramp_from=0.0)]


def batched(members):
    with classification.one_thread():
        return train_mlps(members, DATA, HIDDEN, epochs=EPOCHS, lr=LR, batch_size=BATCH, record_every=RECORD)


def alone(member):
    """The member trained by the course's original loop, as chapter 4 trained every network before."""
    data = DATA[member.seed]
    start = member.p_drop_hidden if member.ramp_from is None else member.ramp_from
    model = make_mlp(data, start, p_drop_input=member.p_drop_input, hidden=HIDDEN, seed=member.seed)
    schedule = None if member.ramp_from is None else functools.partial(
        classification.linear_ramp, start=member.ramp_from, end=member.p_drop_hidden, epochs=EPOCHS)
    with classification.one_thread():
        history = train_classifier(model, data, epochs=EPOCHS, lr=LR, batch_size=BATCH, seed=member.seed,
                                   schedule=schedule, record_every=RECORD)
    return model, history


def assert_same_run(a, b, atol):
    (model_a, hist_a), (model_b, hist_b) = a, b
    for (name, wa), wb in zip(model_a.state_dict().items(), model_b.state_dict().values()):
        torch.testing.assert_close(wa, wb, atol=atol, rtol=0, msg=name)
    for key in ("train_loss", "test_loss", "train_acc", "test_acc"):
        np.testing.assert_allclose(getattr(hist_a, key), getattr(hist_b, key), atol=atol, rtol=0, err_msg=key)


@pytest.mark.parametrize("i", range(len(MEMBERS)))
def test_each_member_is_the_run_train_classifier_makes_alone(i):
    together = batched(MEMBERS)
    assert_same_run(together[i], alone(MEMBERS[i]), atol=1e-5)
    assert together[i][0].p_drop_hidden == MEMBERS[i].p_drop_hidden   # a ramp ends at its final rate


def test_the_comparison_sees_a_small_difference():
    """The tolerance above is tight enough to tell apart runs whose rates differ by 0.01."""
    member = batched([Member(0, 0.0), MEMBERS[1]])[1]
    with pytest.raises(AssertionError):
        assert_same_run(member, alone(Member(1, 0.31)), atol=1e-5)


def test_members_are_independent_of_each_other():
    first = batched(MEMBERS)
    changed = batched([Member(0, 0.7)] + MEMBERS[1:])        # member 0's rate changed
    for a, b in zip(first[1:], changed[1:]):
        assert_same_run(a, b, atol=0)                           # bit for bit
    with pytest.raises(AssertionError):
        assert_same_run(first[0], changed[0], atol=1e-5)        # while member 0 itself did change
    alone_in_batch = batched([MEMBERS[2]])[0]                   # and a batch of one is the same again
    assert_same_run(first[2], alone_in_batch, atol=1e-5)


def test_split_evenly_keeps_order_and_sizes():
    assert split_evenly(range(5), 2) == [[0, 1, 2], [3, 4]]
    assert split_evenly(range(2), 4) == [[0], [1]]
    assert sum(split_evenly(range(45), 2), []) == list(range(45))
