"""The headline results of Srivastava et al. (2014, section 6), as the paper reports them: test error
in percent, the best network the paper lists without dropout against the dropout network. One place
for these numbers; chapter 4 prints them and nothing here is computed.

Not every row is an ablation: on MNIST and ImageNet the two networks differ in more than dropout
(architecture, max-norm, or a different method altogether), as the ``without`` and ``with_dropout``
descriptions say.
"""
from __future__ import annotations

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


def markdown_table(results: tuple[Result, ...] = RESULTS) -> str:
    """The results as a Markdown table, with the relative reduction of the error."""
    rows = ["| data set | metric | without dropout | error | with dropout | error | relative reduction |",
            "|---|---|---|---:|---|---:|---:|"]
    for r in results:
        reduction = 100 * (1 - float(r.error_with) / float(r.error_without))
        rows.append(f"| {r.data_set} | {r.metric} | {r.without} | {r.error_without} | {r.with_dropout} | "
                    f"{r.error_with} | {reduction:.0f}% |")
    return "\n".join(rows)
