"""Fixtures of the browser build's tests: the cached Pyodide core and wheels
(tools/lite_deps.py)."""

from __future__ import annotations

import pytest

from litehelp import lite_deps

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
