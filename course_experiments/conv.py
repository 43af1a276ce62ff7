"""Chapter 5's experiments: dropout on convolutional feature maps, and DropBlock masks.

The task is scikit-learn's 8x8 digits, upsampled to 16x16 (so neighbouring pixels, and hence
neighbouring activations of every feature map, are strongly correlated), shifted at random and
lightly noised. A small CNN is trained on few images, with no dropout, element-wise dropout
(``nn.Dropout``) or channel-wise dropout (``nn.Dropout2d``) at the same rate after each
convolution block.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

from .batched import map_in_processes, split_evenly
from .data import Split

SIZE = 16
N_TRAIN = 300
N_TEST = 600
EPOCHS = 40
P_DROP = 0.2
WIDTH = 16
EVAL_EVERY = 5
KINDS = ("none", "element-wise", "channel-wise")


def _upsample_and_shift(images: np.ndarray, rng: np.random.Generator, max_shift: int = 2) -> np.ndarray:
    """Bilinear 8x8 -> 16x16, a random shift of up to ``max_shift`` pixels, and pixel noise."""
    x = torch.from_numpy(images[:, None].astype(np.float32))
    x = nn.functional.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    x = nn.functional.pad(x, (max_shift,) * 4)
    out = np.empty((len(images), 1, SIZE, SIZE), dtype=np.float32)
    shifts = rng.integers(0, 2 * max_shift + 1, size=(len(images), 2))
    for i, (dy, dx) in enumerate(shifts):
        out[i] = x[i, :, dy:dy + SIZE, dx:dx + SIZE].numpy()
    out += 0.1 * rng.standard_normal(out.shape).astype(np.float32)
    return out


@functools.lru_cache(maxsize=None)
def digits_images(n_train: int = N_TRAIN, n_test: int = N_TEST, seed: int = 0) -> Split:
    """Upsampled, shifted, noisy 16x16 digits as ``(N, 1, 16, 16)`` tensors in roughly [0, 1]."""
    digits = load_digits()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(digits.target))[: n_train + n_test]
    images = _upsample_and_shift(digits.images[order] / 16.0, rng)
    labels = digits.target[order].astype(np.int64)
    t = torch.from_numpy
    return Split(t(images[:n_train]), t(labels[:n_train]), t(images[n_train:]), t(labels[n_train:]))


def _dropout(kind: str, p_drop: float) -> nn.Module:
    if kind == "none":
        return nn.Identity()
    if kind == "element-wise":
        return nn.Dropout(p_drop)
    if kind == "channel-wise":
        return nn.Dropout2d(p_drop)
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def small_cnn(kind: str = "none", p_drop: float = P_DROP, width: int = WIDTH) -> nn.Sequential:
    """Three 3x3 convolution blocks, each followed by the chosen dropout, then a linear classifier."""
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), _dropout(kind, p_drop),                           # 16x16
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), _dropout(kind, p_drop),  # 8x8
        nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), _dropout(kind, p_drop),  # 4x4
        nn.Flatten(), nn.Linear(2 * width * 16, 10))


@functools.lru_cache(maxsize=None)
def train_cnn(kind: str, seed: int, p_drop: float = P_DROP, epochs: int = EPOCHS) -> dict:
    """Train once per process; returns the test-accuracy curve (every epoch) and the final accuracy."""
    data = digits_images(seed=seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = small_cnn(kind, p_drop)
        optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
        gen = torch.Generator().manual_seed(seed)
        curve = []
        for epoch in range(epochs):
            model.train()
            for idx in torch.randperm(len(data.y_train), generator=gen).split(50):
                optimiser.zero_grad()
                nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx]).backward()
                optimiser.step()
            if epoch % EVAL_EVERY != EVAL_EVERY - 1:
                continue
            model.eval()
            with torch.no_grad():
                curve.append(float((model(data.x_test).argmax(-1) == data.y_test).float().mean()))
    return {"curve": np.array(curve), "final": curve[-1]}


# Processes that train the comparison's networks (see ``batched.map_in_processes``).
WORKERS = 2
_RUNS: dict = {}   # (kind, seed, p_drop, epochs) -> train_cnn's result, from this process or a worker


def _train_cnns(jobs) -> list:
    """``train_cnn`` for each job, on one thread as the lessons run it (run in a worker process)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return [train_cnn(*job) for job in jobs]
    finally:
        torch.set_num_threads(before)


def dropout_comparison(seeds=(0, 1, 2, 3, 4), p_drop: float = P_DROP, workers: int = WORKERS) -> dict:
    """Final test accuracy per (kind, seed) and the per-epoch curves, for none / element-wise / channel-wise.

    The runs are independent, so they are shared out over ``workers`` processes; each is ``train_cnn``
    with its own seed, so where it runs changes no number."""
    jobs = [(kind, int(s), float(p_drop), EPOCHS) for kind in KINDS for s in seeds]
    todo = [job for job in jobs if job not in _RUNS]
    chunks = split_evenly(todo, workers) if todo else []
    _RUNS.update(zip(todo, (r for chunk in map_in_processes(_train_cnns, chunks, workers) for r in chunk)))
    runs = {kind: [_RUNS[(kind, int(s), float(p_drop), EPOCHS)] for s in seeds] for kind in KINDS}
    return {"seeds": list(seeds), "p_drop": p_drop,
            "final": {k: np.array([r["final"] for r in v]) for k, v in runs.items()},
            "curves": {k: np.stack([r["curve"] for r in v]) for k, v in runs.items()}}


def dropblock_gamma(p_drop: float, block_size: int, feat_size: int) -> float:
    """Ghiasi et al. (2018), eq. (1): the rate of block *centres* that drops about ``p_drop`` of the units.

    Each centre zeroes a ``block_size x block_size`` square, and centres are drawn only where the whole
    block fits, i.e. on ``(feat_size - block_size + 1)^2`` of the ``feat_size^2`` positions.
    """
    return p_drop / block_size ** 2 * feat_size ** 2 / (feat_size - block_size + 1) ** 2


def dropblock_mask(shape: tuple, p_drop: float, block_size: int, rng: np.random.Generator) -> np.ndarray:
    """A DropBlock keep-mask (1 kept, 0 dropped) of ``shape = (N, C, H, W)`` with square maps ``H == W``.

    Overlapping blocks make the dropped fraction a little smaller than ``p_drop``; the layer would
    rescale the kept units by ``mask.size / mask.sum()``, as the paper does.
    """
    n, c, h, w = shape
    if h != w or not 1 <= block_size <= h:
        raise ValueError("square maps with 1 <= block_size <= size are required")
    gamma = dropblock_gamma(p_drop, block_size, h)
    valid = h - block_size + 1
    centres = np.zeros(shape, dtype=bool)
    off = block_size // 2
    centres[:, :, off:off + valid, off:off + valid] = rng.random((n, c, valid, valid)) < gamma
    dropped = np.zeros(shape, dtype=bool)
    for i, j in zip(*np.nonzero(centres.any(axis=(0, 1)))):   # expand each centre into its square
        block = centres[:, :, i, j][..., None, None]
        top, left = i - off, j - off
        dropped[:, :, top:top + block_size, left:left + block_size] |= block
    return (~dropped).astype(np.float64)
