"""Shared set-up for the browser build's tests: the cached Pyodide core and wheels
(tools/lite_deps.py), and whether missing Node or Chromium is a skip or a failure."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import lite_deps  # noqa: E402

NODE = shutil.which("node") or shutil.which("nodejs")
# scripts/test.sh installs Node and Chromium and sets these: there a missing one is a
# broken set-up, not a reason to skip what a user relies on.
REQUIRE = os.environ.get("PAGEWALK_REQUIRE_BROWSER") == "1"


def need_node():
    if NODE is None:
        if REQUIRE:
            pytest.fail("Node is not installed (scripts/test.sh installs Debian's nodejs)")
        pytest.skip("Node is not installed (scripts/test.sh installs Debian's nodejs)")
    return NODE


@pytest.fixture(scope="session")
def pyodide_core():
    try:
        return lite_deps.pyodide_core()
    except lite_deps.FetchError as e:
        pytest.fail(str(e))


@pytest.fixture(scope="session")
def test_wheels(tmp_path_factory):
    """pytest, hypothesis and their dependencies, and this package's wheel built now."""
    try:
        wheels = [lite_deps.pypi_wheel(n, v) for n, v in lite_deps.TEST_WHEELS.items()]
    except lite_deps.FetchError as e:
        pytest.fail(str(e))
    return wheels + [lite_deps.own_wheel(tmp_path_factory.mktemp("own-wheel"))]
