"""Tests of the package's behaviour inside the browser's Python (Pyodide). They run
there only: tests/lite/test_pyodide_engine.py passes this folder to pytest inside
Pyodide; CPython's collection leaves it out."""

import sys

collect_ignore_glob = [] if sys.platform == "emscripten" else ["test_*.py"]
