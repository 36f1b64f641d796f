"""Write a scenario file into the test's own folder."""

import pytest


@pytest.fixture
def write(tmp_path):
    def _write(text, name="it.toml"):
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        return p
    return _write
