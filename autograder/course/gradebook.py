"""The gradebook of record: one row per graded submission, on SQLite or PostgreSQL (SQLAlchemy URL).

A row is keyed by (student, assignment) and remembers the SHA-256 of the notebook it graded,
which is what makes grading resumable and idempotent: an unchanged submission is never
graded twice, a changed one replaces its row.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import TypedDict

import sqlalchemy as sa

from autograder.course.layout import Course
from autograder.manual.written import carry_over

METADATA = sa.MetaData()
RESULTS = sa.Table(
    "results", METADATA,
    sa.Column("student", sa.String(200), primary_key=True),
    sa.Column("assignment", sa.String(50), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("max_score", sa.Float, nullable=False),
    sa.Column("details", sa.Text, nullable=False),   # JSON: per-function points and reasons
    sa.Column("flags", sa.Text, nullable=True),      # JSON list: screening flags, for the instructor's review
    sa.Column("written", sa.Text, nullable=True),    # JSON: written answers waiting for (or given) manual points
    sa.Column("seconds", sa.Float, nullable=True),   # wall time of the grading (None: graded before it was kept)
)
# The audit log of overrides (see grade/overrides.py): appended, never edited; a regrade leaves it alone.
OVERRIDES = sa.Table(
    "overrides", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("student", sa.String(200), nullable=False),
    sa.Column("assignment", sa.String(50), nullable=False),
    sa.Column("function", sa.String(200), nullable=False),
    sa.Column("action", sa.String(10), nullable=False),       # "set" or "remove"
    sa.Column("points", sa.Float, nullable=True),             # the new points (None for "remove")
    sa.Column("max_points", sa.Float, nullable=False),
    sa.Column("old_points", sa.Float, nullable=False),        # the points shown before this change
    sa.Column("autograded_points", sa.Float, nullable=False),
    sa.Column("verdict", sa.String(40), nullable=False),      # overrides.verdict_key of the verdict read
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),           # ISO 8601, UTC
)


class GradeRow(TypedDict, total=False):
    """One graded submission as every verb reads it (:meth:`Gradebook.rows`).

    ``functions`` is the only copy of the per-function verdicts (the table's ``details`` column,
    decoded); the rest of the grader adds keys to a copy (the late penalty, a missing student's row),
    never to the gradebook. A dict, not a dataclass, because the rows are written out as JSON as they are.
    """
    student: str
    assignment: str
    sha256: str
    score: float
    max_score: float
    functions: dict[str, dict]   # grade id -> {"points", "max_points", "reason", ...}
    flags: list[str]             # the screening's, for the instructor's review
    written: dict[str, dict]     # question -> {"points", "max_points", "status", "answer", ...}
    seconds: float | None


def default_url(course: Path) -> str:
    return f"sqlite:///{Course(Path(course)).results_db.resolve()}"  # nbgrader's own is gradebook.db


class Gradebook:
    def __init__(self, url: str):
        self.engine = sa.create_engine(url)
        METADATA.create_all(self.engine)
        columns = {c["name"] for c in sa.inspect(self.engine).get_columns("results")}
        for column, kind in (("flags", "TEXT"), ("written", "TEXT"), ("seconds", "FLOAT")):  # added since
            if column not in columns:
                with self.engine.begin() as conn:
                    conn.execute(sa.text(f"ALTER TABLE results ADD COLUMN {column} {kind}"))

    def graded_sha(self, student: str, assignment: str) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(RESULTS.c.sha256).where(
                (RESULTS.c.student == student) & (RESULTS.c.assignment == assignment))).first()
        return row[0] if row else None

    def record(self, result: dict) -> None:
        key = (RESULTS.c.student == result["student"]) & (RESULTS.c.assignment == result["assignment"])
        values = {k: result[k] for k in ("student", "assignment", "sha256", "score", "max_score")}
        values["details"] = json.dumps(result["functions"], sort_keys=True)
        values["flags"] = json.dumps(list(result.get("flags", [])))
        values["seconds"] = result.get("seconds")
        with self.engine.begin() as conn:  # delete + insert in one transaction: never half a row
            # A person's grades of written answers outlive a regrade where the answer is unchanged (see written.py).
            before = conn.execute(sa.select(RESULTS.c.written).where(key)).scalar()
            written = carry_over(json.loads(before or "{}"), result.get("written", {}))
            values["written"] = json.dumps(written, sort_keys=True)
            conn.execute(RESULTS.delete().where(key))
            conn.execute(RESULTS.insert().values(**values))

    def students_graded(self, assignment: str, students) -> set[str]:
        """Which of ``students`` have a row for ``assignment``."""
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(RESULTS.c.student).where(
                (RESULTS.c.assignment == assignment) & RESULTS.c.student.in_(list(students)))).scalars()
            return set(found)

    @contextmanager
    def renaming(self, old: str, new: str, assignment: str):
        """Give ``old``'s row of ``assignment`` (grades, flags, written marks) to ``new``; commit only if the
        with-block succeeds (collect moves the submission's folder in it), else roll back.

        Raises ``LookupError`` when ``new`` already has a row: two people's grades are never merged.
        """
        def key(student):
            return (RESULTS.c.student == student) & (RESULTS.c.assignment == assignment)

        with self.engine.begin() as conn:
            if conn.execute(sa.select(RESULTS.c.student).where(key(new))).first() is not None:
                raise LookupError(f"the gradebook already holds {new!r}'s grades for {assignment}")
            try:
                conn.execute(RESULTS.update().where(key(old)).values(student=new))
            except sa.exc.IntegrityError as err:  # a grade run recorded one for new since the check
                raise LookupError(f"the gradebook already holds {new!r}'s grades for {assignment}") from err
            # Overrides follow the grades they change (same person, a name the roster now gives).
            conn.execute(OVERRIDES.update().where((OVERRIDES.c.student == old) & (OVERRIDES.c.assignment == assignment))
                         .values(student=new))
            yield

    def rows(self, overrides: bool = True) -> list[GradeRow]:
        """Every graded submission; with ``overrides`` (the default) the overrides in force applied (overrides.py)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(RESULTS).order_by(RESULTS.c.student, RESULTS.c.assignment)).mappings().all()
        found = [GradeRow(student=row["student"], assignment=row["assignment"], sha256=row["sha256"],
                          score=row["score"], max_score=row["max_score"], functions=json.loads(row["details"]),
                          flags=json.loads(row["flags"] or "[]"), written=json.loads(row["written"] or "{}"),
                          seconds=row["seconds"]) for row in rows]
        if not overrides:
            return found
        from autograder.grade.overrides import apply

        return apply(found, self.override_log())

    def override_log(self) -> list[dict]:
        """Every override event, oldest first."""
        with self.engine.connect() as conn:
            return [dict(e) for e in conn.execute(sa.select(OVERRIDES).order_by(OVERRIDES.c.id)).mappings().all()]

    def add_override_events(self, events: list[dict]) -> int:
        """Append override events: all in one transaction, or none.

        Each event names the verdict it was checked against; a row or verdict that is no longer so
        (a regrade ran since) raises ``LookupError`` and rolls everything back.
        """
        from autograder.grade.overrides import verdict_key

        columns = {c.name for c in OVERRIDES.columns} - {"id"}
        with self.engine.begin() as conn:
            for event in events:
                key = (RESULTS.c.student == event["student"]) & (RESULTS.c.assignment == event["assignment"])
                details = conn.execute(sa.select(RESULTS.c.details).where(key)).scalar()
                info = json.loads(details).get(event["function"]) if details else None
                if info is None or verdict_key(info) != event["verdict"]:
                    raise LookupError(f"{event['student']}/{event['assignment']}/{event['function']} was graded "
                                      "again while the override was being checked")
                conn.execute(OVERRIDES.insert().values(**{k: event[k] for k in columns}))
        return len(events)

    def grade_written(self, marks: dict[tuple[str, str], dict[str, dict]]) -> int:
        """Give written answers their points and comments: every mark, in one transaction, or none.

        ``marks`` maps (student, assignment) to {question: {"points", "comment", "answer"}}; "answer"
        is the text the grader read. Any row, question or answer not as given (a regrade ran since
        the marks were checked) raises ``LookupError`` and rolls everything back. Returns the number
        of answers written. A mark may carry ``expected``, the (points, comment) its author saw: if
        the stored mark differs (someone else saved one since), ``LookupError`` too (the desk's
        optimistic versioning, checked in this transaction so no other writer can slip in between).
        """
        written_count = 0
        with self.engine.begin() as conn:
            for (student, assignment), questions in marks.items():
                key = (RESULTS.c.student == student) & (RESULTS.c.assignment == assignment)
                stored = conn.execute(sa.select(RESULTS.c.written).where(key)).first()
                if stored is None:
                    raise LookupError(f"no graded submission of {student!r} for {assignment}")
                written = json.loads(stored[0] or "{}")
                for question, mark in questions.items():
                    info = written.get(question)
                    if info is None or str(info.get("answer", "")) != str(mark["answer"]):
                        raise LookupError(f"{student}'s answer to {assignment}/{question} is not the one graded")
                    if "expected" in mark and (info.get("points"), str(info.get("comment", ""))) != mark["expected"]:
                        raise LookupError(f"{student}'s mark for {assignment}/{question} was changed by someone else")
                    written[question] = {**info, "points": float(mark["points"]), "comment": str(mark["comment"]),
                                         "status": "graded"}
                    written_count += 1
                # Only if the row is still as read: a grade run between the read and this write makes it a no-op.
                done = conn.execute(RESULTS.update().where(key & (RESULTS.c.written == stored[0]))
                                    .values(written=json.dumps(written, sort_keys=True)))
                if done.rowcount != 1:
                    raise LookupError(f"the gradebook row of {student!r} for {assignment} changed during the import")
        return written_count
