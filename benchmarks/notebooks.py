"""Restart & Run All for every lesson, timed (target: under 60 s for all of them
together on a 2-core machine).

    python benchmarks/notebooks.py
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 60.0


def main() -> None:
    total = 0.0
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
        dt = time.perf_counter() - t0
        total += dt
        print(f"{path.name:40s} {dt:6.1f} s")
    print(f"all lessons: {total:.1f} s (target < {TARGET_S:.0f} s: ratio {total / TARGET_S:.2f})")


if __name__ == "__main__":
    main()
