"""What the browser tests share: Chromium (Debian's, driven by Playwright; one
a test module) and one built docs site for the whole session."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .test_browser import ARGS, ARTIFACTS, CHROMIUM, ROOT


@pytest.fixture(scope="module")  # closed at the module's end: other suites start Playwright of their own
def browser():
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (scripts/test.sh installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The course site as tools/build_docs.py builds it (lessons executed, steppers, Lite)."""
    out = tmp_path_factory.mktemp("site")
    p = subprocess.run([sys.executable, str(ROOT / "tools" / "build_docs.py"), "--out", str(out)], capture_output=True, text=True,
                       timeout=900)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return out
