"""How much of their own code two students share, for every pair of submissions of an assignment.

Only what a student wrote is compared: each submission is rebuilt on the release
(``grade.rebuild.read``) and its answer cells and added code cells are kept; the given code, the
tests and the released stub text, which every submission shares, are boilerplate and count for
no one. The code is normalised (``code_tokens``: renaming and reformatting hide nothing) and
fingerprinted with copydetect, which finds the runs of at least ``min_match`` tokens two
students have in common.

similarity_a is the share of a's own tokens that lie in a run shared with b (and the other way
round), so a copy padded with extra code still scores high on the side it was copied from. A
high score is a reason to read two notebooks side by side, never a finding by itself: short
exercises leave little room, and two honest solutions can share an idiom.
"""
from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np
from tqdm import tqdm

from autograder.similarity.code_tokens import tokens
from autograder.course.layout import Course
from autograder.grade.rebuild import is_students, read

# Tokens in the shortest run that counts: a line and a bit (`m = rng.random(x.shape) < q` is 13). Shorter
# runs match the idioms every honest solution shares (`if not train: return x.copy(), {...}`).
MIN_MATCH = 15
TEXT_LIMIT = 200_000    # characters of a student's own code that are compared and shown
CELL_BREAK = "\n\n"     # between a student's cells in the compared text
_CODE_POINTS = 0xF8FF - 0xE000  # the Private Use Area: one character per distinct normalised token
_CELL_END = "\x00"   # no run crosses it: each cell is compared as its own stretch of code


class SimilarityError(Exception):
    """The comparison cannot run (no release, no submissions); the message says what to do."""


@dataclass
class Document:
    """One student's own code of one assignment."""
    student: str
    text: str = ""                                            # their cells, joined by CELL_BREAK
    cells: list[tuple[int, int]] = field(default_factory=list)  # each cell's range in text
    spans: list[tuple[int, int]] = field(default_factory=list)  # each token's range in text
    fingerprint: object = None                                # copydetect.CodeFingerprint; None: nothing to compare
    problem: str | None = None                                # why it was not compared


@dataclass
class Pair:
    a: Document
    b: Document
    similarity_a: float
    similarity_b: float
    matched_tokens: int

    @property
    def score(self) -> float:
        return max(self.similarity_a, self.similarity_b)


@dataclass
class Comparison:
    assignment: str
    documents: list[Document]
    pairs: list[Pair]  # most similar first
    min_match: int

    @property
    def not_compared(self) -> list[Document]:
        return [d for d in self.documents if d.fingerprint is None]


class _Codes:
    """Normalised token text -> one character, the same for every document of a comparison."""

    def __init__(self):
        self._codes: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        if text not in self._codes:
            # Past 6,400 distinct names (never in one exercise) two rare tokens may share a code.
            self._codes[text] = chr(0xE000 + len(self._codes) % _CODE_POINTS)
        return self._codes[text]

    def encode(self, source: str) -> tuple[str, list[tuple[int, int]]]:
        found = tokens(source)
        return "".join(self(t.text) for t in found), [(t.start, t.end) for t in found]


def _fingerprint(name: str, encoded: str, min_match: int, boilerplate: set):
    """copydetect's fingerprint of every run of min_match tokens within a cell, less the release's runs.

    None if no run is left."""
    from copydetect import CodeFingerprint  # imports matplotlib: only when a comparison runs

    if len(encoded) < min_match:
        return None
    # A window of 1 keeps every run (no winnowing): exercises are short, and the result then does
    # not depend on which of equal-looking runs Python's per-process string hashing favours.
    prints = CodeFingerprint(name, min_match, 1, filter=False, fp=io.StringIO(encoded))
    # Boilerplate is removed here rather than by copydetect 0.5.0, which also drops a run that
    # occurs twice in one file (np.intersect1d with assume_unique on repeated hashes).
    prints.hash_idx = {h: i for h, i in prints.hash_idx.items()
                       if h not in boilerplate and _CELL_END not in encoded[i[0]:i[0] + min_match]}
    prints.hashes = set(prints.hash_idx)
    starts = np.fromiter((p for positions in prints.hash_idx.values() for p in positions), dtype=np.int64)
    covered = np.zeros(len(encoded), dtype=bool)
    for step in range(min_match):
        covered[starts + step] = True
    prints.token_coverage = int(covered.sum())  # the denominator of copydetect's similarity
    return prints if prints.token_coverage else None


def _boilerplate(released: nbformat.NotebookNode, codes: _Codes, min_match: int) -> set:
    """Every run of the release's code cells: given code, tests and the stubs' own text."""
    from copydetect import CodeFingerprint

    runs = set()
    for cell in released.cells:
        encoded, _ = codes.encode(cell.source) if cell.cell_type == "code" else ("", [])
        if len(encoded) >= min_match:
            runs |= CodeFingerprint("release", min_match, 1, filter=False, fp=io.StringIO(encoded)).hashes
    return runs


def document(student: str, path: Path, released, codes: _Codes, min_match: int, boilerplate: set) -> Document:
    screened = read(path, released)
    if screened.notebook is None:
        return Document(student, problem=screened.reason)
    doc = Document(student)
    pieces: list[str] = []
    codes_of_doc: list[str] = []
    offset = 0
    for cell in screened.notebook.cells:
        if not is_students(cell) or not cell.source.strip():
            continue
        source = cell.source[: max(0, TEXT_LIMIT - offset)]
        if len(source) < len(cell.source):
            doc.problem = f"only the first {TEXT_LIMIT:,} characters of this student's code were compared"
            if not source:
                break
        encoded, spans = codes.encode(source)
        pieces.append(source)
        codes_of_doc.append(encoded + _CELL_END)
        doc.cells.append((offset, offset + len(source)))
        doc.spans.extend((offset + s, offset + e) for s, e in spans)
        doc.spans.append((offset + len(source), offset + len(source)))  # the cell's end
        offset += len(source) + len(CELL_BREAK)
    doc.text = CELL_BREAK.join(pieces)
    doc.fingerprint = _fingerprint(student, "".join(codes_of_doc), min_match, boilerplate)
    if doc.fingerprint is None:
        doc.problem = "nothing of the student's own to compare: only the released stub, or less than " \
                      f"{min_match} tokens of code"
    return doc


def _compare(a: Document, b: Document) -> Pair:
    from copydetect import compare_files

    _, (similarity_a, similarity_b), slices = compare_files(a.fingerprint, b.fingerprint)
    matched = [int(np.sum(s[1] - s[0])) if len(s) and len(s[0]) else 0 for s in slices]
    return Pair(a, b, float(similarity_a), float(similarity_b), min(matched))


def compare(course: Path, assignment: str, min_match: int = MIN_MATCH, progress: bool = True) -> Comparison:
    """Every pair of this assignment's submissions, most similar first."""
    if min_match < 2:
        raise SimilarityError(f"--min-match must be at least 2 tokens, not {min_match}")
    layout = Course(Path(course))
    release_path = layout.release_notebook(assignment)
    if not release_path.exists():
        raise SimilarityError(f"{assignment} has not been released in {course} (no {release_path}): run "
                              f"`dropout-grader release {assignment} --course {course}` first")
    submitted = [(s, p) for s, a, p in layout.submissions() if a == assignment]
    if not submitted:
        raise SimilarityError(f"no submissions of {assignment} in {course / 'submitted'}: run `dropout-grader collect` first")
    released = nbformat.read(release_path, as_version=4)
    codes = _Codes()
    boilerplate = _boilerplate(released, codes, min_match)
    documents = [document(student, path, released, codes, min_match, boilerplate)
                 for student, path in tqdm(submitted, desc=f"reading {assignment}", unit="notebook",
                                           disable=not progress)]
    comparable = [d for d in documents if d.fingerprint is not None]
    count = len(comparable) * (len(comparable) - 1) // 2
    pairs = [_compare(a, b) for a, b in tqdm(itertools.combinations(comparable, 2), total=count,
                                              desc=f"comparing {assignment}", unit="pair", disable=not progress)]
    pairs.sort(key=lambda p: (-p.score, -p.matched_tokens, p.a.student, p.b.student))
    return Comparison(assignment, documents, pairs, min_match)


def matching_regions(pair: Pair) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    """(start, end, match number) in a.text and in b.text: each region of a and its copy in b share a number.

    Shared runs that follow each other on both sides are joined, and the longest are taken first,
    each token at most once per side (greedy string tiling, as JPlag shows matches), so every
    numbered region has exactly one counterpart. Numbered in a's reading order.
    """
    fa, fb = pair.a.fingerprint, pair.b.fingerprint
    k = fa.k
    starts = {(int(pa), int(pb)) for run in fa.hashes & fb.hashes
              for pa in fa.hash_idx[run] for pb in fb.hash_idx[run]}
    diagonals = []  # (tokens, start in a, start in b) of each maximal run of consecutive shared starts
    for pa, pb in starts:
        if (pa - 1, pb - 1) not in starts:
            n = 1
            while (pa + n, pb + n) in starts:
                n += 1
            diagonals.append((n + k - 1, pa, pb))
    used_a, used_b = np.zeros(len(pair.a.spans), dtype=bool), np.zeros(len(pair.b.spans), dtype=bool)
    tiles = []
    for length, pa, pb in sorted(diagonals, key=lambda d: (-d[0], d[1], d[2])):
        free = ~used_a[pa:pa + length] & ~used_b[pb:pb + length]
        # The stretches of it neither side has used yet, where still long enough to count.
        edges = np.flatnonzero(np.diff(np.concatenate([[0], free.astype(np.int8), [0]])))
        for first, last in zip(edges[::2], edges[1::2]):
            if last - first >= k:
                used_a[pa + first:pa + last] = used_b[pb + first:pb + last] = True
                tiles.append((pa + first, pb + first, int(last - first)))
    tiles.sort()

    def in_text(doc: Document, start: int, length: int, number: int) -> tuple[int, int, int]:
        return doc.spans[start][0], doc.spans[start + length - 1][1], number

    regions_a = [in_text(pair.a, ta, n, i) for i, (ta, _, n) in enumerate(tiles)]
    regions_b = sorted((in_text(pair.b, tb, n, i) for i, (_, tb, n) in enumerate(tiles)))
    return regions_a, regions_b
