"""The shipped example scenario files pass `check`, and docs/scenarios.md shows
each one as shipped with the answer the explorer gives today."""

import re
from pathlib import Path

import pytest

from pagewalk_edu.explore import verdict
from pagewalk_edu.kernel.scenario import ACTIONS
from pagewalk_edu.scenarios.files import load, loads

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "pagewalk_edu" / "scenarios" / "examples").glob("*.toml"))
DOC = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_gives_its_expected_verdict_and_state_count(path):
    f = load(path)
    v = verdict(f.scenario)
    assert f.expect and f.states, f"{path.name} must pin expect and states"
    assert (v.verdict, v.states) == (f.expect, f.states)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_doc_shows_the_example_as_shipped_with_its_answer(path):
    rel = f"pagewalk_edu/scenarios/examples/{path.name}"
    block = re.search(re.escape(f"`{rel}`:") + r"\n\n```toml\n(.*?)```", DOC, re.S)
    assert block, f"docs/scenarios.md does not show {rel}"
    assert block.group(1) == path.read_text(encoding="utf-8")
    answer = re.search(re.escape(f"pagewalk-edu check {rel}` gives this verdict and why (and PASS):") + r"\n\n```text\n(.*?)```", DOC, re.S).group(1)
    v = verdict(load(path).scenario)
    assert answer == f"verdict: {v.verdict}  ({v.states} states explored)\n" + "".join(f"- {w}\n" for w in v.why)


def test_doc_has_a_worked_example_per_action():
    for action in ACTIONS:
        assert f"### `{action}`" in DOC
    from pagewalk_edu.kernel.scenario import build_setup
    ops = {path.spec.op for p in EXAMPLES for path in build_setup(loads(p.read_text(), p.name).scenario).paths}
    assert ops == {"munmap", "madvise", "khugepaged_collapse", "retract_page_tables", "mremap"}


def test_every_toml_block_in_the_doc_is_a_valid_scenario_file():
    blocks = re.findall(r"```toml\n(.*?)```", DOC, re.S)
    assert len(blocks) >= len(ACTIONS) + 2
    for b in blocks:
        loads(b, "docs/scenarios.md")
