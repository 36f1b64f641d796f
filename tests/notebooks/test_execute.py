"""Every lesson runs top to bottom headless, and its key outputs hold."""

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))  # the lessons, the tutorial and the glossary
LESSONS = [p for p in NOTEBOOKS if p.name != "glossary.ipynb"]


def execute(path: Path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def text_of(nb) -> str:
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            out.append(o.get("text", "") or "".join(o.get("data", {}).get("text/plain", "")))
    return "\n".join(out)


def test_there_is_a_lesson():
    assert NOTEBOOKS, "notebooks/ holds the course"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes_without_error(path):
    nb = execute(path)
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            assert o.get("output_type") != "error", (path.name, o.get("ename"), o.get("evalue"))


def test_start_here_states_what_the_explorer_finds():
    from pagewalk_edu.explore import verdict
    from pagewalk_edu.scenarios import named

    nb = execute(ROOT / "notebooks" / "00-start-here.ipynb")
    text = text_of(nb)
    assert "munmap waits in vma_start_write()" in text, "the short trace shows munmap blocked by the walker's VMA lock"
    for name in ("none+munmap", "vma_lock+munmap"):
        v = verdict(named(name).scenario)
        assert f"{name:16s} -> {v.verdict:15s} ({v.states} states)" in text
    assert verdict(named("none+munmap").scenario).verdict == "unsafe"
    assert verdict(named("vma_lock+munmap").scenario).verdict == "safe"


def _verdict(name: str) -> str:
    from pagewalk_edu.explore import verdict
    from pagewalk_edu.scenarios import named

    return verdict(named(name).scenario).verdict


#: A claim in a lesson's prose: a named scenario in backquotes, a colon, the verdict in bold.
CLAIM = re.compile(r"`([^`\s]+)`:\s+\*\*(safe_but_stale|safe|unsafe|deadlock)\*\*")
#: A named scenario quoted in a lesson's code.
QUOTED = re.compile(r"""(?:named|reveal_verdict\(\w+,|uaf_reachable)\(?\s*"([^"]+)"|quiz\(([^)]*)\)""")


def _claims():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                for name, claimed in CLAIM.findall(cell.source):
                    yield path.name, name, claimed


@pytest.mark.parametrize("lesson,name,claimed", list(_claims()), ids=lambda x: str(x))
def test_each_verdict_a_lesson_states_is_the_explorers(lesson, name, claimed):
    from pagewalk_edu.scenarios import named

    assert named(name).expected == claimed, (lesson, name, "verdicts.json says", named(name).expected)
    assert _verdict(name) == claimed, (lesson, name)


def test_every_bold_verdict_in_a_lesson_is_a_pinned_claim():
    """A verdict in bold is always written as a claim the tests above check: `NAME`: **verdict**."""
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                bold = re.findall(r"\*\*(safe_but_stale|safe|unsafe|deadlock)\*\*", cell.source)
                assert len(bold) == len(CLAIM.findall(cell.source)), (path.name, cell.source[:200])


def test_lessons_state_claims_and_quote_only_named_scenarios_that_exist():
    from pagewalk_edu.scenarios import named

    assert len(list(_claims())) >= 15, "the lessons state their verdicts as claims the tests pin"
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            for single, many in QUOTED.findall(cell.source):
                for name in [single] if single else re.findall(r'"([^"]+)"', many):
                    named(name)  # raises ValueError naming the unknown scenario


def test_an_explorer_widget_is_displayed_where_a_lesson_builds_one():
    for path in NOTEBOOKS:
        nb0 = nbformat.read(path, as_version=4)
        if not any("Explorer(" in c.source for c in nb0.cells if c.cell_type == "code"):
            continue
        nb = execute(path)
        views = [o for c in nb.cells for o in c.get("outputs", []) if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        assert views, f"{path.name}: the Explorer widget is displayed"


def test_shipped_notebooks_carry_no_outputs():
    """The notebooks are the lessons' only source and ship without outputs: no answer is on screen before
    the learner predicts it (the docs build executes them)."""
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for i, c in enumerate(nb.cells):
            if c.cell_type == "code":
                assert not c.get("outputs") and c.get("execution_count") is None, f"{path.name} cell {i} carries outputs"
        assert "widgets" not in nb.metadata, f"{path.name} carries saved widget state"


def test_no_generator_writes_the_lessons():
    """One source per lesson: nothing in tools/ writes notebooks (an edit in JupyterLab is the edit)."""
    for tool in (ROOT / "tools").glob("*.py"):
        text = tool.read_text(encoding="utf-8")
        assert "new_notebook(" not in text, f"{tool.name} generates notebooks"


def test_every_lesson_has_objectives_time_recap_and_sources():
    for path in LESSONS:
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert "You will learn to" in text and "Time:" in text and "Prerequisites" in text, path.name
        assert "Recap" in text and ".c:" in text, path.name
        assert "Predict" in text, path.name


def test_each_lessons_explorer_opens_on_a_named_scenario_with_only_the_controls_it_needs():
    from pagewalk_edu.scenarios import named

    found = 0
    for path in LESSONS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and "Explorer(" in cell.source and "import Explorer" in cell.source:
                m = re.search(r'Explorer\(scenario="([^"]+)", controls=\(([^)]*)\)', cell.source)
                assert m, f"{path.name}: an Explorer not opened on a named scenario with its controls"
                named(m.group(1))
                controls = re.findall(r'"(\w+)"', m.group(2))
                assert 1 <= len(controls) <= 4, (path.name, controls)
                found += 1
    assert found >= 6
