"""Helpers of the browser build's tests (tests/lite): where things are, and whether a
missing Node or Chromium is a skip or a failure."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import lite_deps  # noqa: E402,F401
import build_lite  # noqa: E402,F401

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


