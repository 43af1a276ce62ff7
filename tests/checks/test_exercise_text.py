"""Every requirement a test checks is stated in the exercise text *before* the stub it applies to.

``REQUIRED`` maps each graded function to the terms that its hidden verdict
(``solutions/dropout_checks/*_verdicts.py``) and its visible check (``kit/dropout_kit``) rely on:
attributes, exceptions, modes, shapes, return types, conventions. Each term must appear in the
markdown a student has read when they reach the stub: the notebook's introduction plus the
markdown between the previous answer or test cell and the stub (text further down, or in code,
does not count). A graded cell without an entry here fails, so a new requirement cannot arrive
without its text. Written questions are checked for form: a question above, a model answer that
nbgrader's ClearSolutions turns into "YOUR ANSWER HERE", one point each.
"""
from __future__ import annotations

import copy
import re

import pytest
from nbgrader.preprocessors import ClearSolutions

from autograder.course.layout import ASSIGNMENTS, SOURCES
from autograder.release.sources import source_notebook, written_points
from dropout_checks import VERDICTS

COMMON_FORWARD = [  # every dropout forward (exercises 2, 5 and 7): the cache contract and the edge cases
    "**dropping**", "numpy.random.Generator", "(out, cache)", "shape of `x`", "not modify `x`", '"mask"', '"scale"',
    "boolean keep-mask", "`True` = kept", "out == x * mask * scale", "probability `1 - p_drop`", "fresh",
    "independently", "`train=False`", "`p_drop = 0`", "unchanged", "`p_drop = 1`", "all zeros", "without dividing by zero",
    "no NaN", "`ValueError`", "outside [0, 1] or NaN",
]
INVERTED = ["`1 / (1 - p_drop)`"]
LOCALLY_EVAL_IDENTITY = ["`out` equals `x`", '`cache["mask"] = None`']

REQUIRED = {
    ("ch01", "keep_to_drop"): ["keep_to_drop(p_keep)", "`p_drop`", "**dropping**", "a number", "`ValueError`",
                               "outside [0, 1], or NaN"],
    ("ch01", "all_keep_masks"): ["all_keep_masks(n)", "`(2**n, n)`", "0/1 or booleans", "exactly once", "any order"],
    ("ch01", "expected_masked_output"): ["expected_masked_output(a, p_drop)", "1-D array `a`", "all $2^n$ keep-masks",
                                         "shape of `a`", "0 included", "$0^0 = 1$"],
    ("ch02", "vanilla_dropout_forward"): COMMON_FORWARD + ["without `rng` must work"] + [
        "`None`", "out == x * scale", "vanilla_dropout_forward(x, p_drop, train, rng)", "**not**",
        '`cache["scale"] = 1`', "multiplied by `1 - p_drop`", '`cache["scale"] = 1 - p_drop`'],
    ("ch02", "inverted_dropout_forward"): COMMON_FORWARD + INVERTED + ["without `rng` must work"] + [
        "`None`", "out == x * scale", "inverted_dropout_forward(x, p_drop, train, rng)", "use 0 when `p_drop = 1`",
        "`out` equals `x`", '`cache["scale"] = 1`'],
    ("ch03", "dropout_backward"): [
        "dropout_backward(dout, cache)", "gradient of the loss with respect to `x`", "shape of `dout`",
        "out == x * cache[\"mask\"] * cache[\"scale\"]", "own `cache[\"mask\"]`", "never a new random mask",
        "broadcast", "`(N, C, 1, 1)`", "`None` for an evaluation cache", 'out == x * cache["scale"]'],
    ("ch03", "Dropout"): [
        "**inverted**", "any rank", "`(N, D)`", "`(N, C, H, W)`", "`Dropout(p_drop, rng=rng)`",
        "probability of dropping", "numpy.random.Generator", "`ValueError`", "outside [0, 1] or NaN",
        "`.training`", "`True` for a new layer", "`.train()`", "`.eval()`", "`False`", "`forward(x)`",
        "shape of `x`", "training mode", "independently", "probability `1 - p_drop`", "`1 / (1 - p_drop)`", "fresh",
        "rng", "different masks", "two layers built with the same `rng`", "evaluation mode", "returns the values of `x` unchanged", "`Dropout(1.0)` drops every unit", "returns zeros", "`backward(dout)`", "**last** `forward`",
        "reusing that call's mask", "shape of `dout`", "passes `dout` through unchanged"],
    ("ch04", "train_epoch"): [
        "train_epoch(model, optimiser, x, y, batch_size)", "mean cross-entropy", "`optimiser` it is given",
        "mean of the mini-batch losses", "Python float", "`loss.item()`", "before its step", "`model.train()` first",
        "evaluation mode", "mini-batches of `batch_size` examples", "exactly one forward pass in training mode",
        "one `loss.backward()`", "one `optimiser.step()` per mini-batch", "gradient tracking on",
        "`optimiser.zero_grad()`", "before each backward pass", "its own mini-batch only", "class indices"],
    ("ch04", "evaluate"): [
        "evaluate(model, x, y)", "a tuple `(mean loss, accuracy)`", "two floats", "mean cross-entropy over all of `x`",
        "fraction in [0, 1]", "largest logit", "`model.eval()`", "dropout **off**", "running statistics",
        "`torch.no_grad()`", "no gradient tracking", "same result"],
    ("ch05", "spatial_dropout_forward"): [c for c in COMMON_FORWARD if c != "`True` = kept"] + INVERTED
    + LOCALLY_EVAL_IDENTITY + [
        "spatial_dropout_forward(x, p_drop, train, rng)", "`(N, C, *spatial)`", "1 to 3 spatial dimensions",
        "`(N, C, L)`", "`(N, C, H, W)`", "`(N, C, D, H, W)`", "`ValueError` for any other rank", "whole channels", "without `rng` must work",
        "one keep/drop per (sample, channel)", "every spatial position", "inverted scaling", "`True` = kept",
        "`(N, C, 1, ...)`", '`cache["scale"] = 1`'],
    ("ch05", "spatial_dropout_backward"): [
        "spatial_dropout_backward(dout, cache)", "gradient of the loss with respect to `x`", "shape of `dout`",
        "own `cache[\"mask\"]`", "`(N, C, 1, ...)`", "broadcast over the spatial positions", "never a new random mask",
        "`None` for an evaluation cache", 'out == x * cache["scale"]'],
    ("ch06", "enable_mc_dropout"): [
        "`(T, N, K)`", "natural logarithms", "enable_mc_dropout(model)", "context manager",
        "`with enable_mc_dropout(model):`", "`nn.Dropout`", "`nn.modules.dropout._DropoutNd`", "training mode",
        "BatchNorm and every other module", "the model itself included", "evaluation mode", "running statistics",
        "exact mode", "`.training`", "different modes", "even when the body raises", "propagate",
        "`nn.Dropout(0.5)` alone"],
    ("ch06", "mc_dropout_predict"): [
        "mc_dropout_predict(model, x, T)", "`T` forward passes", "`(N, D)`", "only dropout active",
        "its own dropout masks", "`enable_mc_dropout`", "BatchNorm stays in evaluation mode", "running statistics",
        "`torch.no_grad()`", "must not track gradients", "a tensor of shape `(T, N, K)`", "softmax", "logits",
        "last dimension", "back in the mode it had before"],
    ("ch06", "predictive_entropy"): [
        "`(T, N, K)`", "float32 or float64", "natural logarithms", "predictive_entropy(probs)",
        "entropy of the mean prediction", "mean over the `T` samples", "shape `(N,)`", "$0 \\log 0$ as 0", "not NaN"],
    ("ch06", "mutual_information"): [
        "`(T, N, K)`", "float32 or float64", "natural logarithms", "mutual_information(probs)",
        "minus the mean entropy of the samples", "shape `(N,)`", "$0 \\log 0$ as 0"],
    ("ch06", "expected_calibration_error"): [
        "`(N, K)`", "float32 or float64", "integer tensor of shape `(N,)`", "class indices",
        "expected_calibration_error(probs, labels, n_bins=15)", "largest probability", "the label",
        "`n_bins`", "equal-width bins", "closed on the right", "lower bin", "empty bins add nothing",
        "Decide the bins in float64 (`confidence.double()`)",
        "a number (a float or a 0-d tensor)"],
    ("ch06", "negative_log_likelihood"): [
        "`(N, K)`", "integer tensor of shape `(N,)`", "negative_log_likelihood(probs, labels)",
        "mean over the inputs", "$-\\log p(\\text{label})$", "natural log", "a number"],
    ("ch07", "dropconnect_forward"): [
        "**dropping**", "numpy.random.Generator", "dropconnect_forward(x, W, b, p_drop, train, rng)", "`(N, D)`",
        "`(D, M)`", "`(M,)`", "*weights*", "`(out, cache)`", "`(N, M)`", "probability `1 - p_drop`", "fresh mask",
        "`1 / (1 - p_drop)`", "inverted scaling", "out == x @ (W * mask * scale) + b", "boolean keep-mask",
        "`True` = kept", "shape of `W`", '`cache["scale"] = 1 / (1 - p_drop)`', "`train=False`",
        "out == x @ W + b", "whatever your backward needs"],
    ("ch07", "dropconnect_backward"): [
        "dropconnect_backward(dout, cache)", "`dout` of shape `(N, M)`", "the cache your `dropconnect_forward` returned",
        "triple `(dx, dW, db)`", "with respect to `x`, `W` and `b`", "`(N, D)`, `(D, M)` and `(M,)`",
        "its own mask and scale"],
    ("ch07", "locked_dropout_forward"): [c for c in COMMON_FORWARD if c not in ("shape of `x`",)] + INVERTED
    + LOCALLY_EVAL_IDENTITY + [
        "locked_dropout_forward(x, p_drop, train, rng)", "`(T, N, D)`", "one keep/drop per (sample, feature)",
        "**same at every time step**", "inverted scaling", "`(1, N, D)`", '`cache["scale"] = 1`',
        "`out` of the shape of `x`"],
    ("ch08", "fc_net_loss"): [
        "**dropping**", "numpy.random.Generator", "`(N, D)`", "`(N, K)`", "integer array of `N` class indices",
        'params["W1"]', "`(D, H)`", "`(H,)`", "`(H, K)`", "`(K,)`", "mean softmax cross-entropy",
        "fc_net_loss(params, X, y, p_drop, train, rng)", "a pair `(loss, grads)`", "the loss as a number",
        '`"W1"`, `"b1"`, `"W2"`, `"b2"`', "of the shape of that parameter", "float64",
        "**only on the hidden layer**", "after the ReLU", "never on the input or on the output scores",
        "from the `rng` you are given", "seeded alike", "the same mask and scale", "`train=False`", "no mask and no scaling",
        "`p_drop = 0`", "central differences"],
    ("ch08", "train_fc_net"): [
        "train_fc_net(loss_fn, params, X, y, X_val, y_val, p_drop, lr, epochs, batch_size, rng)",
        "a pair `(params, history)`", "signature of `fc_net_loss`", "mini-batches of `batch_size` examples",
        "multiple of `batch_size`", "`loss_fn(params, X_batch, y_batch, p_drop, True, rng)` exactly once",
        "**same `rng`**", "never a new or reseeded generator", "`params[name] -= lr * grads[name]`",
        "`loss_fn(params, X_val, y_val, p_drop, False, rng)` once", "whole validation set", "`train=False`",
        '`history["loss"]`', "mean of that epoch's mini-batch losses", '`history["val_loss"]`', "one float per epoch",
        "same keys"],
}


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _cells(assignment: str):
    return source_notebook(SOURCES / f"{assignment}.md", written_answers=True).cells


def _graded_ids(assignment: str) -> list[str]:
    return [_meta(c)["grade_id"] for c in _cells(assignment)
            if _meta(c).get("grade") and not _meta(c).get("solution")]


def text_before_stub(assignment: str, function: str) -> str:
    """The introduction and the markdown since the previous answer or test cell, up to ``function``'s stub."""
    cells = _cells(assignment)
    pattern = re.compile(rf"^[ \t]*(def|class) {re.escape(function)}\b", re.MULTILINE)
    stub = next((i for i, c in enumerate(cells) if c.cell_type == "code" and _meta(c).get("solution")
                 and pattern.search(c.source)), None)
    assert stub is not None, f"{assignment}: no answer cell defines {function}"
    first_code = next(i for i, c in enumerate(cells) if c.cell_type == "code")
    intro = [c.source for c in cells[:first_code] if c.cell_type == "markdown"]
    start = max((i for i in range(stub) if _meta(cells[i]).get("solution") or _meta(cells[i]).get("grade")),
                default=first_code)
    local = [c.source for c in cells[start + 1:stub] if c.cell_type == "markdown" and not _meta(c)]
    return _normalise("\n\n".join(intro + local))


def test_every_graded_function_has_an_entry():
    graded = {(a, g) for a in ASSIGNMENTS for g in _graded_ids(a)}
    assert graded == set(REQUIRED), {"without an entry": graded - set(REQUIRED), "stale": set(REQUIRED) - graded}
    assert set(REQUIRED) <= set(VERDICTS)


@pytest.mark.parametrize("key", list(REQUIRED), ids="/".join)
def test_the_text_before_the_stub_states_every_requirement(key):
    assignment, function = key
    text = text_before_stub(assignment, function)
    missing = [term for term in REQUIRED[key] if _normalise(term) not in text]
    assert not missing, f"{assignment}/{function}: the text before the stub does not mention {missing}"


def test_text_after_the_stub_does_not_count():
    """The checker itself: a term stated only further down is not found."""
    assert "closed on the right" not in text_before_stub("ch06", "predictive_entropy")
    assert "`.training`" not in text_before_stub("ch03", "dropout_backward")
    assert "`optimiser.zero_grad()`" not in text_before_stub("ch04", "evaluate")


# ----------------------------------------------------------------------------- written questions

WRITTEN = re.compile(r"\A### BEGIN SOLUTION\n(.+)\n### END SOLUTION\Z", re.DOTALL)


@pytest.mark.parametrize("assignment", list(ASSIGNMENTS))
def test_written_questions_are_manually_graded_answer_cells(assignment):
    cells = _cells(assignment)
    written = [(i, c) for i, c in enumerate(cells) if _meta(c).get("solution") and _meta(c).get("grade")]
    assert 1 <= len(written) <= 2, assignment
    functions = {g for _, g in REQUIRED}
    for index, cell in written:
        meta = _meta(cell)
        assert cell.cell_type == "markdown"
        assert meta == {"solution": True, "grade": True, "locked": False, "grade_id": meta["grade_id"], "points": 1,
                        "schema_version": 3}
        assert meta["grade_id"].startswith("q_") and meta["grade_id"] not in functions
        answer = WRITTEN.match(cell.source)
        assert answer and len(answer.group(1).split()) >= 30, f"{meta['grade_id']}: a model answer of a few sentences"
        question = cells[index - 1]
        assert question.cell_type == "markdown" and not _meta(question) and question.source.rstrip().endswith("?")
    assert written_points(assignment) == {_meta(c)["grade_id"]: 1 for _, c in written}
    # After the written answers, the closing summary cell.
    assert cells[-1].cell_type == "code" and f'dropout_kit.summary("{assignment}")' in cells[-1].source


def test_written_question_ids_are_unique_across_the_course():
    ids = [g for a in ASSIGNMENTS for g in written_points(a)]
    assert len(ids) == len(set(ids)) == 16


@pytest.mark.parametrize("assignment", list(ASSIGNMENTS))
def test_nbgrader_releases_written_answers_as_your_answer_here(assignment):
    nb = copy.deepcopy(source_notebook(SOURCES / f"{assignment}.md", written_answers=True))
    released, _ = ClearSolutions().preprocess(nb, {})
    for cell in released.cells:
        if _meta(cell).get("solution") and cell.cell_type == "markdown":
            assert cell.source == "YOUR ANSWER HERE"
        assert "BEGIN SOLUTION" not in cell.source and "END SOLUTION" not in cell.source


def test_without_written_answers_the_notebook_has_only_autograded_cells():
    for assignment in ASSIGNMENTS:
        full, plain = _cells(assignment), source_notebook(SOURCES / f"{assignment}.md").cells
        assert len(full) == len(plain)
        for a, b in zip(full, plain):
            if _meta(a).get("solution") and _meta(a).get("grade"):
                assert b.source == "" and _meta(b)["solution"] and not _meta(b)["grade"] and "points" not in _meta(b)
            else:
                assert (a.source, a.metadata) == (b.source, b.metadata)


def test_release_of_one_assignment_syncs_only_its_book_copy(tmp_path, monkeypatch):
    """`release ch01 --sync-book` after editing one exercise's text must not need the others released."""
    from autograder.release import notebooks as release_mod

    chapters = tmp_path / "chapters"
    for chapter in ASSIGNMENTS.values():
        (chapters / chapter).mkdir(parents=True)
    monkeypatch.setattr(release_mod, "CHAPTERS", chapters)
    release_mod.release(tmp_path / "course", ("ch01",))
    written = release_mod.sync_book(tmp_path / "course", ("ch01",))
    assert [p.parent.name for p in written] == [ASSIGNMENTS["ch01"]]
    assert sorted(p.parent.name for p in chapters.glob("*/exercise.ipynb")) == [ASSIGNMENTS["ch01"]]
