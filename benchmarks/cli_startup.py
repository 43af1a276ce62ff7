"""How long `dropout-grader` takes to answer `--help`, and what reading one notebook costs on top.

Side by side, same machine, same run: the median wall time of a fresh interpreter doing each of
  - `dropout-grader --help` and `dropout-grader grade --help` (the parser only; aim: under 1 s),
  - `import nbformat` with and without `import autograder` first (which skips jsonschema's IRI grammar).
On a busy machine every number grows; compare the rows with each other, not with the aim alone.

Run: .venv/bin/python benchmarks/cli_startup.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = {
    "dropout-grader --help": "from autograder.cli import main\nmain(['--help'])",
    "dropout-grader grade --help": "from autograder.cli import main\nmain(['grade', '--help'])",
    "import nbformat (plain)": "import nbformat",
    "import autograder, nbformat": "import autograder, nbformat",
    "python -c pass (interpreter alone)": "pass",
}


def seconds(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], stdout=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="runs per case; the median is printed (default: 5)")
    args = parser.parse_args()
    times = {name: [] for name in CASES}
    for _ in range(args.repeat):  # interleaved, so a burst of load hits every case alike
        for name, code in CASES.items():
            times[name].append(seconds(code))
    width = max(map(len, CASES))
    for name, runs in times.items():
        print(f"{name:<{width}}  median {statistics.median(runs):6.3f} s  (min {min(runs):.3f}, max {max(runs):.3f})")


if __name__ == "__main__":
    main()
