"""The desk on a PostgreSQL gradebook: its pages, a versioned save, a stale save refused, an override."""
from __future__ import annotations

import pytest

from autograder.course.gradebook import Gradebook
from autograder.desk.marks import MarkError, save, version
from desk_course import HOSTILE, Q, result, running
from test_desk_http import client, status, xsrf_of


def test_on_postgresql_too(tmp_path):
    from pg_server import postgres_server

    with postgres_server() as url:
        book = Gradebook(url)
        for student, answer in HOSTILE.items():
            book.record(result(student, answer))
        shown = next(r for r in book.rows() if r["student"] == "alice")["written"][Q]
        saved = save(book, "alice", "ch02", Q, "1", "clear", version(shown))
        assert (saved["points"], saved["comment"]) == (1.0, "clear")
        with pytest.raises(MarkError, match="changed in another window") as refused:
            save(book, "alice", "ch02", Q, "0", "stale", version(shown))
        assert refused.value.status == 409 and refused.value.current["comment"] == "clear"
        course = tmp_path / "course"
        course.mkdir()
        with running(course, book) as base:
            opener = client(base)
            _, page, _ = status(opener, base + "/a/ch02/s/bob")
            code, page, _ = status(opener, base + "/a/ch02/s/bob/override",
                                   {"_xsrf": xsrf_of(page), "function": "inverted_dropout_forward", "action": "set",
                                    "points": "1.5", "reason": "partial credit"})
            assert code == 200 and "set to 1.5 / 3 (was 0): partial credit" in page
        assert [e["reason"] for e in book.override_log()] == ["partial credit"]
        book.engine.dispose()
