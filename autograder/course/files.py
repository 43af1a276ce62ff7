"""The one atomic write: a new file beside the target, then a rename.

Whoever reads the target (a grader, the LMS import, a student's browser) sees the old file or the
new one, never half of one; a write that fails leaves nothing behind. The new file is created
exclusively (never through a link someone planted), with mode 0o666 less the umask, as a plain
write would get (a ``NamedTemporaryFile`` is always 0o600).
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomically(target: Path, fill: Callable[[BinaryIO], object], prefix: str = ".partial") -> None:
    """Call ``fill`` with a binary file open beside ``target``, then rename that file to ``target``.

    ``prefix`` names the in-between file (``<prefix>-<pid>-<random>``), so a sweep can find leftovers.
    """
    target = Path(target)
    partial = target.with_name(f"{prefix}-{os.getpid()}-{secrets.token_hex(4)}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            fill(out)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def write_bytes_atomically(target: Path, data: bytes, prefix: str = ".partial") -> None:
    """``data`` into ``target``, atomically (see :func:`write_atomically`)."""
    write_atomically(target, lambda out: out.write(data), prefix)
