"""`dropout-grader similarity`: planted copies rank above independent solutions, stubs are boilerplate.

Eight students solve ch02 independently, each in a style of their own; three more copy one of
them and disguise it (every name renamed; statements reordered and reformatted; local names
renamed and a helper added). Two more hand in the untouched stub.
"""
import csv
import re
import shutil
import textwrap

import nbformat
import pytest

from autograder.cli import main
from autograder.similarity.code_tokens import tokens
from autograder.course.layout import Course
from autograder.release.notebooks import release

# student -> (vanilla answer cell, inverted answer cell[, a cell they added at the end])
INDEPENDENT = {
    "alice": ('''
def _check(p_drop):
    if not 0.0 <= p_drop <= 1.0:  # NaN fails both comparisons
        raise ValueError(f"p_drop is the drop probability and must be in [0, 1], got {p_drop}")


def vanilla_dropout_forward(x, p_drop, train, rng=None):
    _check(p_drop)
    if not train:
        return x * (1.0 - p_drop), {"mask": None, "scale": 1.0 - p_drop}
    mask = rng.random(x.shape) >= p_drop
    return x * mask, {"mask": mask, "scale": 1.0}
''', '''
def inverted_dropout_forward(x, p_drop, train, rng=None):
    _check(p_drop)
    if not train:
        return x.copy(), {"mask": None, "scale": 1.0}
    mask = rng.random(x.shape) >= p_drop
    scale = 1.0 / (1.0 - p_drop) if p_drop < 1.0 else 0.0
    return x * mask * scale, {"mask": mask, "scale": scale}
'''),
    "bruno": ('''
import math

def vanilla_dropout_forward(x, p_drop, train, rng=None):
    if math.isnan(p_drop) or p_drop < 0 or p_drop > 1:
        raise ValueError("p_drop (probability of dropping) must lie in [0, 1]; got %r" % p_drop)
    keep = 1 - p_drop
    if train:
        m = rng.binomial(1, keep, size=np.shape(x)).astype(bool)
        y = np.where(m, x, 0.0)
        return y, dict(mask=m, scale=1.0)
    y = keep * np.asarray(x)
    return y, dict(mask=None, scale=keep)
''', '''
def inverted_dropout_forward(x, p_drop, train, rng=None):
    if math.isnan(p_drop) or not (0 <= p_drop <= 1):
        raise ValueError("p_drop (probability of dropping) must lie in [0, 1]; got %r" % p_drop)
    if not train:
        return np.array(x, copy=True), dict(mask=None, scale=1.0)
    m = rng.binomial(1, 1 - p_drop, size=np.shape(x)).astype(bool)
    s = 0.0 if p_drop == 1 else 1 / (1 - p_drop)
    return np.where(m, x * s, 0.0), dict(mask=m, scale=s)
'''),
    "chen": ('''
def vanilla_dropout_forward(x, p_drop, train, rng=None):
    p = float(p_drop)
    if p != p:
        raise ValueError("p_drop is NaN")
    if p < 0.0 or p > 1.0:
        raise ValueError(f"p_drop={p} is not a drop probability in [0, 1]")
    cache = {}
    if train:
        cache["mask"] = rng.choice([True, False], size=x.shape, p=[1.0 - p, p])
        cache["scale"] = 1.0
        out = x * cache["mask"]
    else:
        cache["mask"] = None
        cache["scale"] = 1.0 - p
        out = x * cache["scale"]
    return out, cache
''', '''
def inverted_dropout_forward(x, p_drop, train, rng=None):
    p = float(p_drop)
    if p != p or p < 0.0 or p > 1.0:
        raise ValueError(f"p_drop={p} is not a drop probability in [0, 1]")
    cache = {"mask": None, "scale": 1.0}
    if not train:
        return x.copy(), cache
    cache["mask"] = rng.choice([True, False], size=x.shape, p=[1.0 - p, p])
    if p < 1.0:
        cache["scale"] = 1.0 / (1.0 - p)
    else:
        cache["scale"] = 0.0
    return x * cache["mask"] * cache["scale"], cache
'''),
    "dana": ('''
def _validated(p_drop):
    if not np.isfinite(p_drop) or p_drop < 0 or p_drop > 1:
        raise ValueError(f"expected a drop probability p_drop in [0, 1], got {p_drop!r}")
    return float(p_drop)


def _keep_mask(rng, shape, p_drop):
    return rng.uniform(0.0, 1.0, size=shape) > p_drop


def vanilla_dropout_forward(x, p_drop, train, rng=None):
    p_drop = _validated(p_drop)
    if train:
        keep = _keep_mask(rng, x.shape, p_drop)
        return np.multiply(x, keep), {"mask": keep, "scale": 1.0}
    return np.multiply(x, 1 - p_drop), {"mask": None, "scale": 1 - p_drop}
''', '''
def inverted_dropout_forward(x, p_drop, train, rng=None):
    p_drop = _validated(p_drop)
    if not train:
        return x.copy(), {"mask": None, "scale": 1.0}
    if p_drop == 1:
        return np.zeros_like(x), {"mask": np.zeros(x.shape, dtype=bool), "scale": 0.0}
    keep = _keep_mask(rng, x.shape, p_drop)
    scale = 1 / (1 - p_drop)
    return x * keep * scale, {"mask": keep, "scale": scale}
'''),
    "emeka": ('''
def _dropout(x, p_drop, train, rng, inverted):
    if not (0 <= p_drop <= 1):
        raise ValueError("p_drop must be between 0 and 1 (the dropping probability), not " + str(p_drop))
    keep_prob = 1 - p_drop
    if train:
        mask = rng.random(size=x.shape) < keep_prob
        if inverted:
            scale = 1 / keep_prob if keep_prob > 0 else 0.0
        else:
            scale = 1.0
        out = x * mask * scale
    else:
        mask = None
        scale = 1.0 if inverted else keep_prob
        out = x * scale
    return out, {"mask": mask, "scale": scale}


def vanilla_dropout_forward(x, p_drop, train, rng=None):
    return _dropout(x, p_drop, train, rng, inverted=False)
''', '''
def inverted_dropout_forward(x, p_drop, train, rng=None):
    return _dropout(x, p_drop, train, rng, inverted=True)
'''),
    "fatima": ('''
def vanilla_dropout_forward(x, p_drop, train, rng=None):
    x = np.asarray(x)
    if p_drop != p_drop or p_drop < 0 or p_drop > 1:
        raise ValueError(f"vanilla dropout: p_drop must be a probability of dropping in [0, 1] (got {p_drop})")
    if not train:
        return x * (1 - p_drop), {"scale": 1 - p_drop, "mask": None}
    u = rng.random(x.size).reshape(x.shape)
    kept = np.greater_equal(u, p_drop)
    return np.where(kept, x, 0), {"scale": 1.0, "mask": kept}
''', '''
def inverted_dropout_forward(x, p_drop, train, rng=None):
    x = np.asarray(x)
    if p_drop != p_drop or p_drop < 0 or p_drop > 1:
        raise ValueError(f"inverted dropout: p_drop must be a probability of dropping in [0, 1] (got {p_drop})")
    if not train:
        return x.copy(), {"scale": 1.0, "mask": None}
    u = rng.random(x.size).reshape(x.shape)
    kept = np.greater_equal(u, p_drop)
    factor = 1.0 / (1.0 - p_drop) if p_drop < 1 else 0.0
    return np.where(kept, x * factor, 0), {"scale": factor, "mask": kept}
'''),
    "gus": ('''
def vanilla_dropout_forward(x, p_drop, train, rng=None):
    if np.clip(p_drop, 0.0, 1.0) != p_drop:  # also true for NaN
        raise ValueError(f"p_drop = {p_drop}: the probability of dropping a unit must be in [0, 1]")
    keep = 1.0 - p_drop
    mask = rng.binomial(n=1, p=keep, size=x.shape) == 1 if train else None
    scale = 1.0 if train else keep
    out = x * scale if mask is None else x * mask * scale
    return out, {"mask": mask, "scale": scale}
''', '''
def inverted_dropout_forward(x, p_drop, train, rng=None):
    if np.clip(p_drop, 0.0, 1.0) != p_drop:
        raise ValueError(f"p_drop = {p_drop}: the probability of dropping a unit must be in [0, 1]")
    keep = 1.0 - p_drop
    if train:
        mask = rng.binomial(n=1, p=keep, size=x.shape) == 1
        scale = 1.0 / keep if keep else 0.0
        return x * mask * scale, {"mask": mask, "scale": scale}
    return np.copy(x), {"mask": None, "scale": 1.0}
'''),
    "hana": ('''
import math


def _check_p_drop(p_drop):
    if math.isnan(float(p_drop)):
        raise ValueError("p_drop is NaN; it must be a drop probability in [0, 1]")
    if p_drop < 0 or p_drop > 1:
        raise ValueError(f"p_drop must be in [0, 1] (probability of dropping), got {p_drop}")


def _check_x(x):
    if not np.issubdtype(np.asarray(x).dtype, np.floating):
        raise TypeError(f"x must be a floating array, got dtype {np.asarray(x).dtype}")


def vanilla_dropout_forward(x, p_drop, train, rng=None):
    _check_p_drop(p_drop)
    _check_x(x)
    if train:
        draws = rng.random(x.shape, dtype=np.float64)
        mask = draws < 1 - p_drop
        out = np.zeros_like(x)
        out[mask] = x[mask]
        return out, {"mask": mask, "scale": 1.0}
    scale = 1 - p_drop
    return scale * x, {"mask": None, "scale": scale}
''', '''
def inverted_dropout_forward(x, p_drop, train, rng=None):
    _check_p_drop(p_drop)
    _check_x(x)
    if not train:
        return x.copy(), {"mask": None, "scale": 1.0}
    mask = rng.random(x.shape) < 1 - p_drop
    scale = 0.0 if p_drop == 1 else 1.0 / (1 - p_drop)
    out = np.zeros_like(x)
    out[mask] = x[mask] * scale
    return out, {"mask": mask, "scale": scale}
'''),
}

PLANTED = {
    # alice's, every name renamed (the helper, its argument and the locals).
    ("alice", "copy_renamed"): ('''
def _validate_rate(rate):
    if not 0.0 <= rate <= 1.0:  # NaN fails both comparisons
        raise ValueError(f"p_drop is the drop probability and must be in [0, 1], got {rate}")


def vanilla_dropout_forward(x, p_drop, train, rng=None):
    _validate_rate(p_drop)
    if not train:
        return x * (1.0 - p_drop), {"mask": None, "scale": 1.0 - p_drop}
    keep_these = rng.random(x.shape) >= p_drop
    return x * keep_these, {"mask": keep_these, "scale": 1.0}
''', '''
def inverted_dropout_forward(x, p_drop, train, rng=None):
    _validate_rate(p_drop)
    if not train:
        return x.copy(), {"mask": None, "scale": 1.0}
    keep_these = rng.random(x.shape) >= p_drop
    factor = 1.0 / (1.0 - p_drop) if p_drop < 1.0 else 0.0
    return x * keep_these * factor, {"mask": keep_these, "scale": factor}
'''),
    # dana's, helpers swapped, independent statements reordered, spacing, line breaks and comments changed.
    ("dana", "copy_reordered"): ('''
# helpers first
def _keep_mask( rng , shape , p_drop ) :
    # uniform draws above the rate survive
    return rng.uniform( 0.0 , 1.0 ,
                        size = shape ) > p_drop

def _validated( p_drop ) :
    if ( not np.isfinite( p_drop )
         or p_drop < 0
         or p_drop > 1 ) :
        raise ValueError( f"expected a drop probability p_drop in [0, 1], got {p_drop!r}" )
    return float( p_drop )

def vanilla_dropout_forward(x, p_drop, train, rng=None):
    p_drop = _validated( p_drop )
    if train :
        keep = _keep_mask( rng , x.shape , p_drop )
        return np.multiply( x , keep ) , { "mask" : keep , "scale" : 1.0 }
    # evaluation: scale down
    return np.multiply( x , 1 - p_drop ) , { "mask" : None , "scale" : 1 - p_drop }
''', '''
def inverted_dropout_forward(x, p_drop, train, rng=None):
    p_drop = _validated( p_drop )
    if not train :
        return x.copy( ) , { "mask" : None , "scale" : 1.0 }
    if p_drop == 1 :
        return np.zeros_like( x ) , { "mask" : np.zeros( x.shape , dtype = bool ) , "scale" : 0.0 }
    scale = 1 / ( 1 - p_drop )  # computed before the mask this time
    keep = _keep_mask( rng , x.shape , p_drop )
    return x * keep * scale , { "mask" : keep , "scale" : scale }
'''),
    # bruno's, function-local names renamed and a helper added for the mask.
    ("bruno", "copy_helper"): ('''
import math


def _bernoulli_mask(rng, keep_probability, shape):
    return rng.binomial(1, keep_probability, size=shape).astype(bool)


def vanilla_dropout_forward(x, p_drop, train, rng=None):
    if math.isnan(p_drop) or p_drop < 0 or p_drop > 1:
        raise ValueError("p_drop (probability of dropping) must lie in [0, 1]; got %r" % p_drop)
    q = 1 - p_drop
    if train:
        kept = _bernoulli_mask(rng, q, np.shape(x))
        result = np.where(kept, x, 0.0)
        return result, dict(mask=kept, scale=1.0)
    result = q * np.asarray(x)
    return result, dict(mask=None, scale=q)
''', '''
def inverted_dropout_forward(x, p_drop, train, rng=None):
    if math.isnan(p_drop) or not (0 <= p_drop <= 1):
        raise ValueError("p_drop (probability of dropping) must lie in [0, 1]; got %r" % p_drop)
    if not train:
        return np.array(x, copy=True), dict(mask=None, scale=1.0)
    kept = _bernoulli_mask(rng, 1 - p_drop, np.shape(x))
    factor = 0.0 if p_drop == 1 else 1 / (1 - p_drop)
    return np.where(kept, x * factor, 0.0), dict(mask=kept, scale=factor)
'''),
}
STUBS = ("stub_one", "stub_two")
ANSWERS = ("answer_02", "answer_04")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("similarity") / "course"
    release(root, ("ch02",))
    released = nbformat.read(Course(root).release_notebook("ch02"), as_version=4)
    classes = {**INDEPENDENT, **{copier: cells for (_, copier), cells in PLANTED.items()}}
    for student, cells in classes.items():
        nb = nbformat.from_dict(released)
        answers = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") in ANSWERS]
        for cell, code in zip(answers, cells):
            cell.source = textwrap.dedent(code).strip() + "\n"
        _write(root, student, nb)
    for student in STUBS:
        _write(root, student, released)
    return root


def _write(root, student, nb):
    path = Course(root).submitted_notebook(student, "ch02")
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def report(course):
    before = {p: p.read_bytes() for p in (course / "submitted").rglob("*.ipynb")}
    main(["similarity", "--course", str(course), "--assignment", "ch02"])
    assert {p: p.read_bytes() for p in (course / "submitted").rglob("*.ipynb")} == before  # only read
    html = (course / "similarity" / "ch02.html").read_text()
    with (course / "similarity" / "ch02.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    return html, rows


def _score(row):
    return max(float(row["similarity_a"]), float(row["similarity_b"]))


def test_the_independent_solutions_are_correct():
    """The fixture is what it claims: every solution (copies included) passes the visible checks."""
    import numpy as np
    from dropout_kit import numpy_checks as checks

    for student, cells in {**INDEPENDENT, **{c: v for (_, c), v in PLANTED.items()}}.items():
        space = {"np": np}
        for code in cells:
            exec(textwrap.dedent(code), space)  # noqa: S102 - our own test solutions
        checks.check_forward(space["vanilla_dropout_forward"], "vanilla")
        checks.check_forward(space["inverted_dropout_forward"], "inverted")
        with pytest.raises(ValueError):
            space["inverted_dropout_forward"](np.ones(3), float("nan"), True, np.random.default_rng(0))


def test_every_planted_copy_ranks_above_every_independent_pair(report):
    _, rows = report
    planted = {frozenset(pair) for pair in PLANTED}
    copies = [r for r in rows if frozenset((r["student_a"], r["student_b"])) in planted]
    others = [r for r in rows if frozenset((r["student_a"], r["student_b"])) not in planted]
    assert len(copies) == len(PLANTED)
    code_students = len(INDEPENDENT) + len(PLANTED)
    assert len(rows) == code_students * (code_students - 1) // 2  # the stubs have nothing to compare
    lowest_copy, highest_other = min(map(_score, copies)), max(map(_score, others))
    assert lowest_copy > highest_other, (lowest_copy, max(others, key=_score))
    assert {frozenset((r["student_a"], r["student_b"])) for r in rows[:len(PLANTED)]} == planted  # sorted
    # A full copy (renamed, reordered) covers nearly all of both sides.
    renamed = next(r for r in copies if "copy_renamed" in (r["student_a"], r["student_b"]))
    assert min(float(renamed["similarity_a"]), float(renamed["similarity_b"])) > 0.9


def test_untouched_stubs_are_boilerplate_not_a_match(report):
    html, rows = report
    assert not [r for r in rows if {r["student_a"], r["student_b"]} & set(STUBS)]
    not_compared = html.split("<h2>Not compared</h2>", 1)[1].split("</ul>", 1)[0]
    for stub in STUBS:
        assert stub in not_compared and "only the released stub" in not_compared


def test_the_page_marks_matching_regions_and_is_offline(report):
    html, rows = report
    sections = re.findall(r"<section id='pair-(\d+)'>(.*?)</section>", html, re.S)
    assert len(sections) >= len(PLANTED)
    for _, section in sections[: len(PLANTED)]:
        assert "copy_" in section
        left, right = section.split("<h3>")[1:]  # the two students, side by side
        numbers = [re.findall(r"<mark class='match' title='match (\d+)'", side) for side in (left, right)]
        assert numbers[0] and sorted(numbers[0]) == sorted(numbers[1])  # each region has its counterpart
    # The renamed copy: the same line is marked on both sides, under each student's own names.
    renamed = next(body for _, body in sections if "copy_renamed" in body and "alice" in body)
    marked = " ".join(re.findall(r"<mark[^>]*>(.*?)</mark>", renamed, re.S))
    assert "mask = rng.random(x.shape) &gt;= p_drop" in marked
    assert "keep_these = rng.random(x.shape) &gt;= p_drop" in marked
    assert "<script" not in html.lower()
    assert not re.search(r"(?i)(https?:)?//[a-z0-9]", html)  # no address at all: these students wrote none
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    # Given code and tests are not the students': neither appears as compared code.
    assert "check_forward(" not in html and "YOUR CODE HERE" not in html


def test_renaming_and_reformatting_do_not_change_the_tokens():
    a = "def f(x, p):\n    mask = rng.random(x.shape) >= p  # keep\n    return x * mask, {'mask': mask}\n"
    b = "def g( y ,\n       q ):\n\n    kept=rng.random(y.shape)>=q\n    return y*kept, {\n            \"mask\":kept}\n"
    assert [t.text for t in tokens(a)] == [t.text for t in tokens(b)]
    assert [t.text for t in tokens("m = rng.binomial(1, q)")] != [t.text for t in tokens("m = rng.random(1, q)")]
    source = "x = (1,\n  y"  # unclosed bracket: what the tokenizer read, then the rest roughly
    assert [source[t.start:t.end] for t in tokens(source)] == ["x", "=", "(", "1", ",", "y"]


def test_bad_requests_are_explained(tmp_path, capsys, course):
    with pytest.raises(SystemExit) as exit_:
        main(["similarity", "--course", str(tmp_path / "nowhere"), "--assignment", "ch02"])
    assert "has not been released" in str(exit_.value) and "dropout-grader release" in str(exit_.value)
    with pytest.raises(SystemExit) as exit_:
        main(["similarity", "--course", str(course), "--assignment", "ch03"])
    assert "has not been released" in str(exit_.value) or "no submissions" in str(exit_.value)
    with pytest.raises(SystemExit):
        main(["similarity", "--course", str(course), "--assignment", "ch99"])
    assert "invalid choice" in capsys.readouterr().err
    empty = tmp_path / "empty"
    shutil.copytree(course / "release", empty / "release")
    with pytest.raises(SystemExit) as exit_:
        main(["similarity", "--course", str(empty), "--assignment", "ch02"])
    assert "no submissions of ch02" in str(exit_.value)


HOSTILE = '''
def vanilla_dropout_forward(x, p_drop, train, rng=None):
    # </pre><script src="https://evil.example/x.js"></script>
    if not 0 <= p_drop <= 1:
        raise ValueError("</pre><img src=//evil.example/i.png onerror=alert(1)> \\x1b[31m\\x07")
    mask = rng.random(x.shape) >= p_drop if train else None
    return (x * mask if train else x * (1 - p_drop)), {"mask": mask, "scale": 1.0 if train else 1 - p_drop}
'''


def test_hostile_code_is_shown_as_text_and_broken_notebooks_are_listed(course, tmp_path):
    other = tmp_path / "course"
    shutil.copytree(course / "release", other / "release")
    released = nbformat.read(Course(other).release_notebook("ch02"), as_version=4)
    for student in ("mallory", "mallet"):
        nb = nbformat.from_dict(released)
        nb.cells[2].source = HOSTILE + "\x00\x0b"
        _write(other, student, nb)
    broken = Course(other).submitted_notebook("broken", "ch02")
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json")
    main(["similarity", "--course", str(other), "--top", "5"])
    html = (other / "similarity" / "ch02.html").read_text()
    assert "<script" not in html and "<img" not in html and "\x00" not in html and "\x1b" not in html
    assert "&lt;/pre&gt;&lt;script src=&quot;https://evil.example/x.js&quot;&gt;" in html  # shown, inert
    tags = re.findall(r"<[^>]*>", html)  # escaped text has no tags; a tag is what a browser would load from
    own_icon = "<link rel='icon' href='data:,'>"  # the page shell's empty icon: it loads nothing
    assert not [t for t in tags if t != own_icon
                and (re.search(r"(?i)\b(src|href|action)\s*=\s*(?!['\"]?#)", t) or t.startswith("<link"))]
    assert "@import" not in html and "url(" not in html
    assert "broken: the submitted file is not a notebook" in html
    with (other / "similarity" / "ch02.csv").open() as fh:
        assert [(r["student_a"], r["student_b"], r["similarity_a"]) for r in csv.DictReader(fh)] == \
            [("mallet", "mallory", "1.0")]


def test_help_explains_what_is_compared(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["similarity", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "own code" in text and "released stub" in text and "--min-match" in text and "not a finding" in text


def test_counts_on_the_page_agree_with_their_nouns(course, tmp_path):
    """One pair with one matching region reads "1 pair" and "1 region", never "pair(s)"."""
    other = tmp_path / "course"
    shutil.copytree(course / "release", other / "release")
    released = nbformat.read(Course(other).release_notebook("ch02"), as_version=4)
    answer = next(c for c in released.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == ANSWERS[0])
    helper = "def keep_mask(rng, shape, p_drop):\n    kept = rng.random(shape) >= p_drop\n    return kept.astype(float)\n"
    for student in ("ann", "ben"):  # the same helper, none of the stub's own lines: one run of shared code
        nb = nbformat.from_dict(released)
        next(c for c in nb.cells if c.get("id") == answer.get("id")).source = helper
        _write(other, student, nb)
    main(["similarity", "--course", str(other), "--assignment", "ch02"])
    html = (other / "similarity" / "ch02.html").read_text()
    assert "(s)" not in html
    assert "<h2>The 1 most similar pair</h2>" in html and "Over the one pair" in html
    assert re.search(r"<p>\d+ matching tokens in 1 region;", html)
