"""Every number a lesson states in prose is glued from the code that computed it (issue 12)."""
from pathlib import Path

import pytest

from lesson_prose import hand_typed_numbers, lesson_files, prose

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("lesson", lesson_files(ROOT), ids=lambda p: p.parent.name)
def test_lesson_prose_quotes_no_hand_typed_number(lesson):
    typed = hand_typed_numbers(lesson.read_text())
    assert not typed, "glue these numbers from code (or write inputs as inline code/math):\n" + "\n".join(
        f"  {number!r} in: {text}" for _, number, text in typed)


def test_the_scanner_flags_typed_results_and_spares_glue_code_math_and_references():
    text = "\n".join([
        "---", "kernelspec: {name: python3}", "---",
        "Test accuracy reached 0.873 after 150 epochs.",                      # flagged: 0.873, 150
        "Accuracy {glue:text}`acc:.3f` at `p_drop = 0.5` and $q = 0.8$.",     # glued, code, math
        "See Fig. 11 of the paper (2014), chapter 4, a 3×3 kernel, MNIST-1D, L2.",
        "```{code-cell} ipython3", "x = 123.4", "```",
        "```{admonition} Pitfall", ":class: warning", "A 256-wide layer.", "```",  # flagged: 256
        "$$ y = 0.25 x $$",
    ])
    assert [n for _, n, _ in hand_typed_numbers(text)] == ["0.873", "150", "256"]
    assert "123.4" not in prose(text) and "0.25" not in prose(text)
