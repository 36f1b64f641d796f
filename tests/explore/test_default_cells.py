"""Every default cell of the matrix (both kernels, local and remote walkers, the
protection sets of the seed debate, the seven actions) keeps the verdict and the
state count it had before the actions became layout files (default_cells.json)."""

import json
from pathlib import Path

import pytest

from pagewalk_edu.explore import PROTECTIONS, verdict
from pagewalk_edu.kernel import KernelConfig, Scenario

PINNED = json.loads((Path(__file__).parent / "default_cells.json").read_text(encoding="utf-8"))["cells"]


@pytest.mark.parametrize("key", sorted(PINNED))
def test_default_cell_keeps_its_verdict_and_state_count(key):
    kernel, walker, holds, action = key.split(":")
    h = () if holds == "none" else tuple(holds.split("+"))
    assert h in PROTECTIONS
    s = Scenario(h, action, KernelConfig.for_kernel(kernel), walker, None, None,
                 "file" if action == "retract_page_tables" else "anon")
    v = verdict(s)
    assert [v.verdict, v.states] == PINNED[key]
