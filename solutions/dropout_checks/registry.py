"""The registry of graded functions: one row per graded cell, the one place that says what grades it.

A row names, for one function of one assignment: its points, the input plan (in
:mod:`dropout_collect`) that fixes what it is called on, the collector its hidden test calls in
the student's kernel, the verdict that judges the collected data here, the visible check of the
student kit, and the name of the reference implementation that must get full marks.

What is derived from it: :data:`dropout_checks.VERDICTS` (the trusted checker's table), and the
tests' tables of collectors, reference answers and grade ids. What is checked against it (by
``tests/checks/test_registry.py``, which fails on a function registered in one place and missing in
another): every graded cell in ``solutions/exercises/chNN.md``, which must read
:meth:`GradedFunction.test_cell` (the hidden call, then the visible one), and the points of its
``grade:<id>:<points>`` tag; the grade ids and points of the book's released notebooks; the kit's
list of visible checks per notebook (``dropout_kit.EXERCISES``); that the collector and the verdict
read the same input plan; and that every function has a classic mistake that loses it in the
verdict tests.

This module lives in the trusted checker, which the sandbox hides from student kernels: a kernel
sees the kit and the collectors, as before, and nothing of this table.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass

from dropout_collect import capstone_collectors, numpy_collectors, torch_collectors
from dropout_kit import capstone_checks, numpy_checks, torch_checks

from . import capstone_verdicts, numpy_verdicts, torch_verdicts


@dataclass(frozen=True)
class GradedFunction:
    """One graded cell: a student's function, how it is called, judged and checked.

    Parameters
    ----------
    assignment, grade_id, points
        The notebook (``"ch02"``), the graded cell's nbgrader id (the function's name) and its points.
    plan
        The input plan both the collector and the verdict read, as ``"<module of dropout_collect>.<name>"``.
    collector
        The function of :mod:`dropout_collect` the hidden test calls, in the student's kernel.
    verdict
        The trusted verdict on the collected records (``verdict(records[, seed])``).
    visible_check
        The kit's check the visible part of the test cell calls.
    reference
        The name in :mod:`dropout_reference` that must get full marks, or ``None`` when only the
        exercise's own solution is the reference (the training loop of chapter 4).
    answers
        The student's names the test passes, in order (by default the function itself).
    collector_args, check_args
        Literal arguments after the answers (the kind of forward or backward).
    depends_on
        Graded functions of the same notebook that this one may call (the exercise text suggests
        it, or the test feeds it their output): when one of them fails too, the reason says to fix
        that one first. The kit's copy (``dropout_kit.DEPENDS_ON``) is compared with this column.
    """
    assignment: str
    grade_id: str
    points: int
    plan: str
    collector: Callable
    verdict: Callable
    visible_check: Callable
    reference: str | None
    answers: tuple[str, ...] = ()
    collector_args: tuple[str, ...] = ()
    check_args: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()

    def __post_init__(self):
        if not self.answers:
            object.__setattr__(self, "answers", (self.grade_id,))

    @property
    def key(self) -> tuple[str, str]:
        return self.assignment, self.grade_id

    @property
    def collector_module(self) -> str:
        """``numpy_collectors`` or ``torch_collectors``: the hidden test imports it as ``collect``."""
        return self.collector.__module__.rsplit(".", 1)[-1]

    @property
    def check_module(self) -> str:
        """``numpy_checks`` or ``torch_checks``: the notebook imports it as ``checks``."""
        return self.visible_check.__module__.rsplit(".", 1)[-1]

    def hidden_call(self) -> str:
        """The hidden test's one call, as the exercise source writes it."""
        args = [json.dumps(self.grade_id), *self.answers, *map(json.dumps, self.collector_args)]
        return f"collect.{self.collector.__name__}({', '.join(args)})"

    def visible_call(self) -> str:
        """The visible part of the test cell: one check of the kit."""
        return f"checks.{self.visible_check.__name__}({', '.join([*self.answers, *map(json.dumps, self.check_args)])})"

    def test_cell(self) -> str:
        """The whole test cell of the exercise source: the hidden block first (the collector runs before
        the visible check can stop the cell), then the visible line."""
        return (f"### BEGIN HIDDEN TESTS\nfrom dropout_collect import {self.collector_module} as collect\n"
                f"{self.hidden_call()}\n### END HIDDEN TESTS\n{self.visible_call()}")

    def run_collector(self, namespace: dict) -> None:
        """Call the collector as the hidden test does, on the answers found in ``namespace``."""
        self.collector(self.grade_id, *(namespace[name] for name in self.answers), *self.collector_args)


def _numpy(assignment, grade_id, points, plan, collector, verdict, check, reference, **more) -> GradedFunction:
    return GradedFunction(assignment, grade_id, points, f"plans.{plan}", getattr(numpy_collectors, collector), verdict,
                          getattr(numpy_checks, check), reference, **more)


def _torch(assignment, grade_id, points, plan, collector, verdict, check, reference, **more) -> GradedFunction:
    return GradedFunction(assignment, grade_id, points, f"torch_plans.{plan}", getattr(torch_collectors, collector),
                          verdict, getattr(torch_checks, check), reference, **more)


def _forward(assignment, grade_id, points, kind, reference) -> GradedFunction:
    return _numpy(assignment, grade_id, points, "forward_inputs", "forward",
                  functools.partial(numpy_verdicts.forward, kind=kind), "check_forward", reference,
                  collector_args=(kind,), check_args=(kind,))


def _capstone(grade_id, points, plan, reference, **more) -> GradedFunction:
    return GradedFunction("ch08", grade_id, points, f"capstone_plans.{plan}", getattr(capstone_collectors, grade_id),
                          getattr(capstone_verdicts, grade_id), getattr(capstone_checks, f"check_{grade_id}"), reference,
                          **more)


def _metric(grade_id, points, **more) -> GradedFunction:
    return _torch("ch06", grade_id, points, "metric_cases", "metric",
                  functools.partial(torch_verdicts.metric, name=grade_id), f"check_{grade_id}", grade_id, **more)


# In the order of the notebooks' test cells.
GRADED_FUNCTIONS: tuple[GradedFunction, ...] = (
    _numpy("ch01", "keep_to_drop", 1, "KEEP_VALUES", "keep_to_drop", numpy_verdicts.keep_to_drop,
           "check_keep_to_drop", "keep_to_drop"),
    _numpy("ch01", "all_keep_masks", 1, "MASK_SIZES", "all_keep_masks", numpy_verdicts.all_keep_masks,
           "check_all_keep_masks", None),
    _numpy("ch01", "expected_masked_output", 2, "expectation_inputs", "expected_masked_output",
           numpy_verdicts.expected_masked_output, "check_expected_masked_output", None, depends_on=("all_keep_masks",)),
    _forward("ch02", "vanilla_dropout_forward", 3, "vanilla", "vanilla_dropout_forward"),
    _forward("ch02", "inverted_dropout_forward", 3, "inverted", "inverted_dropout_forward"),
    _numpy("ch03", "dropout_backward", 3, "backward_inputs", "backward",
           functools.partial(numpy_verdicts.backward, kind="dropout"), "check_backward", "dropout_backward",
           collector_args=("dropout",)),
    _numpy("ch03", "Dropout", 3, "layer_plan", "layer", numpy_verdicts.layer, "check_layer", "Dropout",
           depends_on=("dropout_backward",)),
    _torch("ch04", "train_epoch", 2, "TRAIN_SCENARIOS", "train_epoch", torch_verdicts.train_epoch,
           "check_train_epoch", None),
    _torch("ch04", "evaluate", 2, "evaluate_setup", "evaluate", torch_verdicts.evaluate, "check_evaluate", None),
    _forward("ch05", "spatial_dropout_forward", 3, "spatial", "spatial_dropout_forward"),
    _numpy("ch05", "spatial_dropout_backward", 2, "backward_inputs", "backward",
           functools.partial(numpy_verdicts.backward, kind="spatial"), "check_backward", "dropout_backward",
           collector_args=("spatial",), check_args=("spatial",)),
    _torch("ch06", "enable_mc_dropout", 3, "CONTEXT_PHASES", "enable_mc_dropout", torch_verdicts.enable_mc_dropout,
           "check_enable_mc_dropout", "enable_mc_dropout"),
    _torch("ch06", "mc_dropout_predict", 2, "predict_model", "mc_dropout_predict", torch_verdicts.mc_dropout_predict,
           "check_mc_dropout_predict", "mc_dropout_predict", depends_on=("enable_mc_dropout",)),
    _metric("predictive_entropy", 1),
    _metric("mutual_information", 1, depends_on=("predictive_entropy",)),
    _metric("expected_calibration_error", 2),
    _metric("negative_log_likelihood", 1),
    _numpy("ch07", "dropconnect_forward", 2, "DROPCONNECT_PLAN", "dropconnect_forward",
           numpy_verdicts.dropconnect_forward, "check_dropconnect_forward", "dropconnect_forward"),
    _numpy("ch07", "dropconnect_backward", 2, "dropconnect_dout", "dropconnect_backward",
           numpy_verdicts.dropconnect_backward, "check_dropconnect_backward", "dropconnect_backward",
           answers=("dropconnect_forward", "dropconnect_backward"), depends_on=("dropconnect_forward",)),
    _forward("ch07", "locked_dropout_forward", 2, "locked", "locked_dropout_forward"),
    _capstone("fc_net_loss", 4, "loss_inputs", "fc_net_loss"),
    _capstone("train_fc_net", 3, "training_data", "train_fc_net", answers=("train_fc_net", "fc_net_loss"),
              depends_on=("fc_net_loss",)),
)

BY_KEY: dict[tuple[str, str], GradedFunction] = {row.key: row for row in GRADED_FUNCTIONS}


def of_assignment(assignment: str) -> tuple[GradedFunction, ...]:
    """The rows of one notebook, in the order of its test cells."""
    return tuple(row for row in GRADED_FUNCTIONS if row.assignment == assignment)
