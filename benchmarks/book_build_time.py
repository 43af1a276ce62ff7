"""Book build time: a cold build (no cache) and a rebuild with nothing changed, in a scratch
copy of the repository so that your own _build is left alone.

Run: .venv/bin/python benchmarks/book_build_time.py
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = shutil.ignore_patterns(".venv", "_build", ".git", "node_modules", "course", ".pytest_cache")


def build(folder: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "run.py", "book"], cwd=folder, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "book"
        shutil.copytree(ROOT, copy, ignore=SKIP)
        for name in (".venv", "node_modules"):
            (copy / name).symlink_to(ROOT / name)  # reuse the installed environment
        cold = build(copy)
        warm = build(copy)
    print(f"cold build (executes every lesson): {cold:6.1f} s   goal < 600 s")
    print(f"rebuild, nothing changed:           {warm:6.1f} s   goal < 60 s")


if __name__ == "__main__":
    main()
