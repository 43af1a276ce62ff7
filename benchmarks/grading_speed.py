"""Grading the sample class: the pipeline (one sandboxed kernel per submission, forked from each
worker's kernel template with NumPy and PyTorch imported; worker processes in parallel, forked
from a fork server that imported the grader once, each with its share of the cores in threads,
longest notebooks first; submissions rebuilt,
verdicts by the trusted checker) vs plain sequential `nbgrader autograde`
over the same class in one course folder. Same run, same machine; the ratio is what matters,
and the load averages printed say how busy the machine was meanwhile.

Run: .venv/bin/python benchmarks/grading_speed.py [--jobs 2]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

from autograder.collect import collect
from autograder.course.gradebook import Gradebook, default_url
from autograder.grade.pipeline import grade_all
from autograder.course.layout import SAMPLE_CLASS, tool_env
from autograder.release.notebooks import release


def plain_nbgrader(course: Path) -> float:
    start = time.perf_counter()
    for assignment in sorted({p.name for p in (course / "submitted").glob("*/*")}):
        subprocess.run(["nbgrader", "autograde", assignment, "--force"], cwd=course, env=tool_env(),
                       capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ours, theirs = Path(tmp) / "ours", Path(tmp) / "theirs"
        for course in (ours, theirs):
            release(course)
            n = len(collect(SAMPLE_CLASS, course))
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        grade_all(ours, Gradebook(default_url(ours)), jobs=args.jobs)
        pipeline = time.perf_counter() - start
        sequential = plain_nbgrader(theirs)
    print(f"{n} submissions, {args.jobs} jobs; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"pipeline (parallel, sandboxed, trusted checker): {pipeline:6.1f} s")
    print(f"plain sequential nbgrader autograde:              {sequential:6.1f} s")
    print(f"speed-up: {sequential / pipeline:.2f}x")


if __name__ == "__main__":
    main()
