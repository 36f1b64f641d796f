"""Fixtures of the browser build's tests: the cached Pyodide core and wheels
(tools/lite_deps.py), the built Lite site served on 127.0.0.1, and a page of it
in Chromium that may request nothing from another host."""

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


@pytest.fixture(scope="session")
def lite_site(tmp_path_factory):
    """tools/build_lite.py's site, built from this checkout into a temporary folder."""
    from litehelp import build_lite

    out = tmp_path_factory.mktemp("lite") / "site"
    try:
        build_lite.build(out)
    except lite_deps.FetchError as e:
        pytest.fail(str(e))
    return out


@pytest.fixture(scope="session")
def chromium():
    from litebrowser import CHROMIUM
    from litehelp import REQUIRE

    if CHROMIUM is None:
        msg = "Chromium is not installed (scripts/test.sh installs Debian's chromium)"
        pytest.fail(msg) if REQUIRE else pytest.skip(msg)
    from playwright.sync_api import sync_playwright

    from litebrowser import ARGS

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def site(lite_site):
    """The built Lite site, served as `python3 -m http.server` would; its base URL."""
    from litebrowser import serve

    with serve(lite_site) as base:
        yield base


@pytest.fixture
def page(chromium, site):
    """A page of the Lite site in a context of its own; the test fails if the
    page requested another host."""
    from litebrowser import Guard, lite_context

    guard = Guard(site)
    ctx = lite_context(chromium, site, guard)
    pg = ctx.new_page()
    yield pg
    ctx.close()
    assert not guard.foreign, f"the Lite site requested another host: {guard.foreign[:5]}"
