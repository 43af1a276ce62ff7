"""How long a submission is expected to take, so the longest are handed out first.

Two workers that end together finish the class sooner than one left alone with a long notebook.
The estimate for an assignment is what its submissions took in this course's last run (the
gradebook keeps each one's seconds); an assignment never graded here gets the typical time
measured on the sample class, relative numbers being all that matter.
"""
from __future__ import annotations

from statistics import median

# Seconds per notebook on the sample class (2 jobs, kernels forked from the template): chapter 4's
# hidden test trains a network for an epoch, chapter 6's measure runs many forward passes.
TYPICAL_SECONDS = {"ch04": 5.0, "ch06": 4.0}
OTHER_SECONDS = 1.5


def estimator(gradebook):
    """``cost((student, assignment, notebook))`` in seconds, from ``gradebook``'s last times."""
    seen: dict[str, list[float]] = {}
    for row in gradebook.rows(overrides=False):
        if row.get("seconds"):  # a GradeRow is a dict; rows graded before times were kept have None
            seen.setdefault(row["assignment"], []).append(row["seconds"])
    estimates = {assignment: median(times) for assignment, times in seen.items()}

    def cost(item) -> float:
        assignment = item[1]
        return estimates.get(assignment, TYPICAL_SECONDS.get(assignment, OTHER_SECONDS))

    return cost
