"""The gradebook of record: one row per graded submission, on SQLite or PostgreSQL (SQLAlchemy URL).

A row is keyed by (student, assignment) and remembers the SHA-256 of the notebook it graded,
which is what makes grading resumable and idempotent: an unchanged submission is never
graded twice, a changed one replaces its row.
"""
from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from .layout import Course

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
)


def default_url(course: Path) -> str:
    return f"sqlite:///{Course(Path(course)).results_db.resolve()}"  # nbgrader's own is gradebook.db


class Gradebook:
    def __init__(self, url: str):
        self.engine = sa.create_engine(url)
        METADATA.create_all(self.engine)
        columns = {c["name"] for c in sa.inspect(self.engine).get_columns("results")}
        for column in ("flags", "written"):  # a gradebook from before these existed
            if column not in columns:
                with self.engine.begin() as conn:
                    conn.execute(sa.text(f"ALTER TABLE results ADD COLUMN {column} TEXT"))

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
        values["written"] = json.dumps(result.get("written", {}), sort_keys=True)
        with self.engine.begin() as conn:  # delete + insert in one transaction: never half a row
            conn.execute(RESULTS.delete().where(key))
            conn.execute(RESULTS.insert().values(**values))

    def rows(self) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(RESULTS).order_by(RESULTS.c.student, RESULTS.c.assignment)).mappings().all()
        return [{**row, "functions": json.loads(row["details"]), "flags": json.loads(row["flags"] or "[]"),
                 "written": json.loads(row["written"] or "{}")} for row in rows]
