"""Chapter 4's experiments on the MNIST-1D-like task: one architecture and one training recipe for
the rate sweep, the learning curves, sparsity, robustness, MC vs weight scaling and scheduled dropout."""
from __future__ import annotations

import contextlib
import functools

import numpy as np
import torch
from scipy import stats

from dropout_reference import mc_dropout_predict

from .batched import Member, map_in_processes, split_evenly, train_mlps
from .data import mnist1d_split
from .training import evaluate

# The one recipe of chapter 4 (and of chapter 6, which reuses ``trained_mlp``).
HIDDEN = (256, 256)
EPOCHS = 100
N_TRAIN = 1000
N_TEST = 2000
BATCH_SIZE = 200
LR = 2e-3
RECORD_EVERY = 5
SWEEP_RATES = tuple(round(0.1 * i, 1) for i in range(9))   # hidden p_drop 0.0, 0.1, ..., 0.8
SWEEP_SEEDS = (0, 1, 2, 3, 4)


def settings() -> dict:
    """The training settings every chapter-4 run uses, for printing next to the results."""
    return {"hidden widths": " x ".join(map(str, HIDDEN)), "epochs": EPOCHS, "batch size": BATCH_SIZE,
            "optimiser": f"Adam, lr {LR:g}, no weight decay", "training signals": N_TRAIN,
            "test signals": N_TEST, "signal length (inputs)": 40, "classes": 10,
            "seeds (data and init)": len(SWEEP_SEEDS), "evaluated every": f"{RECORD_EVERY} epochs"}


def linear_ramp(epoch: int, start: float, end: float, epochs: int) -> float:
    """Hidden rate rising linearly from ``start`` (first epoch) to ``end`` (last epoch)."""
    return start + (end - start) * min(epoch / max(epochs - 1, 1), 1.0)


@contextlib.contextmanager
def one_thread():
    """Run torch on one thread inside the block: for these small matrices it is as fast, it avoids
    oversubscribing shared cores, and it makes the book and the tests compute identical numbers."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# Processes that train the chapter's networks (see ``batched.map_in_processes``): the machines the
# book is built on have two cores.
WORKERS = 2


@functools.lru_cache(maxsize=None)
def chapter_data(seed: int):
    """The data set of one seed, made once per process and shared by every run with that seed."""
    return mnist1d_split(N_TRAIN, N_TEST, seed=seed)


def _train_members(job) -> list:
    """Train one chunk of members as one batched model (run in a worker process)."""
    members, epochs = job
    data = {m.seed: chapter_data(m.seed) for m in members}
    with one_thread():
        return train_mlps(members, data, HIDDEN, epochs=epochs, lr=LR, batch_size=BATCH_SIZE,
                          record_every=RECORD_EVERY)


# (p_drop_hidden, seed, epochs, p_drop_input, ramp_from) -> (model, history), trained once per process
_TRAINED: dict = {}


def train_together(runs, workers: int = WORKERS) -> None:
    """Train every run of ``runs`` (tuples of ``trained_mlp``'s arguments, in its order) not trained yet,
    together: as batched models (``batched.train_mlps``), split over ``workers`` processes. Each run
    gets exactly what ``trained_mlp`` alone would give it (its own data, initialisation, data order
    and masks)."""
    todo = [key for key in dict.fromkeys(_run_key(*run) for run in runs) if key not in _TRAINED]
    for epochs in sorted({key[2] for key in todo}):
        keys = [key for key in todo if key[2] == epochs]
        members = [Member(seed, p, p_drop_input=p_in, ramp_from=ramp) for p, seed, _, p_in, ramp in keys]
        chunks = split_evenly(members, workers)
        results = [r for chunk in map_in_processes(_train_members, [(c, epochs) for c in chunks], workers)
                   for r in chunk]
        _TRAINED.update(zip(keys, results))


def chapter_runs(p_mid: float = 0.4, p_drop_input: float = 0.2) -> list:
    """Every run chapter 4 trains, as ``trained_mlp`` arguments: the sweep, and at ``p_mid`` the
    variants with input dropout and with the rate ramped up from 0."""
    sweep = [(p, s) for p in SWEEP_RATES for s in SWEEP_SEEDS]
    with_input = [(p_mid, s, EPOCHS, p_drop_input) for s in SWEEP_SEEDS]
    ramped = [(p_mid, s, EPOCHS, 0.0, 0.0) for s in SWEEP_SEEDS]
    return sweep + with_input + ramped


def _run_key(p_drop_hidden: float, seed: int, epochs: int = EPOCHS, p_drop_input: float = 0.0,
             ramp_from: float | None = None) -> tuple:
    return (float(p_drop_hidden), int(seed), int(epochs), float(p_drop_input),
            None if ramp_from is None else float(ramp_from))


def trained_mlp(p_drop_hidden: float, seed: int, epochs: int = EPOCHS, p_drop_input: float = 0.0,
                ramp_from: float | None = None):
    """The chapter's MLP trained (once per process) with ``train_classifier``'s recipe; returns
    ``(model, history, data)``. ``ramp_from`` switches on scheduled dropout: the hidden rate rises
    linearly from ``ramp_from`` to ``p_drop_hidden`` over the epochs.

    A run not trained yet is trained alone; ``train_together`` trains many at once.
    """
    key = _run_key(p_drop_hidden, seed, epochs, p_drop_input, ramp_from)
    train_together([key], workers=1)
    model, history = _TRAINED[key]
    return model, history, chapter_data(seed)


def recorded_epochs(history) -> np.ndarray:
    """The epochs (1-based) at which ``train_classifier`` recorded the history."""
    n = len(history.test_acc)
    return np.minimum(np.arange(1, n + 1) * RECORD_EVERY, EPOCHS)


def t_interval(values, axis: int = -1, level: float = 0.95):
    """Mean and half-width of the two-sided Student-t confidence interval over ``axis`` (the seeds)."""
    values = np.asarray(values, dtype=float)
    n = values.shape[axis]
    half = stats.t.ppf(0.5 + level / 2, n - 1) * values.std(axis=axis, ddof=1) / np.sqrt(n)
    return values.mean(axis=axis), half


def rate_sweep(p_drops=SWEEP_RATES, seeds=SWEEP_SEEDS) -> dict:
    """Every (rate, seed) run of the chapter's recipe, arrays of shape (rates, seeds).

    ``acc``: final test accuracy; ``train_loss``/``test_loss``: final losses; ``best_acc``: test accuracy at
    the recorded epoch of lowest test loss (early stopping, chosen on the test set: optimistic);
    ``best_epoch``: that epoch; ``max_acc``: the highest recorded test accuracy (early stopping on
    accuracy, also chosen on the test set).
    """
    train_together([(p, s) for p in p_drops for s in seeds])
    keys = ("acc", "train_loss", "test_loss", "best_acc", "best_epoch", "max_acc")
    out = {k: np.zeros((len(p_drops), len(seeds))) for k in keys}
    for i, p in enumerate(p_drops):
        for j, s in enumerate(seeds):
            h = trained_mlp(p, s)[1]
            best = int(np.argmin(h.test_loss))
            for k, v in zip(keys, (h.test_acc[-1], h.train_loss[-1], h.test_loss[-1], h.test_acc[best],
                                   recorded_epochs(h)[best], max(h.test_acc))):
                out[k][i, j] = v
    return {"p_drop": list(p_drops), "seeds": list(seeds), **out}


def epochs_to_reach(history, train_loss: float) -> float:
    """First recorded epoch at which the (eval-mode) training loss is at most ``train_loss``; inf if never."""
    hit = np.flatnonzero(np.asarray(history.train_loss) <= train_loss)
    return float(recorded_epochs(history)[hit[0]]) if hit.size else float("inf")


@torch.no_grad()
def fraction_near_zero(model, x, threshold: float = 1e-2) -> float:
    """Share of hidden ReLU activations (all layers, eval mode) at most ``threshold``."""
    model.eval()
    acts = torch.cat([a.flatten() for a in model.hidden_activations(x)])
    return float((acts <= threshold).float().mean())


def activation_sparsity(p_drops=(0.0, 0.5), seed: int = 0, threshold: float = 1e-2) -> dict:
    """Hidden activations (eval mode, test inputs) of models trained with each rate, with summaries:
    ``near_zero`` (share at most ``threshold``), ``mean_all`` (mean activation) and ``mean_active``
    (mean over the activations above ``threshold``)."""
    out = {}
    for p in p_drops:
        model, _, data = trained_mlp(p, seed)
        with torch.no_grad():
            acts = torch.cat([a.flatten() for a in model.hidden_activations(data.x_test)]).numpy()
        active = acts[acts > threshold]
        out[p] = {"activations": acts, "near_zero": fraction_near_zero(model, data.x_test, threshold),
                  "mean_all": float(acts.mean()), "mean_active": float(active.mean()) if active.size else 0.0}
    return out


def sparsity_table(p_drops=SWEEP_RATES, seeds=SWEEP_SEEDS) -> dict:
    """``near_zero``, ``mean_all`` and ``mean_active`` for every (rate, seed), arrays (rates, seeds)."""
    keys = ("near_zero", "mean_all", "mean_active")
    out = {k: np.zeros((len(p_drops), len(seeds))) for k in keys}
    for j, s in enumerate(seeds):
        res = activation_sparsity(p_drops, seed=s)
        for i, p in enumerate(p_drops):
            for k in keys:
                out[k][i, j] = res[p][k]
    return {"p_drop": list(p_drops), "seeds": list(seeds), **out}


@torch.no_grad()
def _accuracy_with_deleted_units(model, x, y, fraction: float, gen: torch.Generator) -> float:
    """Eval-mode accuracy after permanently zeroing a random ``fraction`` of every hidden layer's units."""
    h = x
    for module in model.features:
        h = module(h) if not isinstance(module, torch.nn.Dropout) else h
        if isinstance(module, torch.nn.ReLU):
            keep = torch.rand(h.shape[1], generator=gen) >= fraction
            h = h * keep
    return float((model.head(h).argmax(-1) == y).float().mean())


@torch.no_grad()
def robustness(p_drops=(0.0, 0.4), seeds=SWEEP_SEEDS, noise_levels=(0.0, 0.25, 0.5, 0.75, 1.0, 1.5),
               deleted_fractions=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5)) -> dict:
    """Test accuracy (eval mode) under Gaussian input noise of standard deviation ``sigma`` (inputs are
    standardised, so sigma is in units of the signal's spread) and with a random fraction of hidden units
    deleted at test time. Arrays of shape (rates, levels, seeds)."""
    noise = np.zeros((len(p_drops), len(noise_levels), len(seeds)))
    deleted = np.zeros((len(p_drops), len(deleted_fractions), len(seeds)))
    for i, p in enumerate(p_drops):
        for k, s in enumerate(seeds):
            model, _, data = trained_mlp(p, s)
            model.eval()
            for j, sigma in enumerate(noise_levels):
                gen = torch.Generator().manual_seed(1000 + s)
                x = data.x_test + sigma * torch.randn(data.x_test.shape, generator=gen)
                noise[i, j, k] = float((model(x).argmax(-1) == data.y_test).float().mean())
            for j, f in enumerate(deleted_fractions):
                gen = torch.Generator().manual_seed(2000 + s)
                deleted[i, j, k] = _accuracy_with_deleted_units(model, data.x_test, data.y_test, f, gen)
    return {"p_drop": list(p_drops), "noise_levels": list(noise_levels), "noise": noise,
            "deleted_fractions": list(deleted_fractions), "deleted": deleted}


def mc_vs_weight_scaling(p_drop: float = 0.4, seed: int = 0, sample_counts=(1, 2, 5, 10, 20, 50)) -> dict:
    """Test accuracy of MC averaging over T masks, next to the weight-scaled (eval-mode) network."""
    model, _, data = trained_mlp(p_drop, seed)
    _, scaled = evaluate(model, data.x_test, data.y_test)
    probs = mc_dropout_predict(model, data.x_test, T=max(sample_counts), generator=torch.Generator().manual_seed(seed))
    mc = {T: float((probs[:T].mean(0).argmax(-1) == data.y_test).float().mean()) for T in sample_counts}
    return {"weight_scaling": scaled, "mc": mc}
