"""docs/api.md: every Python snippet runs, and what it names exists."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "api.md").read_text()
SNIPPETS = re.findall(r"```python\n(.*?)```", DOC, re.S)


def test_the_doc_has_snippets():
    assert SNIPPETS


@pytest.mark.parametrize("i", range(len(SNIPPETS)))
def test_every_snippet_runs(i):
    exec(compile(SNIPPETS[i], f"docs/api.md snippet {i + 1}", "exec"), {})


def test_what_the_doc_says_of_a_trace_and_of_viz():
    from pagewalk_edu.kernel import make_scenario, run
    from pagewalk_edu.viz import matrix_figure, state_text, trace_text, verdict_text  # noqa: F401
    from pagewalk_edu.viz.matrix import matrix_figure as from_module

    assert matrix_figure is from_module
    t = run(make_scenario("rcu", "munmap"))
    assert t.states[0] is not t.last and len(t) == len(t.events) == len(t.states) - 1 == len(t.actions)
    n = len(t)
    t.pop()
    assert len(t) == n - 1
    with pytest.raises(TypeError):
        t[0]  # noqa: B018 - not indexed: the doc says to write trace.states[i]
    with pytest.raises(TypeError, match="the state comes first here, unlike tree"):
        state_text(t.ctx, t.last)
