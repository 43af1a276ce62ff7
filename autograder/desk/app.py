"""The desk's web application (Tornado) and its server.

Tornado because it is already installed as Jupyter's own server (no new dependency) and has what
the desk needs built in: signed cookies, ``xsrf_cookies`` on every POST, static files and an
event loop in which each request's check and write run without another request in between.
"""
from __future__ import annotations

import asyncio
import errno
import ipaddress
import signal
import threading
from pathlib import Path
from urllib.parse import quote

import tornado.httputil
import tornado.web
from tornado.netutil import bind_sockets
from tornado.httpserver import HTTPServer

from autograder.course.layout import REPO, Course
from autograder.desk import views
from autograder.desk.marks import MarkError, describe, pending, save, version
from autograder.desk.regrade import RegradeError, regrade
from autograder.desk.security import Guarded, Static, new_token
from autograder.feedback import notebook_view
from autograder.feedback.pages import graded_notebook_path

STATIC = Path(__file__).parent / "static"
# The copy `run.py book` vendors for the book, else the npm package it comes from.
MATHJAX_DIRS = (REPO / "_vendor" / "mathjax", REPO / "node_modules" / "mathjax" / "es5")
PORT_TRIES = 20  # as Jupyter: the next port when one is taken


class Desk:
    """What every handler shares: the course, its gradebook, how to grade, and who makes changes."""

    def __init__(self, course: Path, gradebook, author: str, course_file: Path | None = None, isolate: bool = True,
                 roster: Path | None = None):
        self.course, self.gradebook, self.author = Path(course).resolve(), gradebook, author
        self.course_file, self.isolate, self.roster = course_file, isolate, roster
        self.regrading = threading.Lock()  # one regrade at a time: each starts a worker with its own limits

    def rows(self) -> tuple[list[dict], str | None]:
        """The rows as exports show them (overrides applied, late penalties from the course file), and a
        problem with the course file, if any (then without penalties)."""
        from autograder.course.deadlines import CourseFileError
        from autograder.export.export_all import load_policy, penalised

        rows = self.gradebook.rows()
        try:
            return penalised(rows, self.course, load_policy(self.course, self.course_file)), None
        except CourseFileError as err:
            return rows, f"the course file has a problem, so late penalties are not shown: {err}"

    def names(self) -> tuple[dict[str, str], str | None]:
        """Roster id -> name from the class list given, else the course's, and a problem with it, if any (then
        ids alone). Read on every page, so a `collect --roster` made while the desk runs shows at the next reload."""
        from autograder.collect.course_roster import course_names
        from autograder.collect.errors import CollectError

        try:
            return course_names(self.course, self.roster), None
        except (CollectError, OSError) as err:
            return {}, f"the class list cannot be read, so students are named by their ids: {err}"


class Page(Guarded):
    @property
    def desk(self) -> Desk:
        return self.settings["desk"]

    def page(self, html: str) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(html)

    def write_error(self, status_code: int, **kwargs) -> None:
        error = kwargs.get("exc_info", (None, None))[1]
        message = error.get_message() if isinstance(error, tornado.web.HTTPError) else None
        message = message or self._reason  # never a traceback: an unexpected error says only its status
        self.page(views.error_page(status_code, message or "error", self.xsrf_token.decode()))

    def row(self, assignment: str, student: str) -> dict:
        rows, _ = self.desk.rows()
        for row in rows:
            if (row["student"], row["assignment"]) == (student, assignment):
                return row
        raise tornado.web.HTTPError(404, f"no graded submission of {student!r} for {assignment!r}")

    def wants_json(self) -> bool:
        return "application/json" in self.request.headers.get("Accept", "")


class Index(Page):
    def get(self):
        rows, problem = self.desk.rows()
        self.page(views.index_page(rows, self.xsrf_token.decode(), problem))


class ClassTable(Page):
    def get(self, assignment):
        rows, problem = self.desk.rows()
        if not any(r["assignment"] == assignment for r in rows):
            raise tornado.web.HTTPError(404, f"nothing graded for {assignment!r}")
        names, roster_problem = self.desk.names()
        problem = "; ".join(p for p in (problem, roster_problem) if p) or None
        self.page(views.class_page(rows, assignment, self.xsrf_token.decode(), problem, names))


class Student(Page):
    def get(self, assignment, student):
        row = self.row(assignment, student)
        path = graded_notebook_path(self.desk.course, student, assignment)
        graded = notebook_view.load(path) if path else None
        released = notebook_view.load(Course(self.desk.course).release_notebook(assignment)) if graded else None
        self.page(views.student_page(row, graded, released, self.xsrf_token.decode(),
                                     self.get_query_argument("done", None), self.desk.names()[0]))


class Override(Page):
    def post(self, assignment, student):
        from autograder.grade.overrides import OverrideError, change, describe

        function = self.get_body_argument("function", "")
        remove = self.get_body_argument("action", "set") == "remove"
        points = None if remove else self.get_body_argument("points", "").strip().replace(",", ".")
        try:
            event = change(self.desk.gradebook, student, assignment, function, points,
                           self.get_body_argument("reason", ""), self.desk.author)
        except OverrideError as err:
            raise tornado.web.HTTPError(400, str(err)) from None
        target = views.url("a", assignment, "s", student)
        said = describe(views.named(event, self.desk.names()[0]))
        self.redirect(f"{target}?{tornado.httputil.urlencode({'done': said})}")


class Regrade(Page):
    async def post(self, assignment, student):
        self.row(assignment, student)
        desk = self.desk
        if not desk.regrading.acquire(blocking=False):
            raise tornado.web.HTTPError(409, "another regrade is running: try again when it has finished")
        try:
            result = await asyncio.get_running_loop().run_in_executor(
                None, lambda: regrade(desk.course, desk.gradebook, student, assignment, isolate=desk.isolate))
        except RegradeError as err:
            raise tornado.web.HTTPError(400, str(err)) from None
        finally:
            desk.regrading.release()
        said = (f"graded again: {notebook_view.points(round(result['score'], 2))} / "
                f"{notebook_view.points(result['max_score'])} autograded")
        self.redirect(f"{views.url('a', assignment, 's', student)}?{tornado.httputil.urlencode({'done': said})}")


class Question(Page):
    def get(self, assignment, question):
        from autograder.manual.sheets import model_answers

        rows, _ = self.desk.rows()
        if not any(question in (r.get("written") or {}) for r in rows if r["assignment"] == assignment):
            raise tornado.web.HTTPError(404, f"no written answers to {assignment}/{question!r}")
        model = model_answers(self.desk.course, assignment).get(question)
        self.page(views.question_page(rows, assignment, question, model, self.xsrf_token.decode(),
                                      self.desk.names()[0]))


class Mark(Page):
    def post(self, assignment, question):
        student = self.get_body_argument("student", "")
        try:
            info = save(self.desk.gradebook, student, assignment, question, self.get_body_argument("points", ""),
                        self.get_body_argument("comment", ""), self.get_body_argument("version", ""))
        except MarkError as err:
            if not self.wants_json():
                raise tornado.web.HTTPError(err.status, str(err)) from None
            self.set_status(err.status)
            self.finish({"message": str(err), "version": version(err.current) if err.current else None,
                         "current": _public(err.current)})
            return
        if not self.wants_json():
            self.redirect(views.url("a", assignment, "q", question) + "#" + quote(student, safe=""))
            return
        rows = self.desk.gradebook.rows(overrides=False)
        self.finish({"message": f"saved: {describe(info)}", "version": version(info),
                     "pending": pending(rows, assignment, question), "current": _public(info)})


def _public(info: dict | None) -> dict | None:
    """What the page needs of a stored mark (never the answer text: the page has it)."""
    return None if info is None else {"points": info.get("points"), "comment": str(info.get("comment", ""))}


class Log(Page):
    def get(self):
        from autograder.grade.overrides import describe

        names = self.desk.names()[0]
        self.page(views.log_page([describe(views.named(e, names)) for e in self.desk.gradebook.override_log()],
                                 self.xsrf_token.decode()))


def mathjax_dir() -> Path | None:
    return next((d for d in MATHJAX_DIRS if (d / "tex-chtml.js").is_file()), None)


def make_app(desk: Desk, token: str, port: int, loopback_only: bool = True) -> tornado.web.Application:
    segment = r"([^/]+)"  # one percent-encoded path part; Tornado decodes it
    handlers = [
        (r"/", Index),
        (rf"/a/{segment}", ClassTable),
        (rf"/a/{segment}/s/{segment}", Student),
        (rf"/a/{segment}/s/{segment}/override", Override),
        (rf"/a/{segment}/s/{segment}/regrade", Regrade),
        (rf"/a/{segment}/q/{segment}", Question),
        (rf"/a/{segment}/q/{segment}/mark", Mark),
        (r"/log", Log),
        (r"/static/(desk\.js)", Static, {"path": str(STATIC)}),
    ]
    found = mathjax_dir()
    if found is not None:
        handlers.append((r"/mathjax/(.*)", Static, {"path": str(found)}))
    return tornado.web.Application(
        handlers, desk=desk, desk_token=token, desk_port=port, desk_loopback_only=loopback_only,
        cookie_secret=new_token(), xsrf_cookies=True,
        xsrf_cookie_kwargs={"httponly": True, "samesite": "Strict"},  # the page carries the token in its forms
        default_handler_class=NotFound)


class NotFound(Page):
    def prepare(self):
        super().prepare()
        if not self._finished:
            raise tornado.web.HTTPError(404, "no such page")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listen(host: str, port: int):
    """Sockets on the first free port from ``port`` (0: any), and the port."""
    tries = 1 if port == 0 else PORT_TRIES
    for offset in range(tries):
        try:
            sockets = bind_sockets(port + offset if port else 0, host)
        except OSError as err:
            if err.errno != errno.EADDRINUSE or offset == tries - 1:
                raise
            continue
        return sockets, sockets[0].getsockname()[1]
    raise OSError(errno.EADDRINUSE, f"ports {port} to {port + tries - 1} are taken")


def serve(desk: Desk, host: str = "127.0.0.1", port: int = 8870, token: str | None = None,
          ready=print) -> None:
    """Serve until Ctrl-C or SIGTERM (KeyboardInterrupt reaches the caller, after the server has closed)."""
    token = token or new_token()
    # A service manager's stop is a Ctrl-C too: the same clean exit (every change was committed when made).
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    async def main():
        sockets, chosen = listen(host, port)
        server = HTTPServer(make_app(desk, token, chosen, loopback_only=is_loopback(host)), xheaders=False)
        server.add_sockets(sockets)
        shown = f"[{host}]" if ":" in host else host
        ready(f"The desk is at http://{shown}:{chosen}/?token={token}")
        try:
            await asyncio.Event().wait()
        finally:
            server.stop()

    asyncio.run(main())
