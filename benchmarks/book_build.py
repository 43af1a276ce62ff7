"""What the book's build spends its time on: every lesson executed on its own, and chapter 4's sweep
trained the old way (one network after another) and the new way (batched, over two processes).

Per lesson: wall time and CPU seconds (the kernel and the processes it started), executed with
nbclient in a fresh kernel from the lesson's folder, as the build does with a cold cache. Then the
45 runs of chapter 4's rate sweep, three ways, in this one process:

- old: ``make_mlp`` + ``train_classifier`` per run, on one thread (what ``trained_mlp`` did before);
- batched: all runs as one batched model in this process (``workers=1``);
- batched over 2 processes: what the book now runs (``train_together``'s default).

It prints the ratios of those times and the largest difference between the runs' final accuracies.
On a machine other jobs share, all times are inflated; the ratios are measured side by side.

Run: .venv/bin/python benchmarks/book_build.py [--lessons-only | --sweep-only] [--epochs N]
"""
from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LESSONS = [ROOT / "intro.md", *sorted(ROOT.glob("chapters/*/lesson.md"))]


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)   # the kernels, once reaped, and what they reaped
    return usage.ru_utime + usage.ru_stime


def slowest_cells(notebook, n: int = 3) -> str:
    """The ``n`` longest-running code cells (nbclient records when each started and replied)."""
    from datetime import datetime

    times = []
    for i, cell in enumerate(notebook.cells):
        stamps = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in stamps and "shell.execute_reply" in stamps:
            start, end = (datetime.fromisoformat(stamps[k].replace("Z", "+00:00"))
                          for k in ("iopub.execute_input", "shell.execute_reply"))
            times.append(((end - start).total_seconds(), i))
    return ", ".join(f"cell {i} {t:.1f} s" for t, i in sorted(times, reverse=True)[:n])


def time_lessons() -> float:
    import jupytext
    import nbclient

    total = 0.0
    print(f"{'lesson':<32} {'wall s':>8} {'CPU s':>8}")
    for path in LESSONS:
        notebook = jupytext.read(path)
        wall, cpu = time.perf_counter(), child_cpu()
        nbclient.NotebookClient(notebook, timeout=1800, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}}).execute()
        wall, cpu = time.perf_counter() - wall, child_cpu() - cpu
        total += wall
        print(f"{str(path.relative_to(ROOT)):<32} {wall:8.1f} {cpu:8.1f}   slowest cells: {slowest_cells(notebook)}")
    print(f"{'all lessons':<32} {total:8.1f}")
    return total


def time_sweep(epochs: int) -> None:
    import numpy as np
    import torch

    from course_experiments import classification as C
    from course_experiments.training import make_mlp, train_classifier

    runs = [(p, s) for p in C.SWEEP_RATES for s in C.SWEEP_SEEDS]

    def old():
        out = []
        with C.one_thread():
            for p, s in runs:
                data = C.chapter_data(s)
                model = make_mlp(data, p, hidden=C.HIDDEN, seed=s)
                out.append(train_classifier(model, data, epochs=epochs, lr=C.LR, batch_size=C.BATCH_SIZE,
                                            seed=s, record_every=C.RECORD_EVERY).test_acc[-1])
        return out

    def new(workers):
        C._TRAINED.clear()
        C.train_together([(p, s, epochs) for p, s in runs], workers=workers)
        return [C._TRAINED[C._run_key(p, s, epochs)][1].test_acc[-1] for p, s in runs]

    for s in C.SWEEP_SEEDS:   # the data sets, made once and shared, are not what is timed
        C.chapter_data(s)
    torch.set_num_threads(1)
    results, times = {}, {}
    for name, fn in (("old: one after another", old), ("batched, 1 process", lambda: new(1)),
                     ("batched, 2 processes", lambda: new(2))):
        wall, cpu = time.perf_counter(), time.process_time() + child_cpu()
        results[name] = np.array(fn())
        times[name] = time.perf_counter() - wall
        print(f"{name:<26} {times[name]:7.1f} s wall {time.process_time() + child_cpu() - cpu:7.1f} s CPU")
    old_name = "old: one after another"
    for name in list(times)[1:]:
        diff = np.abs(results[name] - results[old_name]).max()
        print(f"old / {name}: {times[old_name] / times[name]:.2f}x   "
              f"largest final-accuracy difference from old: {diff:.4f}")
    print(f"({len(runs)} runs, {epochs} epochs each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons-only", action="store_true")
    parser.add_argument("--sweep-only", action="store_true")
    parser.add_argument("--epochs", type=int, default=None, help="sweep epochs (default: the chapter's)")
    args = parser.parse_args()
    if not args.sweep_only:
        time_lessons()
    if not args.lessons_only:
        from course_experiments.classification import EPOCHS
        time_sweep(args.epochs or EPOCHS)


if __name__ == "__main__":
    main()
