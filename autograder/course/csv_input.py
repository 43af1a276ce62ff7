"""Reading the CSV files an instructor hands the grader (rosters, times, sheets): one way, one set of errors."""
from __future__ import annotations

import csv
import io
from pathlib import Path


def delimiter_of(text: str) -> str:
    """"," as the grader writes CSV; ";" when the header holds ";" and no ",": a spreadsheet of a
    decimal-comma locale saved it."""
    header = text.split("\n", 1)[0]
    return ";" if ";" in header and "," not in header else ","


def read_table(path: Path, columns: tuple[str, ...], what: str, error=ValueError, semicolons: bool = False):
    """``(reader, header)`` for a CSV whose first line names ``columns`` (any case, any order, more allowed).

    ``header`` maps each lower-cased column name to the name as written. With ``semicolons``, a
    header holding ";" and no "," is read as a ";"-separated file (``reader.reader.dialect.delimiter``).
    Raises ``error`` with a sentence naming ``what`` the file is, when it cannot be read or lacks a column.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise error(f"cannot read the {what} {path}: {err}") from err
    try:
        text = raw.decode("utf-8-sig")  # a BOM from a spreadsheet is not part of the first name
    except UnicodeDecodeError as err:
        # Guessing another encoding could turn "Seán" into "SeÃ¡n" and match nobody: say how to fix it.
        line = raw[:err.start].count(b"\n") + 1
        raise error(f"the {what} {path} is not UTF-8 text (line {line} has the byte 0x{raw[err.start]:02x}); "
                    f"save it again as \"CSV UTF-8\" (Excel: Save As > CSV UTF-8; LibreOffice: "
                    f"character set Unicode (UTF-8))") from err
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter_of(text) if semicolons else ",")
    header = {(f or "").strip().lower(): f for f in reader.fieldnames or []}
    absent = [c for c in columns if c not in header]
    if absent:
        raise error(f"{what} {path}: no column {', '.join(absent)}; its first line must be a header naming "
                    f"{', '.join(columns[:-1])} and {columns[-1]} (found: {', '.join(header) or 'nothing'})")
    return reader, header
