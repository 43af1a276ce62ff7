"""dropout-grader: release, collect, grade, feedback and export for the dropout course.

A typical term, run from the repository root (the course folder defaults to ./course):

    dropout-grader release                       # student notebooks into course/release/
    dropout-grader collect exports/ch02.zip      # a folder or LMS .zip of submissions
    dropout-grader grade --jobs 2                # parallel, resumable; progress bar
    dropout-grader feedback                      # course/feedback_html/<student>.html
    dropout-grader export                        # course/export/grades.csv, .json, .png
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .collect import CollectError, collect
from .gradebook import Gradebook, default_url
from .grading import grade_all
from .sandbox import SandboxUnavailable
from .paths import ASSIGNMENTS, SAMPLE_CLASS
from .release import release, sync_book
from .report import export, feedback


def _course(args) -> Path:
    return Path(args.course).resolve()


def _gradebook(args) -> Gradebook:
    return Gradebook(args.db or default_url(_course(args)))


def cmd_release(args) -> None:
    unknown = [a for a in args.assignments if a not in ASSIGNMENTS]
    if unknown:
        sys.exit(f"error: unknown assignment(s) {', '.join(unknown)}; choose from {', '.join(ASSIGNMENTS)}")
    paths = release(_course(args), args.assignments or tuple(ASSIGNMENTS))
    print(f"released {len(paths)} notebook(s) into {_course(args) / 'release'}")
    if args.sync_book:
        for path in sync_book(_course(args)):
            print(f"  book copy: {path}")


def cmd_collect(args) -> None:
    got = collect(Path(args.source), _course(args), args.assignment)
    students = {s for s, _, _ in got}
    print(f"collected {len(got)} notebook(s) from {len(students)} student(s) into {_course(args) / 'submitted'}")


def _require_release(course: Path) -> None:
    if not (course / "gradebook.db").exists():
        sys.exit(f"{course} has no released assignments yet: run `dropout-grader release --course {course}` first")


def cmd_grade(args) -> None:
    course = _course(args)
    _require_release(course)
    counts = grade_all(course, _gradebook(args), jobs=args.jobs, timeout=args.timeout, force=args.force,
                       scheduler=getattr(args, "scheduler", None), isolate=not args.no_sandbox)
    print(f"graded {counts['graded']} submission(s); {counts['unchanged']} unchanged since last time were kept")


def cmd_feedback(args) -> None:
    out = Path(args.out or _course(args) / "feedback_html")
    pages = feedback(_gradebook(args).rows(), _course(args), out)
    print(f"wrote {len(pages)} feedback page(s) to {out}")


def cmd_export(args) -> None:
    rows = _gradebook(args).rows()
    if not rows:
        sys.exit("the gradebook is empty: run `dropout-grader grade` first")
    paths = export(rows, Path(args.out or _course(args) / "export"))
    for kind, path in paths.items():
        print(f"{kind:>5}: {path}")
    if args.show:
        import csv
        with paths["csv"].open() as fh:
            totals = {r["student"]: (r["student_total"], r["student_max"]) for r in csv.DictReader(fh)}
        width = max(len(s) for s in totals)
        for student, (total, maximum) in totals.items():
            print(f"  {student:<{width}}  {float(total):5.1f} / {float(maximum):g}")


def cmd_sample(args) -> None:
    """Release, collect the shipped sample class, grade, feedback, export: the whole term in one go."""
    course = _course(args)
    release(course)
    collect(SAMPLE_CLASS, course)
    cmd_grade(args)
    cmd_feedback(argparse.Namespace(**{**vars(args), "out": None}))
    cmd_export(argparse.Namespace(**{**vars(args), "out": None, "show": True}))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dropout-grader", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--course", default="course", help="the instructor's course folder (default: ./course)")
    common.add_argument("--db", help="gradebook URL, e.g. postgresql://user@host/db (default: SQLite in the course folder)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", parents=[common], help="generate student notebooks from the solutions",
                       description="Build nbgrader source notebooks from solutions/exercises and generate the student versions.")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                   help=f"which ones (default: all of {', '.join(ASSIGNMENTS)})")
    p.add_argument("--sync-book", action="store_true", help="also copy the student notebooks into chapters/*/exercise.ipynb")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("collect", parents=[common], help="bring in a folder or .zip of submissions",
                       description="Copy submissions into the course folder; the originals are never changed. "
                                   "One folder or <student>_*.ipynb file per student; the assignment comes from a "
                                   "'chNN' in the notebook's name or from --assignment.")
    p.add_argument("source", help="folder or .zip exported by your LMS")
    p.add_argument("--assignment", choices=list(ASSIGNMENTS), help="assignment for notebooks whose name does not say")
    p.set_defaults(func=cmd_collect)

    p = sub.add_parser("grade", parents=[common], help="autograde every new or changed submission in parallel",
                       description="Each submission runs in a fresh kernel inside a bubblewrap sandbox (read-only "
                                   "file system, course folder hidden, memory/process/time limits), in batches of "
                                   "one assignment. Unchanged submissions are not graded again, so an interrupted "
                                   "run can simply be restarted.")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel graders (default: number of cores)")
    p.add_argument("--timeout", type=float, default=600, help="seconds allowed per submission (cells: 60 s each)")
    p.add_argument("--force", action="store_true", help="grade everything again, changed or not")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="grade on a Dask distributed cluster (e.g. tcp://10.0.0.5:8786); its workers must see "
                        "the course folder at the same path")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run kernels without bubblewrap (only for submissions you trust, or where bwrap cannot run)")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("feedback", parents=[common], help="write an HTML feedback page per student",
                       description="Per student: points per function, what failed in words, and the graded notebook.")
    p.add_argument("--out", help="folder for the pages (default: COURSE/feedback_html)")
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("export", parents=[common], help="write grades.csv, grades.json and a score plot",
                       description="CSV: one row per student and function, with the reason for every lost point.")
    p.add_argument("--out", help="folder for the files (default: COURSE/export)")
    p.add_argument("--show", action="store_true", help="also print each student's total")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("sample", parents=[common], help="grade the shipped sample class end to end",
                       description="release + collect autograder/sample_class + grade + feedback + export.")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel graders")
    p.add_argument("--timeout", type=float, default=600, help="seconds allowed per submission")
    p.add_argument("--force", action="store_true", help="grade everything again")
    p.add_argument("--no-sandbox", action="store_true", help="run kernels without bubblewrap")
    p.set_defaults(func=cmd_sample)
    return parser


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (CollectError, SandboxUnavailable) as err:
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    main()
