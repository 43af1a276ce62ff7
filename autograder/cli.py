"""dropout-grader: release, collect, grade, feedback and export for the dropout course.

A typical term, run from the repository root (the course folder defaults to ./course):

    dropout-grader release                       # student notebooks into course/release/
    dropout-grader collect exports/ch02.zip      # a folder or LMS .zip of submissions
    dropout-grader grade --jobs 2                # parallel, resumable; progress bar
    dropout-grader feedback                      # course/feedback_html/<student>.html
    dropout-grader export                        # course/export/grades.csv, .json, .png
    dropout-grader check my/exercise.ipynb       # one notebook, graded here (for self-learners)
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
from .layout import Course


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
    got = collect(Path(args.source), _course(args), args.assignment, roster=args.roster, latest=args.latest)
    for line in got.report():
        print(line)
    students = {s for s, _, _ in got}
    print(f"collected {len(got)} notebook(s) from {len(students)} student(s) into {_course(args) / 'submitted'}")


def _require_release(course: Path) -> None:
    if not Course(course).nbgrader_db.exists():
        sys.exit(f"{course} has no released assignments yet: run `dropout-grader release --course {course}` first")


def cmd_grade(args) -> None:
    course = _course(args)
    _require_release(course)
    counts = grade_all(course, _gradebook(args), jobs=args.jobs, timeout=args.timeout, force=args.force,
                       scheduler=getattr(args, "scheduler", None), isolate=not args.no_sandbox,
                       cell_timeout=getattr(args, "cell_timeout", 60), security=_security(args))
    print(f"graded {counts['graded']} submission(s); {counts['unchanged']} unchanged since last time were kept")


def _security(args):
    """TLS for the Dask cluster: the scheduler and workers must present certificates of this CA."""
    if not getattr(args, "scheduler", None):
        return None
    if not (args.tls_ca_file and args.tls_cert and args.tls_key):
        sys.exit("error: --scheduler needs --tls-ca-file, --tls-cert and --tls-key: an unauthenticated cluster "
                 "would run any code sent to it (see the README, 'Grading past one machine')")
    from distributed.security import Security

    return Security(tls_ca_file=args.tls_ca_file, tls_client_cert=args.tls_cert, tls_client_key=args.tls_key,
                    require_encryption=True)


def cmd_feedback(args) -> None:
    show_hidden = getattr(args, "show_hidden", False)
    out = Path(args.out or _course(args) / ("feedback_instructor" if show_hidden else "feedback_html"))
    pages = feedback(_gradebook(args).rows(), _course(args), out, show_hidden=show_hidden)
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


def cmd_check(args) -> None:
    from .check import CheckError, check, report

    try:
        result = check(Path(args.notebook), args.assignment, isolate=not args.no_sandbox)
    except CheckError as err:
        sys.exit(f"error: {err}")
    print(report(result))


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
                                   "Reads Canvas, Moodle, Blackboard and Gradescope exports, or one folder or "
                                   "<student>_*.ipynb file per student. The assignment comes from --assignment, "
                                   "else the notebook's graded cells, else a whole word like 'ch02' in its name. "
                                   "Two different notebooks for one student and assignment stop the collect "
                                   "(nothing is copied) unless --latest is given. Symbolic links are refused.")
    p.add_argument("source", help="folder or .zip exported by your LMS")
    p.add_argument("--assignment", choices=list(ASSIGNMENTS), help="file every notebook under this assignment")
    p.add_argument("--roster", metavar="CSV",
                   help="class list with columns id,name,email: students are filed under its ids, "
                        "and those with no submission are listed")
    p.add_argument("--latest", action="store_true",
                   help="when a student handed in several different notebooks for one assignment, keep the "
                        "newest (LMS time stamp, else file time) instead of stopping")
    p.set_defaults(func=cmd_collect)

    p = sub.add_parser("grade", parents=[common], help="autograde every new or changed submission in parallel",
                       description="Each submission runs in a fresh kernel inside a bubblewrap sandbox (no "
                                   "network, read-only file system, course and solutions hidden, an unprivileged "
                                   "user, memory/process/time limits). Points come from a trusted checker that "
                                   "sees only the data the hidden tests collected from the student's functions. "
                                   "Unchanged submissions are not graded again, so an interrupted run can simply "
                                   "be restarted.")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel graders (default: number of cores)")
    p.add_argument("--timeout", type=float, default=600, help="seconds allowed per submission (default: 600)")
    p.add_argument("--cell-timeout", type=int, default=60, help="seconds allowed per cell (default: 60)")
    p.add_argument("--force", action="store_true", help="grade everything again, changed or not")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="grade on a Dask distributed cluster over TLS (e.g. tls://10.0.0.5:8786); its workers "
                        "must see the course folder at the same path")
    p.add_argument("--tls-ca-file", metavar="PEM", help="with --scheduler: the CA that signed the cluster's certificates")
    p.add_argument("--tls-cert", metavar="PEM", help="with --scheduler: this client's certificate")
    p.add_argument("--tls-key", metavar="PEM", help="with --scheduler: this client's private key")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run kernels without bubblewrap (only for submissions you trust, or where bwrap cannot run)")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("feedback", parents=[common], help="write an HTML feedback page per student",
                       description="Per student: points per function, what failed in words, and their notebook "
                                   "with the visible tests. Hidden tests are shown only with --show-hidden.")
    p.add_argument("--out", help="folder for the pages (default: COURSE/feedback_html, or "
                                 "COURSE/feedback_instructor with --show-hidden)")
    p.add_argument("--show-hidden", action="store_true",
                   help="instructor view: also show hidden test code and full test tracebacks "
                        "(never send these pages to students)")
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("export", parents=[common], help="write grades.csv, grades.json and a score plot",
                       description="CSV: one row per student and function, with the reason for every lost point.")
    p.add_argument("--out", help="folder for the files (default: COURSE/export)")
    p.add_argument("--show", action="store_true", help="also print each student's total")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("check", help="grade one notebook here, with the hidden tests, and print why points were lost",
                       description="For self-learners with the repository: releases the notebook's exercise into "
                                   "a throwaway course, grades the notebook in the sandbox exactly as the "
                                   "instructor's grader does, and prints points and reasons per function.")
    p.add_argument("notebook", help="your exercise notebook, e.g. ch02/exercise.ipynb")
    p.add_argument("--assignment", choices=list(ASSIGNMENTS), help="which exercise (default: read from the notebook)")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run without bubblewrap (fine for your own notebook on your own machine)")
    p.set_defaults(func=cmd_check)

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
