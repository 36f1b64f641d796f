"""The lessons in notebooks/ are their own source: edit them in JupyterLab.
They are committed WITHOUT outputs, so that no answer is on screen before the
learner predicts it (the docs build executes them instead).

    python tools/execute_notebooks.py            # run every lesson top to bottom; write nothing
    python tools/execute_notebooks.py --strip    # clear outputs, widget state and execution counts in place
    python tools/execute_notebooks.py --check    # fail if a lesson carries outputs (what the tests check)

Paths may follow the options to act on some lessons only.  Run from the repository root."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def lessons(paths) -> list[Path]:
    return [Path(p) for p in paths] or sorted((ROOT / "notebooks").glob("*.ipynb"))


def strip(nb) -> bool:
    """Clear outputs, execution counts and saved widget state; True if anything changed."""
    changed = False
    for cell in nb.cells:
        if cell.cell_type == "code":
            if cell.get("outputs") or cell.get("execution_count") is not None:
                changed = True
            cell.outputs, cell.execution_count = [], None
    if "widgets" in nb.metadata:
        del nb.metadata["widgets"]
        changed = True
    return changed


def carries_outputs(nb) -> bool:
    return any(c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None) for c in nb.cells) \
        or "widgets" in nb.metadata


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strip", action="store_true", help="clear outputs in place")
    ap.add_argument("--check", action="store_true", help="fail if a lesson carries outputs")
    ap.add_argument("paths", nargs="*")
    args = ap.parse_args(argv)
    status = 0
    for path in lessons(args.paths):
        nb = nbformat.read(path, as_version=4)
        if args.strip:
            if strip(nb):
                nbformat.write(nb, path)
                print("stripped", path)
        elif args.check:
            if carries_outputs(nb):
                print(f"{path}: carries outputs; run: python tools/execute_notebooks.py --strip {path}")
                status = 1
        else:
            from nbclient import NotebookClient

            NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
            print("ran", path)
    return status


if __name__ == "__main__":
    sys.exit(main())
