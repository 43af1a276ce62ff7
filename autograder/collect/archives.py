"""Reading an export, each file once, into a private staging folder: folders and zips, within limits.

Symbolic links are refused and never followed, in folders and archives alike; archive members
with absolute or ``..`` paths are refused; a zip's member count and sizes are checked from its
central directory, then enforced again while inflating, since a declared size can lie. The
originals are only read.
"""
from __future__ import annotations

import hashlib
import os
import re
import stat
import time
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path

from autograder.collect.assignments import assignments_named
from autograder.collect.errors import CollectError
from autograder.collect.lms_names import GRADESCOPE_METADATA, naming_style

CHUNK = 2**20


@dataclass(frozen=True)
class Limits:
    """What one collect agrees to read.

    A zip's member count and declared sizes are checked from its central directory, then the
    sizes are enforced again while inflating, since a declared size can lie.
    """

    members: int = 20_000              # entries in an archive
    notebook_bytes: int = 50 * 2**20   # one notebook; a larger one is reported, not copied
    total_bytes: int = 2 * 2**30       # everything inflated from one archive


LIMITS = Limits()



def printable(text: str) -> str:
    """``text`` with control and invisible formatting characters written as ``\\uXXXX``.

    A file name is the student's: a newline in it would print a line of its own in the report (a
    forged "to do:"), a right-to-left override would show it reversed. In a name not in composed
    Unicode the combining marks are written out too, so "José" spelt decomposed does not look like
    its composed twin. ``--pick`` takes names either way.
    """
    hidden = ("Cc", "Cf", "Zl", "Zp") if unicodedata.is_normalized("NFC", text) else ("Cc", "Cf", "Zl", "Zp", "Mn")
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in hidden else c for c in text)


@dataclass(frozen=True)
class Found:
    parts: tuple[str, ...]   # its path inside the export
    staged: Path
    sha256: str
    mtime: float
    shown: str = ""          # how messages name it

    @property
    def name(self) -> str:
        return self.shown or "/".join(self.parts)


@dataclass
class Harvest:
    found: list[Found] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)   # hidden files (checkpoints...): listed only if all one sent
    staged_bytes: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)


def _ignored(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX"


def _junk(parts) -> bool:
    """What a Mac or an archiver adds (``__MACOSX/``, ``._x``, ``.DS_Store``): never anyone's work."""
    return any(p == "__MACOSX" or p.startswith("._") or p == ".DS_Store" for p in parts)


def _wanted(name: str) -> bool:
    return name.lower().endswith(".ipynb") or name == GRADESCOPE_METADATA


def stage(stream, target: Path, cap: int) -> tuple[str, int] | None:
    """Copy ``stream`` into ``target`` chunk by chunk; None once it holds more than ``cap`` bytes.

    Never asks for more than ``cap + 1`` bytes, so nothing beyond the cap is inflated or held.
    """
    digest, size = hashlib.sha256(), 0
    with target.open("wb") as out:
        while chunk := stream.read(min(CHUNK, cap + 1 - size)):
            size += len(chunk)
            if size > cap:
                return None
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest(), size


def _too_large(cap: int) -> str:
    return f"larger than {cap / 2**20:g} MiB, so not copied (is it a notebook?)"


def harvest_folder(root: Path, staging: Path, limits: Limits) -> Harvest:
    harvest, pending = Harvest(), [()]
    while pending:
        rel = pending.pop()
        try:
            with os.scandir(root.joinpath(*rel)) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as err:
            harvest.refused.append(("/".join(rel) or str(root), f"could not be listed ({err.strerror})"))
            continue
        for entry in entries:
            parts = (*rel, entry.name)
            name = "/".join(parts)
            if _ignored(entry.name):
                if not _junk(parts):  # a hidden file or folder may be all someone handed in
                    harvest.hidden.append(name)
                continue
            if entry.is_symlink():
                harvest.refused.append((name, "a symbolic link: refused, never followed"))
            elif entry.is_dir(follow_symlinks=False):
                pending.append(parts)
            elif not _wanted(entry.name):
                harvest.skipped.append(name)
            else:
                _stage_file(Path(entry.path), parts, staging / str(len(harvest.found)), limits, harvest)
                if harvest.staged_bytes > limits.total_bytes:  # as for a zip: the staging disk is not endless
                    raise CollectError(f"{root} holds more than {limits.total_bytes / 2**30:g} GiB of notebooks; "
                                       f"refusing to copy them all")
    return harvest


def _stage_file(path: Path, parts, target: Path, limits: Limits, harvest: Harvest) -> None:
    name = "/".join(parts)
    try:
        # O_NOFOLLOW: a file swapped for a link since the listing is still not followed;
        # O_NONBLOCK: a FIFO named *.ipynb cannot hang the collect.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        harvest.refused.append((name, f"could not be opened ({err.strerror})"))
        return
    with os.fdopen(fd, "rb") as stream:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            harvest.refused.append((name, "not a regular file"))
            return
        staged = stage(stream, target, limits.notebook_bytes)
    if staged is None:
        harvest.refused.append((name, _too_large(limits.notebook_bytes)))
    else:
        harvest.found.append(Found(parts, target, staged[0], info.st_mtime))
        harvest.staged_bytes += staged[1]


def _zip_entry_count(source: Path, limits: Limits) -> None:
    """Refuse an oversized central directory before ``zipfile`` loads all of it into memory."""
    with source.open("rb") as fh:
        record = zipfile._EndRecData(fh)  # the same reader ZipFile uses; private but stable since 2.x
    if record and (record[zipfile._ECD_ENTRIES_TOTAL] > limits.members
                   or record[zipfile._ECD_SIZE] > limits.members * 1024):
        raise CollectError(f"{source} holds more than {limits.members} entries; refusing to open it")


def _unsafe_member(info: zipfile.ZipInfo) -> str | None:
    name = info.filename.replace("\\", "/")
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link in the archive: refused"
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return "an absolute path in the archive: refused"
    if ".." in name.split("/"):
        return "a path with '..' in the archive: refused"
    return None


UTF8_NAME_FLAG = 0x800  # general-purpose bit 11: the entry's name is UTF-8


def member_name(info: zipfile.ZipInfo) -> str:
    """The entry's name as its archiver meant it.

    Info-ZIP's ``zip`` and some systems' "compress" menus write UTF-8 names without the UTF-8
    flag, and ``zipfile`` then reads them as cp437 (``José`` as ``Jos├⌐``): a Moodle folder no
    longer matches its roster name. cp437 maps every byte, so the raw bytes come back exactly;
    valid UTF-8 among them is taken as UTF-8 (a cp437 name with accents is almost never valid
    UTF-8), anything else stays the cp437 it then really is.
    """
    if info.flag_bits & UTF8_NAME_FLAG:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except UnicodeError:
        return info.filename


def harvest_zip(source: Path, staging: Path, limits: Limits) -> Harvest:
    _zip_entry_count(source, limits)
    harvest, wanted = Harvest(), []
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as err:
        raise CollectError(f"{source} cannot be read as a .zip archive: {err}") from err
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.members:
            raise CollectError(f"{source} holds {len(infos)} entries, more than the {limits.members} allowed")
        for info in infos:
            # Here, once, so that the safety checks, the messages and the plan all read the same name;
            # zipfile checks each local header against ``orig_filename``, which stays as it was read.
            info.filename = member_name(info)
            parts = tuple(p for p in info.filename.replace("\\", "/").split("/") if p not in ("", "."))
            unsafe = _unsafe_member(info)
            if unsafe:
                harvest.refused.append((info.filename, unsafe))
            elif info.is_dir() or not parts:
                continue
            elif any(_ignored(p) for p in parts):
                if not _junk(parts):
                    harvest.hidden.append(info.filename)
            elif not _wanted(parts[-1]):
                harvest.skipped.append(info.filename)
            elif info.file_size > limits.notebook_bytes:
                harvest.refused.append((info.filename, _too_large(limits.notebook_bytes)))
            else:
                wanted.append((info, parts))
        declared = sum(info.file_size for info, _ in wanted)
        if declared > limits.total_bytes:
            raise CollectError(f"{source} would inflate to {declared / 2**30:.1f} GiB of notebooks, more than "
                               f"the {limits.total_bytes / 2**30:g} GiB allowed")
        budget, seen = limits.total_bytes, set()
        for index, (info, parts) in enumerate(wanted):
            cap = min(limits.notebook_bytes, budget)
            target = staging / str(index)
            try:
                with archive.open(info) as stream:
                    staged = stage(stream, target, cap)
            except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, OSError) as err:
                harvest.refused.append((info.filename, f"could not be read from the archive ({err})"))
                continue
            if staged is None and cap < limits.notebook_bytes:
                raise CollectError(f"{source} inflates to more than the {limits.total_bytes / 2**30:g} GiB allowed")
            if staged is None:
                harvest.refused.append((info.filename, _too_large(limits.notebook_bytes)))
                continue
            budget -= staged[1]
            shown = f"{info.filename} (archive entry {index + 1})" if parts in seen else ""
            seen.add(parts)
            try:
                mtime = time.mktime((*info.date_time, 0, 0, -1))
            except (OverflowError, ValueError):
                mtime = 0.0
            harvest.found.append(Found(parts, target, staged[0], mtime, shown))
    return harvest


def _lms_named(name: str, kind: str) -> bool:
    matched = naming_style(name, kind)
    return matched is not None and matched[0].lms != "plain"


def _wrapper(found: list[Found]) -> str | None:
    """Why the one folder at the top wraps the class: ``"lms"`` (it holds what an LMS wrote), ``"folders"``
    (only folders, none naming an assignment), or None (it is a student's own folder, or not one folder)."""
    if not _one_plain_top(found):
        return None
    files = [f.parts[1] for f in found if len(f.parts) == 2]
    folders = {f.parts[1] for f in found if len(f.parts) > 2}
    if GRADESCOPE_METADATA in files or any(_lms_named(name, "file") for name in files):
        return "lms"
    if not files and not any(assignments_named(name) for name in folders):
        return "folders"
    return None


def _one_plain_top(found: list[Found]) -> bool:
    tops = {f.parts[0] for f in found}
    return len(tops) == 1 and all(len(f.parts) > 1 for f in found) and not _lms_named(tops.pop(), "folder")


def _lms_export_at_top(found: list[Found]) -> bool:
    """Gradescope's metadata, or several names an LMS wrote, at the top: an export, not one student's folder."""
    tops = {f.parts[0] for f in found}
    named = {t for t in tops if _lms_named(t, "file" if any(f.parts == (t,) for f in found) else "folder")}
    return GRADESCOPE_METADATA in tops or len(named) > 1


def _strip(found: list[Found]) -> list[Found]:
    return [replace(f, parts=f.parts[1:]) for f in found]


def unwrap(found: list[Found]) -> tuple[list[Found], int]:
    """Drop the folders that wrap the whole class (``export/alice/...``), never a student's own folder.

    Single folders down to an LMS's export (``Downloads/ch02 submissions/<Canvas files>``) are
    dropped, however many; otherwise one folder, where what it holds is an LMS's or only folders
    naming no assignment. Returns the files and how many levels were dropped.
    """
    probe, levels = found, 0
    while _one_plain_top(probe):
        probe, levels = _strip(probe), levels + 1
        if _lms_export_at_top(probe):
            return probe, levels
    return (_strip(found), 1) if _wrapper(found) else (found, 0)
