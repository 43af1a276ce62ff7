"""A course for the desk's tests: ch02 released (its source holds the model answers), a gradebook of hand-made
rows with hostile answers and names, and the desk served from a thread on a free loopback port."""
from __future__ import annotations

import asyncio
import csv
import threading
from contextlib import contextmanager

from tornado.httpserver import HTTPServer

from autograder.course.gradebook import Gradebook, default_url
from autograder.course.layout import Course
from autograder.desk.app import Desk, listen, make_app
from autograder.release.sources import written_points

QUESTIONS = sorted(written_points("ch02"))          # q_dropout_variance, q_test_time_scaling
Q = "q_test_time_scaling"
TOKEN = "t" * 48
# Each answer tries to run script in the desk: as HTML, as a URL, through MathJax (\href, \unicode, \class
# and a $-delimited formula that would be typeset if student text were typeset at all).
HOSTILE = {
    "alice": "Inverted dropout divides by $1-p$ in training, so $E[m a / q] = a$.",
    "bob": "<script>window.pwned = 'script'</script><img src=x onerror=\"window.pwned='onerror'\"> **bold**",
    "carol": "[click](javascript:window.pwned='link') <a href=\"javascript:window.pwned='a'\">a</a>",
    "dave": "$\\href{javascript:window.pwned='href'}{x}$ $$\\unicode{<img src=x onerror=window.pwned=1>}$$ "
            "\\(\\class{x}{y}\\) </textarea><script>window.pwned='textarea'</script>",
    "erin <b>&amp;</b>/x?y#z": "A name with markup and URL characters; an honest answer.",
}


def result(student: str, answer: str, sha: str = "a" * 64) -> dict:
    written = {q: {"points": None, "max_points": 1.0, "status": "pending",
                   "answer": answer if q == Q else f"{student} on {q}"} for q in QUESTIONS}
    return {"student": student, "assignment": "ch02", "sha256": sha, "score": 3.0, "max_score": 6.0, "seconds": 1.0,
            "functions": {"vanilla_dropout_forward": {"points": 3.0, "max_points": 3.0, "reason": ""},
                          "inverted_dropout_forward": {"points": 0.0, "max_points": 3.0,
                                                       "reason": "kept units were multiplied by 1",
                                                       "student_reason": "kept units were multiplied by 1"}},
            "flags": [], "written": written}


# A class list for the names tests: names that try to run script, to pass for another student's id (a
# right-to-left override, a control character, a line break) or to fill the page.
ROSTER = {
    "alice": "Ann Lee",
    "bob": "<script>window.pwned='name'</script><img src=x onerror=\"window.pwned='img'\">, Bob",
    "carol": "Carol\n\u202eeci\u202c Reyes\u0007 (alice)",
    "dave": "Dave " + "x" * 300,
}


def write_roster(course, names: dict[str, str]) -> None:
    """``names`` as the course's class list, where `collect --roster` keeps it."""
    with Course(course).roster.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "name", "email"])
        writer.writerows([student, name, f"{student}@example.edu"] for student, name in names.items())


def fill(course) -> Gradebook:
    book = Gradebook(default_url(course))
    for student, answer in HOSTILE.items():
        book.record(result(student, answer))
    return book


@contextmanager
def running(course, book, author: str = "tester", roster=None):
    """The desk on a free port in a thread of its own; yields its base URL (without the token)."""
    started, box = threading.Event(), {}

    def run():
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        sockets, port = listen("127.0.0.1", 0)
        server = HTTPServer(make_app(Desk(course, book, author, isolate=False, roster=roster), TOKEN, port))
        server.add_sockets(sockets)
        box.update(loop=loop, port=port, server=server)
        started.set()
        loop.run_forever()
        server.stop()
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(30)
    try:
        yield f"http://127.0.0.1:{box['port']}"
    finally:
        box["loop"].call_soon_threadsafe(box["loop"].stop)
        thread.join(10)


# A class as the guide's screenshots show it: plausible answers, one late student, one flagged.
GUIDE = {
    "alice": "Inverted dropout already divides the kept units by $q = 1 - p_{drop}$ in training, so the expected "
             "output equals the test-time output and nothing is left to scale.",
    "bob": "Because at test time we want the full network.",
    "carol": "Vanilla dropout trains on outputs of mean q*a, so at test time it must multiply by q to match; "
             "inverted dropout divides by q during training, E[m a / q] = a.",
    "dave": "YOUR ANSWER HERE",
    "erin": "Inverted dropout scales by 1/(1-p_drop) while training so the mean matches; at test time it is the "
            "identity.",
}


GUIDE_NAMES = {"alice": "Alice Martin", "bob": "Bob Okafor", "carol": "Carol Nguyen", "dave": "Dave Kowalski",
               "erin": "Erin Sánchez"}


def fill_guide(course) -> Gradebook:
    write_roster(course, GUIDE_NAMES)  # as after `collect --roster`: the guide shows students as "Name (id)"
    book = Gradebook(default_url(course))
    for student, answer in GUIDE.items():
        row = result(student, answer)
        if student in ("alice", "erin"):
            row["functions"]["inverted_dropout_forward"] = {"points": 3.0, "max_points": 3.0, "reason": ""}
            row["score"] = 6.0
        if student == "dave":
            row["flags"] = ["imports a module the exercise does not allow: os"]
        book.record(row)
    return book
