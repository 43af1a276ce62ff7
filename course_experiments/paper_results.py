"""The headline results of Srivastava et al. (2014, section 6, Tables 2-7 and the text on
Reuters-RCV1), as the paper reports them: an error in percent without dropout and with it. One
place for these numbers; chapter 4 prints them and nothing here is computed.

A row is not always the best network the paper lists, nor always an ablation. On MNIST the
paper's best without dropout is a fine-tuned DBM (0.96) and its best overall a DBM fine-tuned
with dropout (0.79); the row keeps the plain-net comparison, whose two networks also differ in
width, units and max-norm. On SVHN and CIFAR stochastic pooling beats the no-dropout row; the row
keeps the paper's own net with and without dropout. On ImageNet the two entries are different
methods altogether. The ``without`` and ``with_dropout`` descriptions say which networks these are.
"""
from __future__ import annotations

from html import escape
from typing import NamedTuple


class Result(NamedTuple):
    data_set: str
    metric: str
    without: str
    error_without: str      # as printed in the paper, trailing zeros included
    with_dropout: str
    error_with: str


RESULTS: tuple[Result, ...] = (
    Result("MNIST", "test error", "standard neural net, 2 layers of 800 logistic units", "1.60",
           "dropout + max-norm, 2 layers of 8192 ReLUs", "0.95"),
    Result("SVHN", "test error", "conv net + max-pooling", "3.95",
           "the same, dropout in all layers", "2.55"),
    Result("CIFAR-10", "test error", "conv net + max-pooling", "15.60",
           "the same, dropout in all layers", "12.61"),
    Result("CIFAR-100", "test error", "conv net + max-pooling", "43.48",
           "the same, dropout in all layers", "37.20"),
    Result("TIMIT", "phone error", "neural net, 6 layers", "23.4",
           "the same, with dropout", "21.8"),
    Result("Reuters-RCV1", "test error", "best neural net without dropout", "31.05",
           "the same, with dropout", "29.62"),
    Result("ImageNet (ILSVRC-2012)", "top-5 test error",
           "best entry without a neural net: classifiers on Fisher vectors of SIFT, LBP, GIST and CSIFT", "26.2",
           "average of five conv nets with dropout (Krizhevsky et al.)", "16.4"),
)


def relative_reduction(result: Result) -> float:
    """How much of the error dropout removed, as a fraction of the error without it."""
    return 1 - float(result.error_with) / float(result.error_without)


def html_table(results: tuple[Result, ...] = RESULTS) -> str:
    """The results as an HTML table (the book renders a cell's HTML output; its Markdown output would
    be read as CommonMark, which has no tables), with the relative reduction of the error.

    Four columns, the networks described under the data set's name, so the table fits a phone's
    width instead of hiding its numbers behind a sideways scroll."""
    head = ["data set: networks compared", "without dropout", "with dropout", "error removed"]
    rows = ["<tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"]
    for r in results:
        compared = (f"<strong>{escape(r.data_set)}</strong> ({escape(r.metric)})<br>"
                    f"<small>without: {escape(r.without)}; with: {escape(r.with_dropout)}</small>")
        numbers = [r.error_without, r.error_with, f"{100 * relative_reduction(r):.0f}%"]
        rows.append("<tr><td>" + compared + "</td>" + "".join(f"<td>{escape(n)}</td>" for n in numbers) + "</tr>")
    caption = ("<caption>Srivastava et al. (2014): errors in percent as the paper prints them, "
               "and the share of the error that dropout removed</caption>")
    return "<table class=\"paper-results\">\n" + caption + "\n" + "\n".join(rows) + "\n</table>"
