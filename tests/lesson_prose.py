"""The prose of a lesson, and the numbers in it that were typed by hand instead of glued.

A number a reader sees in a sentence must come from the executed code beside it (MyST-NB's
``{glue:text}`` role), so that prose and output cannot disagree. What is not prose is left out:
front matter, code cells and code blocks, inline code, math, roles (glue, cite, doc, numref, ...),
directive options, labels and comments. Inputs such as ``p_drop = 0.5`` therefore belong in inline
code or math, where they read as settings rather than results.

Allowed by hand: integers 0-10 (counts such as "two layers" written as "2 layers", "3×3"),
years, and numbers that name a figure, table, section, chapter, exercise, equation or page.
"""
from __future__ import annotations

import re
from pathlib import Path

_FENCE = re.compile(r"^(`{3,}|~{3,})")
_MATH_BLOCK = re.compile(r"\$\$.*?\$\$", re.S)
_INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)[^$\n]+?\$")
_ROLE = re.compile(r"\{[\w:.-]+\}`[^`]*`")
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)*)(?![\w])")
_NAMING_WORDS = re.compile(
    r"(?:fig\.|figs?\.|figure|figures|table|tables|section|sec\.|chapter|chapters|exercise|exercises|"
    r"eq\.|equation|equations|page|pages|pp?\.|part|lesson|step|algorithm|appendix|§)\s*$", re.I)


def prose(text: str) -> str:
    """The reader-facing sentences of a MyST lesson, one output line per source line kept."""
    lines = text.splitlines()
    if lines and lines[0].strip() == "---":  # front matter
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), 0)
        lines = lines[end + 1:]
    kept, fence, directive_body = [], None, False
    for line in lines:
        stripped = line.strip()
        opener = _FENCE.match(stripped)
        if fence is not None:
            if stripped.startswith(fence) and stripped.rstrip("`~") == "":
                fence = None
            elif directive_body:
                kept.append(_prose_line(line))
            continue
        if opener:
            fence = opener.group(1)
            head = stripped[len(fence):]
            # Admonitions and other prose directives keep their body and title; code and math do not.
            directive_body = bool(re.match(r"\{(admonition|note|tip|warning|danger|important|caution|"
                                           r"hint|attention|seealso|epigraph|topic|sidebar|margin|"
                                           r"figure|dropdown)\}", head))
            if directive_body:
                kept.append(_prose_line(re.sub(r"^\{[\w-]+\}", "", head)))
            continue
        kept.append(_prose_line(line))
    return _MATH_BLOCK.sub(" ", "\n".join(kept))


def _prose_line(line: str) -> str:
    stripped = line.strip()
    if stripped.startswith((":", "%")) or re.match(r"^\([\w:.-]+\)=$", stripped):
        return ""  # directive options, MyST comments, labels
    for pattern in (_HTML_COMMENT, _ROLE, _INLINE_CODE, _INLINE_MATH, _LINK_TARGET):
        line = pattern.sub(" ", line)
    return line


def hand_typed_numbers(text: str) -> list[tuple[int, str, str]]:
    """(line, number, line text) for every number in the prose that is neither glued nor allowed."""
    found = []
    for number_line, line in enumerate(prose(text).splitlines(), 1):
        for match in _NUMBER.finditer(line):
            number = match.group(1)
            if _allowed(number, line[:match.start()]):
                continue
            found.append((number_line, number, line.strip()))
    return found


def _allowed(number: str, before: str) -> bool:
    plain = number.replace(",", "")
    if re.fullmatch(r"\d+", plain) and (int(plain) <= 10 or 1900 <= int(plain) <= 2099):
        return True
    if _NAMING_WORDS.search(before):
        return True
    return False


def lesson_files(root: Path) -> list[Path]:
    return sorted(root.glob("chapters/*/lesson.md"))
