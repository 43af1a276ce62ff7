"""Who may use the desk, and what its pages may do.

As Jupyter does: a random token in the URL printed at startup, traded on first use for a signed,
HttpOnly, SameSite=Strict cookie (and the address bar loses the token). Every change is a POST that
Tornado's ``xsrf_cookies`` checks. On a loopback address the Host header must name the loopback too,
so a web page elsewhere cannot reach the desk through DNS rebinding.
"""
from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlencode

import tornado.web

from autograder.feedback.safe_html import CSP as FEEDBACK_CSP

# The feedback pages' policy, opened only as far as the desk needs: script files it serves itself (its own
# and the vendored MathJax, with MathJax's fonts), requests to itself, and forms posted to itself. No inline
# script is allowed, so a mistake in escaping a student's text still runs nothing.
CSP = (FEEDBACK_CSP.replace("form-action 'none'", "form-action 'self'")
       + "; script-src 'self'; connect-src 'self'; font-src 'self'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "X-Frame-Options": "DENY", "Cache-Control": "no-store"}
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
FORBIDDEN_HOST = "Forbidden host"
# Said on that refusal instead of the hint about tokens: the token may be right, the address is what is wrong.
HOST_HINT = ("The desk answers only at localhost, 127.0.0.1 or [::1], and this request named another host. "
             "Open the address it printed when it started.")
COOKIE_VALUE = "desk"  # what the signed cookie holds: the signature is the proof, the value carries nothing


def new_token() -> str:
    return secrets.token_hex(24)


def cookie_name(port: int) -> str:
    """Per port: browsers do not separate cookies by port, and two desks may run side by side."""
    return f"dropout_desk_{port}"


def host_name(host_header: str) -> str:
    """The name part of a Host header ("[::1]:8870" -> "::1", "localhost:8870" -> "localhost")."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def refuse_other_hosts(handler: tornado.web.RequestHandler) -> None:
    """On a loopback address, a Host header naming anything else is refused (DNS rebinding)."""
    if handler.settings["desk_loopback_only"] and host_name(handler.request.host) not in LOOPBACK_NAMES:
        raise tornado.web.HTTPError(403, reason=FORBIDDEN_HOST)


class Guarded(tornado.web.RequestHandler):
    """A handler that answers only the holder of the token (or its cookie), on an allowed Host."""

    def set_default_headers(self) -> None:
        for name, value in HEADERS.items():
            self.set_header(name, value)

    def prepare(self):
        refuse_other_hosts(self)
        settings = self.settings
        name = cookie_name(settings["desk_port"])
        given = self.get_query_argument("token", None)
        if given is not None:
            if not hmac.compare_digest(given.encode(), settings["desk_token"].encode()):
                raise tornado.web.HTTPError(403, reason="Wrong token")
            self.set_signed_cookie(name, COOKIE_VALUE, httponly=True, samesite="Strict", expires_days=None)
            if self.request.method in ("GET", "HEAD"):  # the token leaves the address bar and the history
                rest = {k: v[-1].decode() for k, v in self.request.query_arguments.items() if k != "token"}
                self.redirect(self.request.path + (f"?{urlencode(rest)}" if rest else ""))
            return
        header = self.request.headers.get("Authorization", "")
        if header.startswith("token ") and hmac.compare_digest(header[6:].strip().encode(),
                                                               settings["desk_token"].encode()):
            return
        if self.get_signed_cookie(name) == COOKIE_VALUE.encode():
            return
        raise tornado.web.HTTPError(403, reason="No token")


class Static(tornado.web.StaticFileHandler):
    """Script, style and fonts: public code, served with the same headers (and Host check) as the pages."""

    def set_default_headers(self) -> None:
        for name, value in HEADERS.items():
            self.set_header(name, value)
        self.set_header("Cache-Control", "no-cache")

    def prepare(self):
        refuse_other_hosts(self)
