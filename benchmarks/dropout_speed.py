"""Reference inverted dropout (forward + backward, numpy) vs torch.nn.functional.dropout + autograd.

Both run in the same process on the same data; the figure that matters is the ratio.
Run: .venv/bin/python benchmarks/dropout_speed.py
"""
from __future__ import annotations

import argparse
import timeit

import numpy as np
import torch
import torch.nn.functional as F

from dropout_reference import dropout_backward, inverted_dropout_forward


def ours(x: np.ndarray, dout: np.ndarray, rng) -> None:
    _, cache = inverted_dropout_forward(x, 0.5, True, rng)
    dropout_backward(dout, cache)


def theirs(x: torch.Tensor, dout: torch.Tensor) -> None:
    x.grad = None
    F.dropout(x, p=0.5, training=True).backward(dout)


def best_of(fn, repeat: int) -> float:
    return min(timeit.repeat(fn, number=1, repeat=repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7, help="timings per case; the best is kept")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; numpy {np.__version__}")
    print(f"{'elements':>10} {'ours (ms)':>10} {'torch (ms)':>11} {'ours/torch':>11}")
    for n in (10**6, 10**7):
        x = rng.standard_normal(n, dtype=np.float32)
        dout = rng.standard_normal(n, dtype=np.float32)
        xt = torch.from_numpy(x.copy()).requires_grad_()
        dt = torch.from_numpy(dout.copy())
        a = best_of(lambda: ours(x, dout, rng), args.repeat)
        b = best_of(lambda: theirs(xt, dt), args.repeat)
        print(f"{n:>10.0e} {a * 1e3:>10.2f} {b * 1e3:>11.2f} {a / b:>11.2f}")


if __name__ == "__main__":
    main()
