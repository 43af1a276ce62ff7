"""The headline results of Srivastava et al. (2014, section 6), as the paper reports them: test error
in percent, the best network the paper lists without dropout against the dropout network. One place
for these numbers; chapter 4 prints them and nothing here is computed.

Not every row is an ablation: on MNIST and ImageNet the two networks differ in more than dropout
(architecture, max-norm, or a different method altogether), as the ``without`` and ``with_dropout``
descriptions say.
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
    Result("MNIST", "test error %", "standard neural net (2 layers)", "1.60",
           "dropout + max-norm (2 layers of 8192 ReLUs)", "0.95"),
    Result("SVHN", "test error %", "conv net + max-pooling", "3.95",
           "same, dropout in all layers", "2.55"),
    Result("CIFAR-10", "test error %", "conv net + max-pooling", "15.60",
           "same, dropout in all layers", "12.61"),
    Result("CIFAR-100", "test error %", "conv net + max-pooling", "43.48",
           "same, dropout in all layers", "37.20"),
    Result("TIMIT", "phone error %", "neural net (6 layers)", "23.4",
           "same, with dropout", "21.8"),
    Result("Reuters-RCV1", "test error %", "neural net", "31.05",
           "same, with dropout", "29.62"),
    Result("ImageNet (ILSVRC-2012)", "top-5 test error %", "best entry without a neural net (SIFT + Fisher vectors)", "26.2",
           "conv nets with dropout (average of five, Krizhevsky et al.)", "16.4"),
)


def relative_reduction(result: Result) -> float:
    """How much of the error dropout removed, as a fraction of the error without it."""
    return 1 - float(result.error_with) / float(result.error_without)


def html_table(results: tuple[Result, ...] = RESULTS) -> str:
    """The results as an HTML table (the book renders a cell's HTML output; its Markdown output would
    be read as CommonMark, which has no tables), with the relative reduction of the error."""
    head = ["data set", "metric", "without dropout", "error", "with dropout", "error", "relative reduction"]
    rows = ["<tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"]
    for r in results:
        cells = [r.data_set, r.metric, r.without, r.error_without, r.with_dropout, r.error_with,
                 f"{100 * relative_reduction(r):.0f}%"]
        rows.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    return "<table>\n" + "\n".join(rows) + "\n</table>"
