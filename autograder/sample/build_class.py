"""Build the shipped sample class: synthetic submissions, right and wrong in known ways.

Each student fills a released notebook's answer cells with the reference solutions from the
sources, optionally edited into one of the classic mistakes. ``EXPECTED_LOSSES`` records
which function each mistake must cost, so the tests can hold the grader to it.

Regenerate with ``python -m autograder.sample.build_class --course course`` (after a release).
"""
from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

import nbformat

from autograder.course.layout import Course, SAMPLE_CLASS
from autograder.release.sources import SOURCES, source_notebook
from autograder.course.cells import is_solution

SOLUTION = re.compile(r"^[ \t]*### BEGIN SOLUTION\n|^[ \t]*### END SOLUTION\n?", re.MULTILINE)

# student -> (assignment, file name inside the student's folder, edits to the solutions or "stub"/"partial:<fn>")
STUDENTS = {
    "alice": ("ch02", "exercise.ipynb", []),
    "bob": ("ch02", "exercise.ipynb", "stub"),
    "carol": ("ch02", "exercise.ipynb", [("return x * mask * scale, {\"mask\": mask, \"scale\": scale}",
                                          "return x * mask, {\"mask\": mask, \"scale\": 1.0}")]),
    "dave": ("ch02", "ch02_exercise-1.ipynb", [("return x * 1.0, {\"mask\": None, \"scale\": 1.0}",
                                                "return x * (1.0 - p_drop), {\"mask\": None, \"scale\": 1.0 - p_drop}")]),
    "erin": ("ch02", "exercise.ipynb", [("mask = rng.random(x.shape) >= p_drop", "mask = rng.random(x.shape) < p_drop")]),
    "frank": ("ch03", "exercise.ipynb", []),
    "grace": ("ch03", "exercise.ipynb", [('    return dout * cache["mask"] * cache["scale"]',
                                          '    return dout * (np.random.random(dout.shape) < 0.5) * cache["scale"]')]),
    "heidi": ("ch05", "exercise.ipynb", []),
    "ivan": ("ch05", "Exercise 5 (spatial).ipynb", [("mask = rng.random(x.shape[:2] + (1,) * (x.ndim - 2)) >= p_drop",
                                                     "mask = rng.random(x.shape) >= p_drop")]),
    "judy": ("ch06", "exercise.ipynb", []),
    "ken": ("ch06", "exercise.ipynb", [("        model.eval()\n        for m in model.modules():\n"
                                        "            if isinstance(m, nn.modules.dropout._DropoutNd):\n                m.train()",
                                        "        model.train()")]),
    "leo": ("ch06", "exercise.ipynb", [("index = (torch.ceil(confidence.double() * n_bins).long() - 1).clamp(0, n_bins - 1)",
                                        "index = torch.floor(confidence * n_bins).long().clamp(0, n_bins - 1)")]),
    "mallory": ("ch01", "exercise.ipynb", []),
    "trent": ("ch01", "exercise.ipynb", "stub"),
    "nia": ("ch04", "exercise.ipynb", []),
    "oscar": ("ch04", "exercise.ipynb", [("    model.eval()\n    with torch.no_grad():", "    with torch.no_grad():")]),
    "peggy": ("ch07", "exercise.ipynb", []),
    "quinn": ("ch07", "exercise.ipynb", "partial:locked_dropout_forward"),
    "rupert": ("ch03", "exercise.ipynb", "partial:Dropout"),
    "sybil": ("ch02", None, []),  # a bare file at the top level: Sybil_ch02_exercise (1).ipynb
    "uma": ("ch08", "exercise.ipynb", [("    mask = rng.random(x.shape) >= p_drop\n",  # another honest style
                                        "    mask = rng.binomial(1, 1.0 - p_drop, size=x.shape)\n"),
                                       ("        order = rng.permutation(len(X))\n", "        order = np.arange(len(X))\n")]),
    "victor": ("ch08", "exercise.ipynb", [("loss_fn(params, X_val, y_val, p_drop, False, rng)",
                                           "loss_fn(params, X_val, y_val, p_drop, True, rng)")]),
}

# Which functions each student must lose points on (everything else must be full marks).
EXPECTED_LOSSES = {
    "bob": {"vanilla_dropout_forward", "inverted_dropout_forward"},
    "carol": {"inverted_dropout_forward"},
    "dave": {"inverted_dropout_forward"},
    "erin": {"vanilla_dropout_forward", "inverted_dropout_forward"},
    "grace": {"dropout_backward", "Dropout"},  # the layer calls the broken backward
    "ivan": {"spatial_dropout_forward"},
    "ken": {"enable_mc_dropout", "mc_dropout_predict"},
    "leo": {"expected_calibration_error"},
    "trent": {"keep_to_drop", "all_keep_masks", "expected_masked_output"},
    "oscar": {"evaluate"},
    "quinn": {"locked_dropout_forward"},
    "rupert": {"Dropout"},
    "victor": {"train_fc_net"},  # dropout left on when the loop evaluates
}


def _solutions(assignment: str) -> list[str]:
    nb = source_notebook(SOURCES / f"{assignment}.md")
    return [SOLUTION.sub("", c.source) for c in nb.cells if is_solution(c)]


def submission(released: Path, assignment: str, edits) -> nbformat.NotebookNode:
    nb = nbformat.read(released, as_version=4)
    if edits == "stub":
        return nb
    answers = iter(_solutions(assignment))
    pending = list(edits) if isinstance(edits, list) else []
    for cell in nb.cells:
        if not is_solution(cell):
            continue
        code = next(answers)
        if isinstance(edits, str) and edits.startswith("partial:"):
            if f"def {edits.split(':')[1]}" in code or f"class {edits.split(':')[1]}" in code:
                continue  # leave this function's stub in place
        for old, new in edits if isinstance(edits, list) else []:
            if old in code:
                code = code.replace(old, new)
                if (old, new) in pending:
                    pending.remove((old, new))
        cell.source = code
    if pending:
        raise ValueError(f"{assignment}: these edits match no solution any more: {pending}")
    return nb


def build(course: Path, target: Path = SAMPLE_CLASS) -> None:
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for student, (assignment, filename, edits) in STUDENTS.items():
        nb = submission(Course(course).release_notebook(assignment), assignment, edits)
        if filename is None:
            path = target / f"{student.capitalize()}_{assignment}_exercise (1).ipynb"
        else:
            path = target / student / filename
            path.parent.mkdir()
        nbformat.write(nb, path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--course", default="course", help="a course folder that has been released")
    build(Path(parser.parse_args().course))
