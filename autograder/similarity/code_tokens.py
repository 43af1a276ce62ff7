"""Python code as a sequence of normalised tokens, each tied to where it stands in the source.

Normalised so that what a copier changes cheaply changes nothing: every name a student chooses
becomes one placeholder, numbers and strings one each, and comments, blank lines, indentation
and line breaks inside brackets are gone. Keywords, built-ins and attribute names stay as
written: ``rng.binomial`` versus ``rng.random`` is a real difference between two solutions,
and renaming a variable cannot change it.
"""
from __future__ import annotations

import builtins
import io
import keyword
import re
import tokenize
from typing import NamedTuple

NAME, NUMBER, STRING, END = "V", "N", "S", ";"  # the placeholders
_KEPT_NAMES = frozenset(keyword.kwlist) | frozenset(dir(builtins))
_LAYOUT = {tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER}
# Python 3.12 splits f-strings into parts; the whole f-string is one STRING placeholder there too.
# The expressions inside it are tokens as usual.
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)
_FSTRING_PARTS = {getattr(tokenize, n) for n in ("FSTRING_MIDDLE", "FSTRING_END") if hasattr(tokenize, n)}
# What is left after the tokenizer gives up (a stray indent, an unclosed bracket): words and symbols.
_ROUGH = re.compile(r"#[^\n]*|[^\W\d]\w*|\d[\w.]*|\"[^\"\n]*\"?|'[^'\n]*'?|\n|[^\s]")


class Token(NamedTuple):
    start: int  # character offsets into the source
    end: int
    text: str   # normalised


def _normalised_name(word: str, after_dot: bool) -> str:
    return word if after_dot or word in _KEPT_NAMES else NAME


def _rough(source: str, offset: int, after_dot: bool) -> list[Token]:
    found = []
    for match in _ROUGH.finditer(source, offset):
        word = match.group()
        if word.startswith("#"):
            continue
        if word == "\n":
            text = END
        elif word[0] in "\"'":
            text = STRING
        elif word[0].isdigit():
            text = NUMBER
        elif word[0].isalpha() or word[0] == "_":
            text = _normalised_name(word, after_dot)
        else:
            text = word
        if found and text == END and found[-1].text == END:
            continue
        found.append(Token(match.start(), match.end(), text))
        after_dot = word == "."
    return found


def tokens(source: str) -> list[Token]:
    """The source's tokens that count, normalised; never raises on broken code."""
    line_starts = [0] + [i + 1 for i, char in enumerate(source) if char == "\n"]

    def offset(row: int, col: int) -> int:
        return min(line_starts[min(row, len(line_starts)) - 1] + col, len(source))

    found: list[Token] = []
    after_dot, resume = False, 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            start, end = offset(*tok.start), offset(*tok.end)
            resume = max(resume, end)
            if (tok.type in _LAYOUT or tok.type in _FSTRING_PARTS
                    or (tok.type == tokenize.ERRORTOKEN and not tok.string.strip())):
                continue
            if tok.type == tokenize.NAME:
                text = _normalised_name(tok.string, after_dot)
            elif tok.type == tokenize.NUMBER:
                text = NUMBER
            elif tok.type in (tokenize.STRING, _FSTRING_START):
                text = STRING
            elif tok.type == tokenize.NEWLINE or tok.string == ";":
                text = END  # one statement ends, whether by a line break or a semicolon
            else:
                text = tok.string
            found.append(Token(start, end, text))
            after_dot = tok.string == "."
    except (tokenize.TokenError, SyntaxError):  # IndentationError is a SyntaxError
        found.extend(_rough(source, resume, after_dot))
    return found
