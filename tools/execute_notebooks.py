"""Execute every notebook in place, storing outputs and widget state, so that the
lessons render without a kernel (docs, GitHub).  Run from the repository root."""

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def main(paths) -> None:
    for path in paths or sorted(Path("notebooks").glob("*.ipynb")):
        path = Path(path)
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=180, kernel_name="python3", store_widget_state=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        nbformat.write(nb, path)
        print("executed", path)


if __name__ == "__main__":
    main(sys.argv[1:])
