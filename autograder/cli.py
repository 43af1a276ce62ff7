"""dropout-grader: release, collect, grade, feedback and export for the dropout course.

A typical term, run from the repository root (the course folder defaults to ./course):

    dropout-grader release                       # student notebooks into course/release/
    dropout-grader collect exports/ch02.zip      # a folder or LMS .zip of submissions
    dropout-grader grade --jobs 2                # parallel, resumable; progress bar
    dropout-grader manual                        # written answers: course/manual/ pages + sheets to fill
    dropout-grader manual --import course/manual/ch02_q_dropout_variance.csv
    dropout-grader report --roster class.csv     # course/report/<assignment>.html, for the instructor
    dropout-grader similarity --assignment ch02  # course/similarity/ch02.html, .csv: closest pairs of own code
    dropout-grader feedback                      # course/feedback_html/<student>.html
    dropout-grader handback                      # course/handback/<assignment>_<lms>.zip: pages to return via the LMS
    dropout-grader export                        # course/export/grades.csv, .json, .png
    dropout-grader export --roster class.csv     # ... and course/export/lms/: Canvas, Moodle, Gradescope imports
    dropout-grader override ann ch02 inverted_dropout_forward 3 --reason "regrade request"  # audit-logged
    dropout-grader deadlines                     # check course/course.toml; who was late, by how much
    dropout-grader desk                          # the instructor's web app at http://127.0.0.1:8870/?token=...
    dropout-grader check my/exercise.ipynb       # one notebook, graded here (for self-learners)
"""
from __future__ import annotations

import argparse
import os
import sys
import textwrap
from types import SimpleNamespace
from pathlib import Path

# Only light modules at the top: `--help` and argument errors must answer in well under a second.
# Each verb imports its own modules (nbformat, nbgrader, SQLAlchemy, NumPy, ...) inside its handler;
# tests/test_cli_startup.py fails if a heavy module is imported while the parser is built.
from autograder.course.layout import ASSIGNMENTS, Course, SAMPLE_CLASS

# Errors that are a message for the user, not a bug: (module, class). A handler that raised one
# has imported its module, so `main` looks the class up in sys.modules instead of importing it.
USER_ERRORS = (("collect", "CollectError"), ("grade.sandbox", "SandboxUnavailable"))
# The default of `similarity --min-match`; the same as similarity.MIN_MATCH, kept here so that building
# the parser does not import NumPy and nbformat (a test holds the two equal).
SIMILARITY_MIN_MATCH = 15


def _course(args) -> Path:
    return Path(args.course).resolve()


def _one_assignment(args, what: str) -> str | None:
    """The one assignment a verb that takes one was given (None: not given)."""
    chosen = list(dict.fromkeys(args.assignments or []))
    if len(chosen) > 1:
        sys.exit(f"error: --assignment: give one ({what}), not {', '.join(chosen)}")
    return chosen[0] if chosen else None


def _gradebook(args) -> Gradebook:
    from autograder.course.gradebook import Gradebook, default_url

    return Gradebook(args.db or default_url(_course(args)))


def cmd_release(args) -> None:
    from autograder.release.notebooks import release, sync_book

    unknown = [a for a in args.named if a not in ASSIGNMENTS]
    if unknown:
        sys.exit(f"error: unknown assignment(s) {', '.join(unknown)}; choose from {', '.join(ASSIGNMENTS)}")
    chosen = list(dict.fromkeys([*args.named, *(args.assignments or [])]))
    paths = release(_course(args), chosen or tuple(ASSIGNMENTS))
    print(f"released {len(paths)} notebook(s) into {_course(args) / 'release'}")
    if args.sync_book:
        for path in sync_book(_course(args), chosen):
            print(f"  book copy: {path}")


def cmd_collect(args) -> None:
    from autograder.collect import collect

    course = _course(args)
    got = collect(Path(args.source), course, _one_assignment(args, "the assignment this export is for"), roster=args.roster, latest=args.latest,
                  timestamps=getattr(args, "timestamps", None), picks=getattr(args, "pick", None) or (),
                  allow_unmatched=getattr(args, "allow_unmatched", False), dry_run=getattr(args, "dry_run", False),
                  gradebook=getattr(args, "db", None))
    if got.dry_run:
        print(f"plan (dry run: nothing is copied into {course / 'submitted'}):")
        for line in got.planned:
            print(f"  {line}")
    for line in got.report():
        print(line)
    if not got.dry_run:
        copied = got.copied  # those already there are counted in the "were already in the course" line
        _print_time_sources(course, copied)
        students = {s for s, _, _ in copied}
        print(f"collected {len(copied)} notebook(s) from {len(students)} student(s) into {course / 'submitted'}")
        if args.roster:  # the one class list every later verb names students from
            from autograder.collect.course_roster import record
            print(f"class list kept as {record(course, Path(args.roster))}: feedback, report, manual, similarity, "
                  "export and handback name students from it")
    if got.needs_attention:
        # Non-zero, so a script running collect stops here: something handed in is not in the course.
        sys.exit("not everything was collected:\n  - " + "\n  - ".join(got.summary()))


def _require_release(course: Path) -> None:
    if not Course(course).nbgrader_db.exists():
        sys.exit(f"{course} has no released assignments yet: run `dropout-grader release --course {course}` first")


def cmd_grade(args) -> None:
    from autograder.grade.pipeline import grade_all

    course = _course(args)
    _require_release(course)
    counts = grade_all(course, _gradebook(args), jobs=args.jobs, timeout=args.timeout, force=args.force,
                       scheduler=getattr(args, "scheduler", None), isolate=not args.no_sandbox,
                       cell_timeout=getattr(args, "cell_timeout", 60), security=_security(args))
    print(f"graded {counts['graded']} submission(s); {counts['unchanged']} unchanged since last time were kept")
    not_graded = counts.get("not_graded", [])
    # Each of these is recorded with its reason (zero points); the rest of the class is graded as usual.
    stopped = counts.get("stopped", [])
    if stopped:
        print(f"{len(stopped)} submission(s) stopped their grading worker and got 0 points with the reason "
              "(`grade --force` grades them again):")
        for student, assignment, reason in stopped:
            print(f"  {student}/{assignment}: {reason}")
    if not_graded:
        # No kernel came up: the set-up's fault, never the student's; nothing recorded, so the next run retries.
        reasons = sorted({reason for _, _, reason in not_graded})
        print(f"{len(not_graded)} submission(s) were NOT graded: the grader could not start a kernel for them, so "
              "nothing was recorded (their earlier grades, if any, stand). Fix the cause and run `grade` again:",
              file=sys.stderr)
        for reason in reasons[:5]:
            print(f"  {reason}", file=sys.stderr)
        print("  students: " + ", ".join(f"{s}/{a}" for s, a, _ in not_graded[:20])
              + (f" and {len(not_graded) - 20} more" if len(not_graded) > 20 else ""), file=sys.stderr)
        sys.exit(1)


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
    from autograder.feedback.pages import feedback

    show_hidden = getattr(args, "show_hidden", False)
    out = Path(args.out or _course(args) / ("feedback_instructor" if show_hidden else "feedback_html"))
    pages = feedback(_late_rows(args, _gradebook(args).rows()), _course(args), out, show_hidden=show_hidden)
    print(f"wrote {len(pages)} feedback page(s) to {out}")


def cmd_handback(args) -> None:
    from autograder.collect.course_roster import load
    from autograder.export.export_all import pending_summary
    from autograder.feedback.handback import HandbackError, handback

    course = _course(args)
    rows = [r for r in _late_rows(args, _graded_gradebook(args).rows())
            if not args.assignments or r["assignment"] in args.assignments]
    if not rows:
        sys.exit("nothing graded yet: run `dropout-grader grade` first")
    pending = pending_summary(rows)
    if pending:
        print(f"WARNING: {pending}; the pages say 'pending' for those", file=sys.stderr)
    out = Path(args.out or course / "handback")
    try:
        bundles = handback(rows, course, out, args.lms, load(course, Path(args.roster) if args.roster else None))
    except HandbackError as err:
        sys.exit(f"error: {err}")
    for bundle in bundles:
        print(f"{bundle.assignment} ({bundle.lms}): {bundle.path}, {len(bundle.folders)} student(s)")
        for student, why in bundle.left_out:
            print(f"  left out {student}: {why}")
    if any(b.left_out for b in bundles):
        sys.exit("some students are not in their bundle (see 'left out' above)")


def cmd_export(args) -> None:
    rows = _gradebook(args).rows()
    if not rows:
        sys.exit("the gradebook is empty: run `dropout-grader grade` first")
    paths = _export_all(args, rows)
    for kind, path in paths.items():
        print(f"{kind:>5}: {path}")
    if args.show:
        import csv
        with paths["csv"].open() as fh:
            totals = {r["student"]: (r["student_total"], r["student_max"]) for r in csv.DictReader(fh)
                      if r["student_total"]}  # not the lines that speak for a whole assignment
        width = max(len(s) for s in totals)
        print(f"each student's total ({paths['csv'].name}'s student_total / student_max):")
        for student, (total, maximum) in totals.items():
            print(f"  {student:<{width}}  {float(total):5.1f} / {float(maximum):g}")


def _print_time_sources(course: Path, copied) -> None:
    """How the submission times of the notebooks this collect copied are known: late penalties trust some sources
    more than others. Those found already in the course were counted when they came."""
    from collections import Counter
    from autograder.course.submission_info import read

    sources = Counter((read(course, s, a) or SimpleNamespace(source=None)).source or "unknown" for s, a, _ in copied)
    if sources:
        print("submission times from: " + ", ".join(f"{n} {source}" for source, n in sorted(sources.items())))


def _late_rows(args, rows: list[dict]) -> list[dict]:
    """The gradebook rows with late penalties from the course file (none without one)."""
    from autograder.export.export_all import load_policy, penalised
    from autograder.course.deadlines import CourseFileError

    try:
        policy = load_policy(_course(args), getattr(args, "course_file", None))
    except CourseFileError as err:
        sys.exit(f"error: {err}")
    return penalised(rows, _course(args), policy)


def _export_all(args, rows: list[dict]) -> dict:
    from autograder.collect import CollectError
    from autograder.export.export_all import PendingAnswers, export_all
    from autograder.course.deadlines import CourseFileError

    roster, assignments = getattr(args, "roster", None), getattr(args, "assignments", None) or ()
    if assignments and not roster and not Course(_course(args)).roster.is_file():
        print("note: --assignments adds 'no submission' rows only for the students of a roster (--roster, or the "
              "one `collect --roster` kept)")
    try:
        paths, warnings = export_all(rows, _course(args), Path(args.out or _course(args) / "export"),
                                     course_file=getattr(args, "course_file", None), roster=roster,
                                     assignments=assignments, allow_pending=getattr(args, "allow_pending", False),
                                     moodle_scale=getattr(args, "moodle_scale", None))
    except (CourseFileError, CollectError, PendingAnswers) as err:
        sys.exit(f"error: {err}")
    for line in warnings:  # a WARNING (pending written answers) goes to stderr too, where a script sees it
        print(line if line.startswith("WARNING") else f"note: {line}", file=sys.stderr if line.startswith("WARNING")
              else sys.stdout)
    return paths


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def cmd_deadlines(args) -> None:
    from autograder.course.deadlines import CourseFileError, load_course_file, penalty, show_time
    from autograder.course.submission_info import read

    course = _course(args)
    path = Path(args.course_file) if args.course_file else Course(course).course_file
    if not path.exists():
        sys.exit(f"error: no course file {path}; `dropout-grader deadlines --help` shows what to write in it")
    try:
        policy = load_course_file(path)
    except CourseFileError as err:
        sys.exit(f"error: {err}")
    late = policy.late
    print(f"{path}: valid")
    for assignment, due in sorted(policy.due.items()):
        print(f"  {assignment} due {show_time(due)}")
    if late.per_day:
        print(f"  late: -{late.per_day:.0%} per started day after {late.grace_minutes:g} minute(s) of grace, "
              f"{'at most' if late.after_max == 'cap' else 'no points past'} {late.max:.0%}"
              f"{'; file times trusted' if late.trust_file_times else ''}")
    else:
        print("  late: no penalty (the course file sets no [late] per_day); lateness is still shown"
              f"{'; file times trusted' if late.trust_file_times else ''}")
    students = set()
    counts = {"on time": 0, "late": 0, "unknown time": 0}
    within_grace = 0
    for student, assignment, _ in Course(course).submissions():
        students.add(student)
        if assignment not in policy.due:
            continue
        info = read(course, student, assignment)
        found = penalty(policy, student, assignment, info.submitted_at if info else None, info.source if info else None)
        if found.flag:
            counts["unknown time"] += 1
            print(f"  {student}/{assignment}: {found.flag}")
            continue
        counts["late" if found.late else "on time"] += 1
        within_grace += bool(found.reason and not found.late)
        if found.reason:
            print(f"  {student}/{assignment}: {found.reason}")
    shown = [f"{n} {kind}" + (f" ({within_grace} within the grace period)" if kind == "on time" and within_grace else "")
             for kind, n in counts.items()]
    print("submissions with a due date: " + ", ".join(shown))
    strangers = sorted({s for s, _ in policy.extensions} - students)
    if strangers:
        print(f"note: extensions name students with no submission in {course / 'submitted'}: {', '.join(strangers)}")


def cmd_check(args) -> None:
    from autograder.grade.check import CheckError, check, report

    try:
        result = check(Path(args.notebook), _one_assignment(args, "which exercise"), isolate=not args.no_sandbox)
    except CheckError as err:
        sys.exit(f"error: {err}")
    if result.get("not_graded"):
        sys.exit(f"error: {result['not_graded']}: this says nothing about your notebook; see that the set-up works "
                 "(`python3 run.py setup`), or try --no-sandbox where bubblewrap cannot run")
    print(report(result))


def cmd_similarity(args) -> None:
    from autograder.similarity.compare import SimilarityError, compare
    from autograder.similarity.report_pages import write
    from autograder.collect.course_roster import course_names

    course = _course(args)
    known = course_names(course)
    handed_in = sorted({a for _, a, _ in Course(course).submissions()}, key=list(ASSIGNMENTS).index)
    assignments = args.assignments or [a for a in handed_in if a in ASSIGNMENTS]
    if not assignments:
        sys.exit(f"error: no submissions in {course / 'submitted'}: run `dropout-grader collect` first")
    if args.top < 0:
        sys.exit(f"error: --top is a number of pairs to show, not {args.top}")
    out = Path(args.out or course / "similarity")
    for assignment in assignments:
        try:
            comparison = compare(course, assignment, min_match=args.min_match)
        except SimilarityError as err:
            sys.exit(f"error: {err}")
        paths = write(comparison, out, top=args.top, names=known)
        best = comparison.pairs[0] if comparison.pairs else None
        closest = f"; closest: {best.a.student} and {best.b.student} ({best.score:.0%})" if best else ""
        print(f"{assignment}: {len(comparison.pairs)} pair(s) compared{closest}")
        print(f"  html: {paths['html']}\n   csv: {paths['csv']}")


def _graded_gradebook(args) -> Gradebook:
    """The gradebook, without creating an empty one where nothing was graded (a mistyped --course)."""
    course = _course(args)
    if not args.db and not Course(course).results_db.exists():
        sys.exit(f"error: {course} has no gradebook ({Course(course).results_db}): run "
                 f"`dropout-grader grade --course {course}` first, or give --db")
    return _gradebook(args)


def cmd_manual(args) -> None:
    from autograder.manual.sheets import ManualError, import_sheets, write_sheets

    try:
        if args.import_sheets:
            done = import_sheets(args.import_sheets, _graded_gradebook(args))
            print(f"recorded {done['graded']} written grade(s) for {done['students']} submission(s); "
                  f"{done['pending']} written answer(s) still pending")
            return
        out = Path(args.out or _course(args) / "manual")
        pages = write_sheets(_graded_gradebook(args).rows(), _course(args), out, args.assignments)
    except ManualError as err:
        sys.exit(f"error: {err}")
    if not pages:
        sys.exit("no written answers in the gradebook yet: run `dropout-grader grade` first")
    print(f"wrote {len(pages)} page(s) and sheet(s), one per written question, to {out} (start at {out / 'index.html'})")


def cmd_report(args) -> None:
    from autograder.report.class_report import write_reports
    from autograder.collect.course_roster import load, names

    entries = load(_course(args), Path(args.roster) if args.roster else None)  # given, else the course's
    roster = [entry.id for entry in entries] if entries is not None else None
    from autograder.export.export_all import load_policy
    from autograder.course.deadlines import CourseFileError

    rows = _graded_gradebook(args).rows()
    if not rows and not any(Course(_course(args)).submissions()):
        sys.exit("nothing graded or collected yet: run `dropout-grader collect` and `dropout-grader grade` first")
    try:  # the late policy, as export applies it, so the report's scores are the exported ones
        policy = load_policy(_course(args), getattr(args, "course_file", None))
    except CourseFileError as err:
        sys.exit(f"error: {err}")
    out = Path(args.out or _course(args) / "report")
    pages = write_reports(_late_rows(args, rows), _course(args), out, roster=roster, assignments=args.assignments,
                          policy=policy, names=names(entries))
    print(f"wrote {len(pages)} report page(s) to {out} (start at {out / 'index.html'})")


def cmd_override(args) -> None:
    from autograder.grade.overrides import OverrideError, change, describe, import_sheets, listing, write_sheet

    book = _graded_gradebook(args)
    if args.sheet:
        from autograder.collect.course_roster import course_names

        count = write_sheet(book, Path(args.sheet), args.assignments, course_names(_course(args)))
        print(f"wrote {args.sheet}: {count} line(s), one per graded function; fill in points and reason where "
              f"you change something, then `dropout-grader override --import {args.sheet}`")
        return
    try:
        if args.list or args.log:
            lines = listing(book, args.assignments) if args.list else [describe(e) for e in book.override_log()]
            print("\n".join(lines) if lines else "no overrides")
            return
        if args.import_sheets:
            events = import_sheets(args.import_sheets, book, args.by or "")
            print(f"recorded {len(events)} override(s) from {len(args.import_sheets)} sheet(s)")
            return
        wanted = 3 if args.remove else 4
        if len(args.target) != wanted or not args.reason:
            sys.exit("error: give " + ("STUDENT ASSIGNMENT FUNCTION --remove --reason TEXT" if args.remove else
                                       "STUDENT ASSIGNMENT FUNCTION POINTS --reason TEXT")
                     + ", or --import SHEET, --list or --log (see `dropout-grader override --help`)")
        student, assignment, function = args.target[:3]
        event = change(book, student, assignment, function, None if args.remove else args.target[3], args.reason,
                       args.by or "")
    except OverrideError as err:
        sys.exit(f"error: {err}")
    print(describe(event))


def cmd_desk(args) -> None:
    from autograder.desk.app import Desk, serve
    from autograder.grade.overrides import who

    desk = Desk(_course(args), _graded_gradebook(args), args.by or who(), getattr(args, "course_file", None),
                isolate=not args.no_sandbox, roster=Path(args.roster) if args.roster else None)
    if args.roster:  # a list asked for by name is checked now; the course's own may be fixed while the desk runs
        from autograder.collect.course_roster import course_names
        from autograder.collect.errors import CollectError

        try:
            course_names(desk.course, desk.roster)
        except CollectError as err:
            sys.exit(f"error: {err}")
    if args.ip not in ("127.0.0.1", "localhost", "::1"):
        print(f"WARNING: the desk listens on {args.ip}: anyone who can reach it and has the token can change grades")
    try:
        serve(desk, args.ip, args.port, os.environ.get("DESK_TOKEN") or None,
              ready=lambda line: print(f"{line}\n(open it in your browser; Ctrl-C stops the desk)", flush=True))
    except KeyboardInterrupt:
        print("\nthe desk stopped; every mark and override was saved when it was made")
    except OSError as err:
        sys.exit(f"error: the desk cannot listen on {args.ip}:{args.port}: {err}")


def cmd_sample(args) -> None:
    """Release, collect the shipped sample class, grade, feedback, export: the whole term in one go."""
    from autograder.collect import collect
    from autograder.release.notebooks import release

    course = _course(args)
    release(course)
    collect(SAMPLE_CLASS, course)
    cmd_grade(args)
    cmd_feedback(argparse.Namespace(**{**vars(args), "out": None}))
    cmd_export(argparse.Namespace(**{**vars(args), "out": None, "show": True, "allow_pending": True}))


def _choose(meaning: str) -> argparse.ArgumentParser:
    """The one way to choose assignments: `--assignment A` (repeatable) or `--assignments A B ...`, into
    args.assignments; a verb that takes one says so in its handler (_one_assignment). ``meaning``: what
    the choice does for this verb."""
    choose = argparse.ArgumentParser(add_help=False)
    choose.add_argument("--assignment", "--assignments", dest="assignments", action="extend", nargs="+",
                        choices=list(ASSIGNMENTS), metavar="ASSIGNMENT", help=meaning)
    return choose


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dropout-grader", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    # Options shared by several verbs, declared once (parent parsers).
    folder = argparse.ArgumentParser(add_help=False)
    folder.add_argument("--course", default="course", help="the instructor's course folder (default: ./course)")
    common = argparse.ArgumentParser(add_help=False, parents=[folder])
    common.add_argument("--db", help="gradebook URL, e.g. postgresql://user@host/db (default: SQLite in the course folder)")
    course_file = argparse.ArgumentParser(add_help=False)
    course_file.add_argument("--course-file", metavar="TOML",
                             help="due dates and late policy (default: COURSE/course.toml if it exists); "
                                  "see `dropout-grader deadlines --help`")
    grading = argparse.ArgumentParser(add_help=False)
    grading.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                         help="parallel graders (default: number of cores); each uses its share of the cores in "
                              "OpenMP/BLAS threads unless OMP_NUM_THREADS is set")
    grading.add_argument("--timeout", type=float, default=600, help="seconds allowed per submission (default: 600)")
    grading.add_argument("--cell-timeout", type=int, default=60, help="seconds allowed per cell (default: 60)")
    grading.add_argument("--force", action="store_true", help="grade everything again, changed or not")
    grading.add_argument("--no-sandbox", action="store_true",
                         help="run kernels without bubblewrap (only for submissions you trust, or where bwrap "
                              "cannot run)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", parents=[common, _choose("the same as naming them (the two add up)")],
                       help="generate student notebooks from the solutions",
                       description="Build nbgrader source notebooks from solutions/exercises and generate the student versions.")
    p.add_argument("named", nargs="*", metavar="ASSIGNMENT",
                   help=f"which ones, as with --assignment (default: all of {', '.join(ASSIGNMENTS)})")
    p.add_argument("--sync-book", action="store_true", help="also copy the student notebooks into chapters/*/exercise.ipynb")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("collect",
                       parents=[common, _choose("the assignment this export is for: file every notebook under it")],
                       help="bring in a folder or .zip of submissions",
                       description="Copy submissions into the course folder; the originals are never changed. "
                                   "Reads Canvas, Moodle, Blackboard and Gradescope exports, or one folder or "
                                   "<student>_*.ipynb file per student. Who handed a file in and when come only "
                                   "from the prefix the LMS wrote (or Gradescope's metadata), never from the "
                                   "student's own file name after it. The assignment comes from --assignment, "
                                   "else the notebook's graded cells, else a whole word like 'ch02' in its name. "
                                   "A problem of one student (two different notebooks, a resubmission not known to "
                                   "be newer, an ambiguous roster match, a notebook of another assignment's "
                                   "export) holds that student's files and says what to do; the rest is "
                                   "collected. A replaced notebook is kept in COURSE/collect_backup/. Exits with 1 "
                                   "when "
                                   "anything was held, unmatched, unidentified or refused. Symbolic links are "
                                   "refused.")
    p.add_argument("source", help="folder or .zip exported by your LMS")
    p.add_argument("--roster", metavar="CSV",
                   help="class list with columns id,name,email and optionally canvas_id, moodle_id, "
                        "blackboard_login, gradescope_sid: students are matched by those LMS ids first, then "
                        "email, then name (never guessed when ambiguous), filed under the roster's ids, and those "
                        "with no submission are listed; kept as COURSE/roster.csv, from which later verbs take "
                        "students' names")
    p.add_argument("--allow-unmatched", action="store_true",
                   help="with --roster: file people the roster does not list under their LMS name (otherwise "
                        "their files are listed, not collected, and collect exits with 1)")
    p.add_argument("--pick", action="append", metavar="FILE",
                   help="take FILE (its name as listed under 'held') as its student's submission, over their "
                        "other files and over the one collected before; repeat for more")
    p.add_argument("--latest", action="store_true",
                   help="when a student handed in several different notebooks for one assignment, keep the "
                        "newest by the LMS's own order (Canvas attachment id, Blackboard attempt, Gradescope "
                        "time; a hand-made folder's file time); where there is no such order they stay held")
    p.add_argument("--dry-run", action="store_true",
                   help="print the plan (who, which assignment, which file, which time and from where) and copy "
                        "nothing")
    p.add_argument("--timestamps", metavar="CSV",
                   help="submission times to record, a CSV with columns student,assignment,submitted_at "
                        "(ISO 8601 with timezone, e.g. 2026-10-05T23:59:00+02:00; students named as their "
                        "folders in COURSE/submitted); they replace the export's own times, for late penalties. "
                        "Blackboard's attempt times are read in the time zone of COURSE/course.toml's "
                        "[lms] timezone")
    p.set_defaults(func=cmd_collect)

    p = sub.add_parser("grade", parents=[common, grading],
                       help="autograde every new or changed submission in parallel",
                       description="Each submission runs in a fresh kernel inside a bubblewrap sandbox (no "
                                   "network, read-only file system, course and solutions hidden, an unprivileged "
                                   "user, memory/process/time limits). Points come from a trusted checker that "
                                   "sees only the data the hidden tests collected from the student's functions. "
                                   "Unchanged submissions are not graded again, so an interrupted run can simply "
                                   "be restarted.")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="grade on a Dask distributed cluster over TLS (e.g. tls://10.0.0.5:8786); its workers "
                        "must see the course folder at the same path")
    p.add_argument("--tls-ca-file", metavar="PEM", help="with --scheduler: the CA that signed the cluster's certificates")
    p.add_argument("--tls-cert", metavar="PEM", help="with --scheduler: this client's certificate")
    p.add_argument("--tls-key", metavar="PEM", help="with --scheduler: this client's private key")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("feedback", parents=[common, course_file], help="write an HTML feedback page per student",
                       description="Per student: points per function, what failed in words, and their notebook "
                                   "with the visible tests. Hidden tests are shown only with --show-hidden.")
    p.add_argument("--out", help="folder for the pages (default: COURSE/feedback_html, or "
                                 "COURSE/feedback_instructor with --show-hidden)")
    p.add_argument("--show-hidden", action="store_true",
                   help="instructor view: also show hidden test code and full test tracebacks "
                        "(never send these pages to students)")
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("handback", parents=[common, _choose("only these assignments (default: all graded)"), course_file],
                       help="zip the feedback pages per assignment, in the form the LMS takes back",
                       description="Per assignment, COURSE/handback/<assignment>_<lms>.zip with each student's "
                                   "feedback page and graded notebook page (the student view) in a folder per "
                                   "student. moodle: folders named as Moodle's download names them "
                                   "(Full Name_<participant>_assignsubmission_file_), for 'Upload multiple "
                                   "feedback files in a zip'; canvas, gradescope, blackboard (which take no such "
                                   "zip): 'Name (LMS id)' folders to attach by hand and comments.csv; folders: "
                                   "'Name (id)'. auto: the LMS collect recorded for the assignment. Who is who "
                                   "comes from collect's records and the roster, never from a student's file name. "
                                   "Exits with 1 when a student could not be put in a bundle (e.g. no Moodle "
                                   "participant number).")
    p.add_argument("--lms", default="auto", choices=["auto", "moodle", "canvas", "gradescope", "blackboard", "folders"],
                   help="the bundle's form (default: auto, from what collect recorded)")
    p.add_argument("--roster", metavar="CSV",
                   help="class list (default: COURSE/roster.csv, kept by `collect --roster`): names, and LMS ids "
                        "such as moodle_id where collect recorded none")
    p.add_argument("--out", help="folder for the zips (default: COURSE/handback)")
    p.set_defaults(func=cmd_handback)

    p = sub.add_parser("export",
                       parents=[common, _choose("with --roster: also these assignments, even if nobody handed them in"), course_file],
                       help="write grades.csv, grades.json, a score plot and LMS imports",
                       description="CSV: one row per student and function, with the reason for every lost point "
                                   "(and every override, with its reason), a late_penalty row where the course "
                                   "file's late policy took points, and a flag every submission of an assignment "
                                   "shares said once, on a line of its own. Refuses while written answers are "
                                   "pending, unless --allow-pending. "
                                   "Also OUT/lms/: canvas_gradebook.csv (Canvas's gradebook import), "
                                   "moodle_<assignment>.csv (Moodle's offline grading worksheet) and "
                                   "gradescope_<assignment>.csv (Gradescope's scores layout).")
    p.add_argument("--out", help="folder for the files (default: COURSE/export)")
    p.add_argument("--show", action="store_true", help="also print each student's total")
    p.add_argument("--roster", metavar="CSV",
                   help="class list with columns id,name,email (as for collect; default: COURSE/roster.csv, "
                        "kept by `collect --roster`): fills names, ids and emails in grades.csv and the LMS "
                        "files, and gives each roster student 0 points, 'no submission', for each assignment "
                        "they handed nothing in for")
    p.add_argument("--allow-pending", action="store_true",
                   help="export even though written answers are still pending (a WARNING says how many; without "
                        "this, export refuses and writes nothing)")
    p.add_argument("--moodle-scale", type=_positive, metavar="MAX",
                   help="scale the Moodle worksheets' grades to this maximum grade (Moodle reads a grade on the "
                        "assignment's own scale, 100 by default); per assignment: [moodle] max = { ch02 = 100 } "
                        "in the course file. Unscaled worksheets are raw points, with a warning")
    p.set_defaults(func=cmd_export)

    from autograder.course.deadlines import __doc__ as course_file_doc
    p = sub.add_parser("deadlines", parents=[common], help="check the course file and show who was late",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description=textwrap.fill(
                           "Check the course file (due dates, extensions, late policy), naming the key and line "
                           "of every problem, then list each collected submission that is late or whose time is "
                           "unknown.", 90) + "\n\n" + (course_file_doc or "\n\n").split("\n", 2)[2])
    p.add_argument("--course-file", metavar="TOML", help="the course file (default: COURSE/course.toml)")
    p.set_defaults(func=cmd_deadlines)

    p = sub.add_parser("manual",
                       parents=[common, _choose("only these assignments (default: all with written answers)")],
                       help="grade written answers: pages to read, sheets to fill, import",
                       description="Without --import: for each assignment and written question, write into "
                                   "COURSE/manual/ a page with the question, the model answer and every "
                                   "student's answer side by side, and a CSV sheet (student, assignment, "
                                   "question, max_points, points, comment, answer_digest, row_key) to fill in; "
                                   "grades already given are filled in, and a sheet with grades not imported yet is "
                                   "never overwritten. A sheet saved again by a spreadsheet imports: lines are "
                                   "matched by row_key, not by a name the spreadsheet may have turned into a "
                                   "number or a date. With --import: check every line of the sheets (known "
                                   "student and question, points a number from 0 to the maximum, no line twice, "
                                   "the answer unchanged since the sheet was written) and record them all in one "
                                   "transaction, or, if any line is wrong, record nothing and name each bad line. "
                                   "Leave points empty to skip an answer. A regrade keeps these grades for "
                                   "answers whose text did not change; a changed answer goes back to pending.")
    p.add_argument("--import", dest="import_sheets", nargs="+", metavar="CSV",
                   help="filled-in sheet(s) to record in the gradebook")
    p.add_argument("--out", help="folder for the pages and sheets (default: COURSE/manual)")
    p.set_defaults(func=cmd_manual)

    p = sub.add_parser("report",
                       parents=[common, _choose("only these assignments (default: every assignment graded or collected)"), course_file],
                       help="write a class report page per assignment",
                       description="One HTML page per assignment in COURSE/report/: score distribution (after "
                                   "late penalties and overrides, as exported; before penalties too), late "
                                   "students with their penalty, mean "
                                   "share of points per function, the most common reasons for lost points "
                                   "grouped across students, missing and zero submissions and why, grading time "
                                   "per notebook, written answers still pending and screening flags to review.")
    p.add_argument("--roster", metavar="CSV",
                   help="class list with columns id,name,email (as for collect; default: COURSE/roster.csv, "
                        "kept by `collect --roster`): students are named from it and those with no submission "
                        "are listed")
    p.add_argument("--out", help="folder for the pages (default: COURSE/report)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("override", parents=[common, _choose("with --list: only these assignments")],
                       help="change a graded function's points for one submission",
                       description=textwrap.fill("Set the points of one graded function of one submission (a regrade request, "
                                   "a zero for copying), with a required reason the student reads on the feedback "
                                   "page. The score used everywhere (export, LMS files, feedback, report) is the "
                                   "autograded one with the overrides applied. Every change is appended to an "
                                   "audit log in the gradebook (who, when, points before and after, reason); "
                                   "--log prints it. An override stays applied across regrades while the "
                                   "function's verdict reads the same (points, maximum, and reason with numbers "
                                   "left out); when a regrade changes the verdict it is no longer applied and the "
                                   "submission is flagged for review (--list shows it): set it again or remove "
                                   "it. --import checks every line of the sheet(s) (columns student, assignment, "
                                   "function, points, reason, and optionally by and row_key) and records all of "
                                   "them in one transaction, or, if any line is wrong, nothing, naming each bad "
                                   "line. --sheet writes a sheet of every graded function with a row_key per "
                                   "line, which a line is matched by (as the manual sheets' are: a spreadsheet "
                                   "may turn a student id like 0042 into 42); lines left without points and "
                                   "reason are skipped.", 90),
                       epilog="examples:\n  dropout-grader override ann ch02 inverted_dropout_forward 3 --reason "
                              "\"regrade: the mask test was too strict\"\n"
                              "  dropout-grader override bob ch02 inverted_dropout_forward 0 --reason \"copied\"\n"
                              "  dropout-grader override ann ch02 inverted_dropout_forward --remove --reason \"set by "
                              "mistake\"\n  dropout-grader override --import overrides.csv\n"
                              "  dropout-grader override --list",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       usage="%(prog)s STUDENT ASSIGNMENT FUNCTION POINTS --reason WHY [--by WHO]\n"
                             "       %(prog)s STUDENT ASSIGNMENT FUNCTION --remove --reason WHY\n"
                             "       %(prog)s --import CSV [CSV ...] | --list | --log | --sheet CSV\n"
                             "       (each with [--course COURSE] [--db DB]; --list and --sheet with [--assignment A ...])")
    p.add_argument("target", nargs="*", metavar="STUDENT ASSIGNMENT FUNCTION [POINTS]",
                   help="the student (as in COURSE/submitted), the assignment, the graded function and the new "
                        "points (0 to the function's maximum); without POINTS with --remove")
    p.add_argument("--reason", help="why (required; shown to the student on the feedback page)")
    p.add_argument("--by", help="who made the change, for the audit log (default: your login name)")
    p.add_argument("--remove", action="store_true", help="remove the override in force: back to the autograded points")
    p.add_argument("--import", dest="import_sheets", nargs="+", metavar="CSV",
                   help="sheet(s) of overrides to record: all, or none if any line is wrong")
    p.add_argument("--list", action="store_true",
                   help="list the overrides in force, marking those a regrade left for review")
    p.add_argument("--log", action="store_true", help="print the whole audit log, oldest first")
    p.add_argument("--sheet", metavar="CSV",
                   help="write a sheet to fill in: one line per graded function of every submission (with "
                        "--assignment: of those), with its row_key; then --import it")
    p.set_defaults(func=cmd_override)

    p = sub.add_parser("check", parents=[_choose("which exercise (default: read from the notebook)")],
                       help="grade one notebook here, with the hidden tests, and print why points were lost",
                       description="For self-learners with the repository: releases the notebook's exercise into "
                                   "a throwaway course, grades the notebook in the sandbox exactly as the "
                                   "instructor's grader does, and prints points and reasons per function.")
    p.add_argument("notebook", help="your exercise notebook, e.g. ch02/exercise.ipynb")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run without bubblewrap (fine for your own notebook on your own machine)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("similarity",
                       parents=[folder, _choose("which assignments (default: every assignment with submissions)")],
                       help="compare every pair of submissions' own code; HTML and CSV report",
                       description="For each pair of students, the share of their own code (answer cells and "
                                   "cells they added; never the given code, the tests or the released stub) that "
                                   "lies in runs of code they share. Names, numbers and strings are replaced by "
                                   "placeholders and comments and layout dropped, so renaming and reformatting "
                                   "do not hide a copy. Writes OUT/<assignment>.html (the closest pairs side by "
                                   "side, matching regions highlighted; offline, no script) and "
                                   "OUT/<assignment>.csv (every pair). A high share is a reason to read two "
                                   "notebooks, not a finding. Submissions are only read.")
    p.add_argument("--out", help="folder for the reports (default: COURSE/similarity)")
    p.add_argument("--top", type=int, default=20, help="pairs shown side by side in the HTML (default: 20)")
    p.add_argument("--min-match", type=int, default=SIMILARITY_MIN_MATCH, metavar="TOKENS",
                   help=f"shortest shared run of normalised tokens that counts "
                        f"(default: {SIMILARITY_MIN_MATCH}, about a "
                        "line of code; lower finds more and noisier matches)")
    p.set_defaults(func=cmd_similarity)

    p = sub.add_parser("desk", parents=[common, course_file], help="the instructor's web app: grade written "
                       "answers, override points, regrade, in a browser",
                       description=textwrap.fill("A local web app over the gradebook: per assignment the class "
                                   "table (points, late, flags, pending written answers, overrides); each "
                                   "student's graded notebook with its reasons; written answers graded question "
                                   "by question with every student's answer side by side and the model answer "
                                   "rendered, saved as you go (the same record as `manual --import`); overrides "
                                   "with a required reason (the same audit log as `override`); and a regrade of "
                                   "one submission. It prints its address with a random token (the environment "
                                   "variable DESK_TOKEN sets one); the browser that opens it gets a cookie. "
                                   "Ctrl-C stops it.", 90),
                       epilog="example:\n  dropout-grader desk --course course\n"
                              "  -> The desk is at http://127.0.0.1:8870/?token=...",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ip", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this computer only)")
    p.add_argument("--port", type=int, default=8870, help="port (default: 8870, or the next free one; 0: any)")
    p.add_argument("--by", help="who makes the overrides, for the audit log (default: your login name)")
    p.add_argument("--no-sandbox", action="store_true",
                   help="regrade without bubblewrap (only for submissions you trust, or where bwrap cannot run)")
    p.add_argument("--roster", metavar="CSV",
                   help="class list with columns id,name,email (as for collect; default: COURSE/roster.csv, "
                        "kept by `collect --roster`): students are shown as \"Name (id)\"; read again on "
                        "every page")
    p.set_defaults(func=cmd_desk)

    p = sub.add_parser("sample", parents=[common, grading], help="grade the shipped sample class end to end",
                       description="release + collect autograder/sample/submissions + grade + feedback + export.")
    p.set_defaults(func=cmd_sample)
    return parser


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except _user_errors() as err:  # evaluated only when something was raised, after the handler's imports
        sys.exit(f"error: {err}")


def _user_errors() -> tuple[type, ...]:
    """The USER_ERRORS classes whose modules the handler loaded (the others cannot have been raised)."""
    modules = ((sys.modules.get(f"{__package__}.{module}"), name) for module, name in USER_ERRORS)
    return tuple(getattr(module, name) for module, name in modules if module is not None)


if __name__ == "__main__":
    main()
