"""Read a submitted notebook, repairing what a student's tools commonly get wrong in its format.

A notebook that fails nbformat's schema used to get 0 points although its cells were all there:
a 4.4 file with cell ids (a cell added by a newer Jupyter), a field in the wrong kind of cell
(``execution_count`` on a markdown cell after a cell type change), a missing or repeated id,
metadata of the wrong type. Grading uses only the cells' sources (see ``rebuild``), so such
slips are repaired and recorded; a file that is not a JSON notebook at all is refused. An
nbformat 3 file (an old Jupyter's) is converted to 4 as Jupyter converts it, then repaired if needed.
"""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import nbformat
from nbformat.validator import normalize

# The fields nbformat 4.5 allows on each kind of cell.
CELL_FIELDS = {
    "code": {"id", "cell_type", "metadata", "source", "outputs", "execution_count"},
    "markdown": {"id", "cell_type", "metadata", "source", "attachments"},
    "raw": {"id", "cell_type", "metadata", "source", "attachments"},
}
CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")  # nbformat 4.5's pattern and length


class NotANotebook(ValueError):
    """The file cannot be read as a notebook, even repaired; the message says why in one sentence."""


def _load(path: Path) -> dict:
    try:
        raw = json.loads(Path(path).read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise NotANotebook("the file is not UTF-8 text") from None
    except json.JSONDecodeError as err:
        raise NotANotebook(f"the file is not JSON ({err.msg} at line {err.lineno}, column {err.colno})") from None
    except RecursionError:
        raise NotANotebook("its JSON is nested too deeply to read") from None
    # nbformat 3 keeps its cells in worksheets; nbformat's reader converts it to 4 like Jupyter does
    v3 = isinstance(raw, dict) and raw.get("nbformat") == 3 and isinstance(raw.get("worksheets"), list)
    if not isinstance(raw, dict) or not (v3 or isinstance(raw.get("cells"), list)):
        raise NotANotebook("the file holds JSON, but not a notebook (no list of cells)")
    return raw


def _upgraded(raw: dict) -> dict:
    """An nbformat 3 file as a version 4 dict, for the repair (which knows only version 4)."""
    try:
        return json.loads(json.dumps(nbformat.reads(json.dumps(raw), as_version=4)))
    except Exception as err:  # noqa: BLE001 - the conversion trips on cells of the wrong shape
        raise NotANotebook(f"nbformat cannot convert it from version 3 ({type(err).__name__})") from None


def _repair_cells(raw: dict) -> list[str]:
    """Fix the cells in place (nbformat 4 only); what was done, in words."""
    repairs, seen = [], set()
    if not isinstance(raw.get("metadata"), dict):
        raw["metadata"] = {}
        repairs.append("reset the notebook's metadata, which was not a mapping")
    minor = raw.get("nbformat_minor", 0)
    if not isinstance(minor, int) or minor < 5 and any("id" in c for c in raw["cells"] if isinstance(c, dict)):
        raw["nbformat_minor"] = 5
        repairs.append(f"it had cell ids but said nbformat 4.{minor}: marked 4.5")
    with_ids = raw.get("nbformat_minor", 0) >= 5
    stray, cleared, renamed, dropped = 0, 0, 0, 0
    taken = {c.get("id") for c in raw["cells"] if isinstance(c, dict) and isinstance(c.get("id"), str)}
    fresh = (f"repaired-{n}" for n in range(len(raw["cells"]) + len(taken) + 1))  # the same ids every run
    kept = []
    for cell in raw["cells"]:
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str) or cell["cell_type"] not in CELL_FIELDS:
            stray += 1
            continue
        kind = cell["cell_type"]
        extra = set(cell) - CELL_FIELDS[kind]
        if not isinstance(cell.get("attachments", {}), dict):  # nbformat's normaliser trips on them; never graded
            extra.add("attachments")
        for key in extra:
            del cell[key]
        stray += bool(extra)
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"], cleared = {}, cleared + 1
        if not isinstance(cell.get("source"), (str, list)):
            cell["source"] = ""
        if kind == "code":
            outputs = cell.setdefault("outputs", [])
            if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
                cell["outputs"], dropped = [], dropped + 1  # nbformat's normaliser trips on them; never graded
            cell.setdefault("execution_count", None)
        if with_ids:
            cell_id = cell.get("id")
            if not isinstance(cell_id, str) or not CELL_ID.fullmatch(cell_id) or cell_id in seen:
                cell["id"], renamed = next(i for i in fresh if i not in taken), renamed + 1
            seen.add(cell["id"])
        kept.append(cell)
    raw["cells"] = kept
    if stray:
        repairs.append(f"removed fields or entries that do not belong in a cell ({stray} cell(s))")
    if cleared:
        repairs.append(f"reset metadata that was not a mapping ({cleared} cell(s))")
    if renamed:
        repairs.append(f"gave {renamed} cell(s) a new id (missing, repeated or malformed)")
    if dropped:
        repairs.append(f"removed outputs that were not a list of outputs ({dropped} cell(s))")
    return repairs


def _normalised(raw: dict) -> nbformat.NotebookNode:
    """nbformat's own normalisation of the repaired cells, validated (raises what nbformat raises)."""
    _, raw = normalize(copy.deepcopy(raw), strip_invalid_metadata=True)
    nb = nbformat.reads(json.dumps(raw), as_version=4)
    nbformat.validate(nb)
    return nb


def read_repaired(path) -> tuple[nbformat.NotebookNode, list[str]]:
    """The notebook at ``path`` (as nbformat 4) and the repairs it needed, in words (empty when none).

    Raises :class:`NotANotebook` when it cannot be repaired.
    """
    raw = _load(path)
    try:
        nb = nbformat.reads(json.dumps(raw), as_version=4)
        nbformat.validate(nb)
        return nb, []
    except Exception as err:  # noqa: BLE001 - nbformat's reader trips on a wrong type before validating
        if raw.get("nbformat") not in (3, 4, "4") or isinstance(raw.get("nbformat"), bool):
            raise NotANotebook(f"nbformat cannot read it ({type(err).__name__})") from None
    converted = raw["nbformat"] == 3
    if converted:
        raw = _upgraded(raw)
    version = raw["nbformat"]
    repairs = (["converted from nbformat 3"] if converted else []) + _repair_cells(raw)
    if type(version) is not int:
        raw["nbformat"] = 4
        repairs.insert(0, f"its format version {version!r} read as 4")
    try:
        try:
            nb = _normalised(raw)
        except Exception:  # noqa: BLE001 - an output nbformat cannot even read (text of numbers, say)
            for cell in raw["cells"]:  # outputs are never graded: drop them rather than refuse the file
                if cell["cell_type"] == "code":
                    cell["outputs"], cell["execution_count"] = [], None
            nb = _normalised(raw)
            repairs.append("removed outputs that were not valid")
    except nbformat.ValidationError as err:
        raise NotANotebook(f"it does not follow the notebook format even after repair: {err.message}") from None
    except Exception as err:  # noqa: BLE001
        raise NotANotebook(f"nbformat cannot read it ({type(err).__name__})") from None
    return nb, repairs or ["normalised by nbformat"]
