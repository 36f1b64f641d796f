"""What lessons and learners rely on beyond stepping: opening on a named
scenario with only some controls, Load/Save/Reset keeping what was loaded,
greyed step controls while the settings are impossible, the live region, the
keys, presenter mode, and a widget that renders with neither `dot` nor
matplotlib."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pagewalk_edu.kernel import make_scenario
from pagewalk_edu.saved import save_scenario
from pagewalk_edu.scenarios import named
from pagewalk_edu.widgets import Explorer, Matrix, Quiz

ROOT = Path(__file__).resolve().parents[2]


def test_explorer_opens_on_a_named_scenario_with_only_the_listed_controls():
    e = Explorer(scenario="vma_lock+munmap", controls=("holds", "action"), render=False)
    want = named("vma_lock+munmap").scenario
    assert e.scenario() == want
    assert e.holds["vma_lock"].value and e.action.value == "munmap"
    shown = e.children[1].children[0].children  # the settings row
    classes = [c._dom_classes for c in shown]
    assert any("pw-group-holds" in c for c in classes) and any("pw-group-action" in c for c in classes)
    assert not any("pw-group-kernel" in c for c in classes), "the rest is behind 'more settings'"
    assert e._hidden.layout.display == "none"
    e.more.value = True
    assert e._hidden.layout.display == "" and e.more.description == "fewer settings"


def test_explorer_takes_a_scenario_object_and_refuses_bad_names():
    s = make_scenario("rcu", "retract_page_tables", walker="remote")
    assert Explorer(scenario=s, render=False).scenario() == s
    with pytest.raises(ValueError, match="no named scenario"):
        Explorer(scenario="no-such-thing", render=False)
    with pytest.raises(ValueError, match="unknown control 'colour'"):
        Explorer(controls=("holds", "colour"), render=False)
    with pytest.raises(TypeError, match="scenario must be"):
        Explorer(scenario=42, render=False)


def test_load_then_save_unchanged_writes_back_what_was_loaded(tmp_path):
    src = tmp_path / "in.json"
    # a walked address and a VMA kind that are not the layout's defaults, and holders in a non-canonical order
    s = make_scenario("rcu,vma_lock", "munmap", address=0x7F00_0020_3000)
    save_scenario(src, s, ["walker", "walker"])
    e = Explorer(render=False)
    e.path.value = str(src)
    e.load_button.click()
    assert e.scenario() == s
    out = tmp_path / "out.json"
    e.path.value = str(out)
    e.save_button.click()
    assert "Saved" in e.message.value
    assert json.loads(out.read_text()) == json.loads(src.read_text())
    # a setting changed and changed back keeps the loaded address
    e.cfg.levels.value = 5
    e.cfg.levels.value = 4
    assert e.scenario().address == 0x7F00_0020_3000
    # Reset returns to the loaded scenario
    e.holds["rcu"].value = False
    e.action.value = "mremap"
    e.reset_button.click()
    assert e.scenario() == s and e.index == 0 and e.slider.max == 2


def test_step_controls_grey_while_the_settings_are_impossible():
    e = Explorer((), "munmap", render=False)
    e.step_button.click()
    e.cfg.pt_reclaim.value = True
    e.cfg.rcu_free.value = False  # PT_RECLAIM=y needs MMU_GATHER_RCU_TABLE_FREE=y
    assert "PT_RECLAIM=y needs" in e.message.value
    for w in (e.step_button, e.back_button, e.bug_button, e.play, e.slider, e.next_actor):
        assert w.disabled
    before = e.index
    e.step_button.click()
    assert e.index == before and "impossible combination" in e.message.value
    e.cfg.pt_reclaim.value = False
    assert not e.step_button.disabled and not e.slider.disabled


def test_live_region_announces_each_step_with_function_and_effect():
    e = Explorer(("rcu",), "munmap", config={"PT_RECLAIM": False}, fault="batch_alloc_fail", render=False)
    assert e.frontend.announce.startswith("step 0 of 0")
    e.step_button.click()
    assert e.frontend.announce.startswith("step 1 of 1, CPU0 walker: rcu_read_lock()")
    e.bug_button.click()
    assert e.frontend.announce.startswith(f"step {e.index} of {e.index}, CPU0 walker")
    assert "<code" in e.now.value and "mm/" in e.now.value, "the current step names its kernel function and source file"


def test_key_commands_step_and_back():
    e = Explorer(("vma_lock",), "munmap", render=False)
    e._key("step")
    e._key("step")
    assert e.index == 2
    e._key("back")
    assert e.index == 1


def test_presenter_mode_is_a_class_the_style_sheet_knows():
    e = Explorer(render=False)
    e.presenter.value = True
    assert "pw-presenter" in e._dom_classes
    from pagewalk_edu.widgets.frontend import asset

    assert ".pw-root.pw-presenter" in asset("widgets.css")
    e.presenter.value = False
    assert "pw-presenter" not in e._dom_classes


def test_widgets_show_a_run_this_cell_line_not_their_python_repr():
    for w in (Explorer(render=False), Matrix(render=False), Quiz(n=1)):
        data = w._repr_mimebundle_()
        bundle = data[0] if isinstance(data, tuple) else data
        assert "run this cell" in bundle["text/plain"] and "children=" not in bundle["text/plain"]
        assert "application/vnd.jupyter.widget-view+json" in bundle


def test_the_kernel_gone_note_is_in_every_message_area():
    assert "pw-nokernel" in Explorer(render=False).message.value
    assert "pw-nokernel" in Matrix(render=False).message.value
    assert "pw-nokernel" in Quiz(n=1).note.value


def test_explorer_builds_and_steps_without_dot_or_matplotlib(tmp_path):
    """No graphviz binary on PATH and matplotlib not importable: the Explorer
    still draws its tree and timeline (SVG built in Python)."""
    code = ("import sys\nsys.modules['matplotlib'] = None\n"
            "from pagewalk_edu.widgets import Explorer\n"
            "e = Explorer(('rcu',), 'munmap', config={'PT_RECLAIM': False}, fault='batch_alloc_fail')\n"
            "e.bug_button.click()\n"
            "assert e.state().uaf and e.tree.value.startswith('<svg') and 'was entry' in e.tree.value\n"
            "assert e.timeline.value.startswith('<svg') and 'use-after-free' in e.timeline.value\n"
            "print('ok')\n")
    env = {**os.environ, "PATH": str(tmp_path), "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr[-2000:]


def test_charts_display_as_images_with_alt_text():
    from pagewalk_edu.explore import matrix
    from pagewalk_edu.kernel import KernelConfig, run
    from pagewalk_edu.viz.matrix import matrix_figure
    from pagewalk_edu.viz.timeline import timeline

    fig = matrix_figure(matrix(KernelConfig.for_kernel("6.18"), rows=((),), actions=("munmap",)))
    bundle, meta = fig._repr_mimebundle_()
    assert bundle["image/png"][:4] == b"\x89PNG" and "Verdict matrix" in bundle["text/plain"]
    t = run(make_scenario("rcu", "munmap"))
    tl = timeline(t, 3)
    assert "Timeline" in tl._repr_mimebundle_()[0]["text/plain"]
    assert "<desc>" in tl.svg_text()


def test_explorer_opens_a_scenario_file_with_its_own_layout_and_saves_it_back(tmp_path):
    from pagewalk_edu.scenarios.files import load

    sf = load(ROOT / "pagewalk_edu" / "scenarios" / "examples" / "vma_lock+munmap-neighbour+collapse.toml")
    e = Explorer(scenario=sf.scenario, render=False)
    assert e.scenario() == sf.scenario and e.action.value == sf.scenario.action
    for _ in range(6):
        e.step_button.click()
    e.cfg.levels.value = 5
    assert e.scenario().layout == sf.scenario.layout, "a setting changed keeps the file's layout"
