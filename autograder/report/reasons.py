"""Reasons for lost points, compared the way a person would: the same mistake on other inputs reads alike.

The class report groups reasons with this, and an override stays applied while its function's
verdict reads alike (see :mod:`overrides`): a regrade draws new inputs, so numbers, shapes and
quoted values in a reason change even when the mistake does not.
"""
from __future__ import annotations

import re

PATTERN_KEPT = 200     # characters of a normalised reason that decide its group (long reasons are cut anyway)

_QUOTED = re.compile(r"(?<!\w)(['\"])[^'\"\n]{0,120}\1(?!\w)")         # names and values quoted from the student
_MESSAGE = re.compile(r"\b((?:raised|stopped with) [A-Za-z_][\w.]*): [^()]*")  # the student's exception text
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_RUN = re.compile(r"#(?:[\s,;]*#)+")                                     # shapes and arrays of any length
_SPACE = re.compile(r"\s+")


def normalise_reason(reason: str) -> str:
    """The reason with numbers as ``#`` and student-specific text (quotes, exception messages) as ``…``."""
    text = _QUOTED.sub("…", str(reason))
    text = _MESSAGE.sub(r"\1: …", text)
    text = _RUN.sub("#", _NUMBER.sub("#", text))
    return _SPACE.sub(" ", text).strip()[:PATTERN_KEPT]


def without_function(function: str, reason: str) -> str:
    """The reason less its leading ``"<function>: "``, for a table whose other column names the function already."""
    prefix = f"{function}: "
    return reason[len(prefix):] if reason.startswith(prefix) else reason
