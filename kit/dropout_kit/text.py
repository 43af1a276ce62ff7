"""Shortening a message without cutting it mid-sentence.

Messages and the grader's reasons can quote a student's exception message, which can be any
length, so they are capped; a cap that cut at a fixed character left readers with half a
sentence and no sign of it. Here whole sentences are kept and what is left out is said in words.
The kit's summary, the trusted checker and the grader's reasons all shorten with this.
"""
from __future__ import annotations

import re

# A sentence ends at . ; ! or ? followed by white space (so "1.333" and "x.shape" stay whole).
_SENTENCE_END = re.compile(r"(?<=[.;!?])\s+")


def with_note(text: str, note: str) -> str:
    """``text`` followed by the sentence ``note``, with a full stop between them when ``text`` has none."""
    text, note = text.rstrip(), note.strip()
    if not note:
        return text
    if not text:
        return note
    return f"{text}{'' if text.endswith(('.', '!', '?')) else '.'} {note}"


def shortened(text: str, limit: int) -> str:
    """``text`` if it has at most ``limit`` characters; else the whole sentences that fit and a note.

    When even the first sentence is longer than ``limit`` (a quoted message of one long line), it
    is cut after a word, and the note says so and how much is missing.
    """
    text = str(text)
    if len(text) <= limit:
        return text
    kept = ""
    for sentence in _SENTENCE_END.split(text):
        candidate = f"{kept} {sentence}" if kept else sentence
        if len(candidate) > limit:
            break
        kept = candidate
    if kept:
        return f"{kept} [{len(text) - len(kept)} more characters not shown]"
    head = text[:limit].rsplit(None, 1)[0] if " " in text[:limit] else text[:limit]
    return f"{head} [... the sentence goes on for {len(text) - len(head)} more characters, not shown]"
