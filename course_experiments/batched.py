"""Many small MLPs trained together as one batched model, each exactly as ``train_classifier`` would.

A rate sweep trains dozens of copies of the same small network. Trained one after another, each
step is a handful of tiny matrix products whose cost is mostly Python and autograd overhead; here
member ``m``'s weights are slice ``m`` of stacked tensors, so one ``torch.baddbmm`` computes every
member's layer at once. Nothing is shared between members but the tensors they sit in:

- initial weights: each member's ``make_mlp(..., seed)``, copied in;
- data and data order: each member's own ``mnist1d_split(seed)`` and its own ``randperm`` generator
  seeded as ``train_classifier`` seeds it, gathered per member;
- dropout masks: each member draws them from its own generator seeded with its seed, in the order
  ``nn.Dropout`` would draw them from the global generator (input layer, then each hidden layer;
  nothing at rate 0), so the masks are the very ones of a run alone;
- the loss is the *sum* of the members' mean cross-entropies, so each member's gradient is its own,
  and Adam's update is element-wise, so the stacked optimiser takes each member's own step.

A member therefore follows its run alone up to floating-point rounding of the batched products
(``tests/test_batched_training.py`` checks it against ``train_classifier``, and that changing one
member's rate leaves the others unchanged).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch import nn

from .data import Split
from .training import History, make_mlp

# Two threads: the development and CI machines have two cores, and the batched products are large
# enough to use both (the one-at-a-time loop was not: it ran on one).
THREADS = 1


@dataclass(frozen=True)
class Member:
    """One network of a batch: its seed (data, initialisation, data order, masks) and its rates.
    ``ramp_from`` makes the hidden rate rise linearly from ``ramp_from`` to ``p_drop_hidden``."""
    seed: int
    p_drop_hidden: float
    p_drop_input: float = 0.0
    ramp_from: float | None = None

    def hidden_rate(self, epoch: int, epochs: int) -> float:
        if self.ramp_from is None:
            return self.p_drop_hidden
        # the same ramp as classification.linear_ramp (not imported: that module imports this one)
        return self.ramp_from + (self.p_drop_hidden - self.ramp_from) * min(epoch / max(epochs - 1, 1), 1.0)


@contextlib.contextmanager
def threads(n: int = THREADS):
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _masked(h: torch.Tensor, rates, gens) -> torch.Tensor:
    """Inverted dropout per member: member m's slice of ``h`` (M, B, width) at rate ``rates[m]``,
    its mask drawn from ``gens[m]`` exactly as ``nn.Dropout`` draws it (bernoulli of the keep
    probability, divided by it, multiplied in). Members at rate 0 draw nothing and are multiplied by 1."""
    if not any(rates):
        return h
    scale = torch.empty(h.shape)
    with threads(1):   # per-member draws are small: a second thread only adds wake-ups
        for m, (p, gen) in enumerate(zip(rates, gens)):
            if p > 0:
                scale[m].bernoulli_(1 - p, generator=gen).div_(1 - p)
            else:
                scale[m].fill_(1.0)
    return h * scale


def _forward(params, x, input_rates=None, hidden_rates=None, gens=None):
    """Logits (M, N, classes) of every member; dropout only when rates are given (training)."""
    h = x if input_rates is None else _masked(x, input_rates, gens)
    for W, b in params[:-1]:
        h = torch.relu(torch.baddbmm(b.unsqueeze(1), h, W.transpose(1, 2)))
        if hidden_rates is not None:
            h = _masked(h, hidden_rates, gens)
    W, b = params[-1]
    return torch.baddbmm(b.unsqueeze(1), h, W.transpose(1, 2))


@torch.no_grad()
def _evaluate(params, x, y) -> tuple[list, list]:
    """Per-member eval-mode (no dropout) mean cross-entropy and accuracy, as ``training.evaluate``."""
    logits = _forward(params, x)
    loss = nn.functional.cross_entropy(logits.transpose(1, 2), y, reduction="none").mean(1)
    acc = (logits.argmax(-1) == y).float().mean(1)
    return loss.tolist(), acc.tolist()


def train_mlps(members, data: dict, hidden, epochs: int, lr: float, batch_size: int,
               record_every: int) -> list[tuple[nn.Module, History]]:
    """Train every member together; ``data[seed]`` is that seed's ``Split``. Returns, per member, a
    ``DropoutMLP`` holding its trained weights (in eval mode, at its final hidden rate) and its history,
    recorded at the epochs ``train_classifier`` records."""
    members = list(members)
    splits: list[Split] = [data[m.seed] for m in members]
    models = [make_mlp(s, m.hidden_rate(0, epochs), p_drop_input=m.p_drop_input, hidden=hidden, seed=m.seed)
              for s, m in zip(splits, members)]
    linears = lambda model: [mod for mod in model.modules() if isinstance(mod, nn.Linear)]
    params = [tuple(torch.stack([getattr(linears(model)[i], name).detach() for model in models]).requires_grad_()
                    for name in ("weight", "bias"))
              for i in range(len(linears(models[0])))]
    x_train = torch.stack([s.x_train for s in splits])
    y_train = torch.stack([s.y_train for s in splits])
    x_test = torch.stack([s.x_test for s in splits])
    y_test = torch.stack([s.y_test for s in splits])
    order_gens = [torch.Generator().manual_seed(m.seed) for m in members]   # train_classifier's ``gen``
    mask_gens = [torch.Generator().manual_seed(m.seed) for m in members]    # its torch.manual_seed(seed)
    optimiser = torch.optim.Adam([t for layer in params for t in layer], lr=lr)
    input_rates = [m.p_drop_input for m in members]
    rows = torch.arange(len(members)).unsqueeze(1)
    histories = [History() for _ in members]
    n = x_train.shape[1]
    with threads():
        for epoch in range(epochs):
            hidden_rates = [m.hidden_rate(epoch, epochs) for m in members]
            # each member's own permutation, split into the same batch sizes as train_classifier's
            batches = zip(*(torch.randperm(n, generator=g).split(batch_size) for g in order_gens))
            for idx in batches:
                idx = torch.stack(idx)
                optimiser.zero_grad()
                logits = _forward(params, x_train[rows, idx], input_rates, hidden_rates, mask_gens)
                losses = nn.functional.cross_entropy(logits.transpose(1, 2), y_train[rows, idx], reduction="none")
                losses.mean(1).sum().backward()
                optimiser.step()
            if epoch % record_every == record_every - 1 or epoch == epochs - 1:
                for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
                    for h, loss, acc in zip(histories, *_evaluate(params, x, y)):
                        getattr(h, f"{split}_loss").append(loss)
                        getattr(h, f"{split}_acc").append(acc)
    out = []
    for m, (model, member) in enumerate(zip(models, members)):
        with torch.no_grad():
            for layer, (W, b) in zip(linears(model), params):
                layer.weight.copy_(W[m])
                layer.bias.copy_(b[m])
        model.set_dropout(member.hidden_rate(epochs - 1, epochs))
        out.append((model.eval(), histories[m]))
    return out


def split_evenly(items, parts: int) -> list[list]:
    """``items`` in at most ``parts`` contiguous chunks whose lengths differ by at most one."""
    items = list(items)
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    bounds = [i * size + min(i, extra) for i in range(parts + 1)]
    return [items[a:b] for a, b in zip(bounds, bounds[1:])]


def map_in_processes(fn, chunks, workers: int) -> list:
    """``[fn(chunk) for chunk in chunks]``, one chunk per process when there is more than one.

    Why processes and not a second torch thread: on a 2-core machine that other jobs share, a
    second OpenMP thread waits at every operation for a core that is busy (measured: a batched run
    three times slower with 2 threads than with 1 while a test run held one core), whereas two
    single-threaded processes each make progress on their own. ``spawn`` rather than ``fork``,
    because forking a process whose torch thread pool has started can deadlock.
    Members are independent of the batch they are trained in, so the split changes no number.
    A script that calls this (through ``rate_sweep`` or ``dropout_comparison``) needs Python's
    ``if __name__ == "__main__":`` guard, as for any ``spawn`` pool; notebooks and pytest need nothing.
    """
    chunks = list(chunks)
    if workers <= 1 or len(chunks) <= 1:
        return [fn(chunk) for chunk in chunks]
    import concurrent.futures
    import multiprocessing
    with concurrent.futures.ProcessPoolExecutor(len(chunks), mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(fn, chunks))
