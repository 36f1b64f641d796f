"""The Explorer widget: pick the walker's protections, the action and the kernel;
step through the race and watch the tree, the timeline and the event log."""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from html import escape

import ipywidgets as W

from ..kernel.scenario import ACTIONS, Scenario, parse_holds
from ..kernel.sim import Trace, blocked, default_choice, enabled, initial, make_ctx, outcome, run
from ..kernel.steps import Blocked, Moved
from ..kernel.walker import HOLDS
from ..viz.text import outcome_lines
from ..viz.timeline import timeline_png
from ..viz.tree import tree_svg
from .common import ConfigControls, cached_verdict, choice, message

AUTO = "auto"
_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pagewalk-tree")


class Explorer(W.VBox):
    """Step through one scenario: Explorer(holds, action, kernel, walker, fault,
    config) with the values make_scenario() takes (holds a list or a
    comma-separated string, config a dict or 'KEY=VAL,...'); a bad one is a
    one-line ValueError or TypeError.  Attributes tests drive: `holds` (dict of
    Checkboxes), `action`, `cfg` (ConfigControls), `next_actor`, the buttons
    `step_button`, `back_button`, `reset_button`, `bug_button`, `play`, the
    `slider`, and read: `trace`, `index`, `message`, `event_log`, `tree`, `timeline`."""

    def __init__(self, holds=(), action: str = "munmap", kernel: str = "6.18", walker: str = "local",
                 fault: str | None = None, config: dict | str | None = None, render: bool = True):
        holds = parse_holds(holds)  # 'rcu,irqs_off', ['rcu'] or (): one-line errors naming the holders accepted
        choice("action", action, ACTIONS)
        self._render = render
        self.holds = {h: W.Checkbox(value=h in holds, description=h, indent=False, tooltip=f"the walker holds {h}") for h in HOLDS}
        self.action = W.Dropdown(options=list(ACTIONS), value=action, description="action")
        self.cfg = ConfigControls(kernel, walker, fault, config)
        self.next_actor = W.Dropdown(options=[AUTO], value=AUTO, description="next", tooltip="which actor moves at the next Step")
        self.step_button = W.Button(description="Step", tooltip="move one actor one step", icon="step-forward")
        self.back_button = W.Button(description="Back", tooltip="go back one step", icon="step-backward")
        self.reset_button = W.Button(description="Reset", tooltip="back to the initial state", icon="undo")
        self.bug_button = W.Button(description="Show me the bug", tooltip="load the explorer's shortest counterexample",
                                   button_style="warning", icon="bug")
        self.play = W.Play(value=0, min=0, max=10_000, step=1, interval=600, description="Play", tooltip="play / pause")
        self.slider = W.IntSlider(value=0, min=0, max=0, description="step", continuous_update=False)
        self.message = W.HTML(message(""))
        self.verdict_box = W.HTML()
        self.event_log = W.HTML()
        self.tree = W.HTML()
        self.timeline = W.HTML()  # an <img> with alt text (ipywidgets.Image has no alt)
        # Save / Load (files are validated; saving never overwrites without asking)
        self.path = W.Text(value="scenario.json", description="file", tooltip="path of a scenario or trace file")
        self.overwrite = W.Checkbox(value=False, description="overwrite an existing file", indent=False)
        self.save_button = W.Button(description="Save", tooltip="save this scenario and its schedule", icon="save")
        self.load_button = W.Button(description="Load", tooltip="load a saved scenario or trace", icon="folder-open")

        self.trace: Trace | None = None
        self.index = 0
        self.step_button.on_click(lambda _: self.do_step())
        self.back_button.on_click(lambda _: self.do_back())
        self.reset_button.on_click(lambda _: self.do_reset())
        self.bug_button.on_click(lambda _: self.do_bug())
        self.save_button.on_click(lambda _: self.do_save())
        self.load_button.on_click(lambda _: self.do_load())
        self.slider.observe(self._on_slider, names="value")
        self.play.observe(self._on_play, names="value")
        for w in list(self.holds.values()) + [self.action] + self.cfg.widgets:
            w.observe(self._on_setting, names="value")
        controls = W.VBox([
            W.HBox([W.Label("walker holds:")] + list(self.holds.values())),
            W.HBox([self.action]),
            self.cfg.box,
            W.HBox([self.next_actor, self.step_button, self.back_button, self.play, self.reset_button, self.bug_button]),
            self.slider,
            self.message,
            self.verdict_box,
            W.HBox([self.path, self.overwrite, self.save_button, self.load_button]),
        ])
        from ..viz.timeline import LEGEND_TEXT
        legend = W.HTML(f'<div style="font-size:11px">{escape(LEGEND_TEXT)}</div>')
        super().__init__([controls, W.HBox([self.tree, self.event_log]), self.timeline, legend])
        self.do_reset()

    # --- scenario ----------------------------------------------------------------
    def scenario(self) -> Scenario:
        holds = tuple(h for h in HOLDS if self.holds[h].value)
        kind = "file" if self.action.value == "retract_page_tables" else "anon"
        return Scenario(holds, self.action.value, self.cfg.config(), self.cfg.walker.value, self.cfg.fault_value(), None, kind)

    def _on_setting(self, change) -> None:
        if self.cfg._holding:
            return
        kept = list(self.trace.actions[: self.index]) if self.trace is not None else []
        if self.do_reset() and kept and change.get("owner") is not self.action:
            self._replay(kept)

    def _replay(self, schedule: list[str]) -> None:
        """Run the schedule the learner was looking at under the new settings, as
        far as it applies, and say where and why it stops: ticking irqs_off under
        a loaded counterexample shows the very step that now has to wait."""
        trace = self.trace
        for n, name in enumerate(schedule):
            o = outcome(trace.ctx, trace.last, name)
            if not isinstance(o, Moved):
                why = (f"{name} is blocked: {o.reason}" if isinstance(o, Blocked)
                       else f"{name} has nothing to do now")
                text = f"Same schedule, new settings: {n} of {len(schedule)} steps replay; step {n + 1} cannot: {why}."
                break
            trace.push(name)
        else:
            text = ("Same schedule, new settings: the step replays." if len(schedule) == 1
                    else f"Same schedule, new settings: all {len(schedule)} steps replay.")
        self.index = len(trace.states) - 1
        self.message.value = message(text, "info")
        self.redraw()

    def _fail(self, err: Exception) -> None:
        self.message.value = message(str(err).splitlines()[0] if str(err) else type(err).__name__, "error")

    def do_reset(self) -> bool:
        """Back to the initial state of the chosen scenario; False (and the
        message shown, the old trace kept) when the settings are impossible."""
        try:
            s = self.scenario()
        except (ValueError, TypeError) as err:
            self._fail(err)
            return False
        ctx = make_ctx(s)
        self.trace = Trace(ctx, [initial(ctx)])
        self.index = 0
        self.message.value = message(f"{ctx.setup.summary}. The walker reads {ctx.walk_addr:#x}.")
        self.verdict_box.value = ""
        self.redraw()
        return True

    # --- moving ----------------------------------------------------------------------
    def do_step(self) -> None:
        if self.trace is None:
            return
        trace = self.trace
        if self.index < len(trace.states) - 1:  # stepping after Back drops the old future
            while len(trace.states) - 1 > self.index:
                trace.pop()
        name = self.next_actor.value
        if name == AUTO:
            name = default_choice(trace.ctx, trace)
            if name is None:
                self.message.value = message("Nothing can move: " + " ".join(outcome_lines(trace)))
                self.play.playing = False
                return
        try:
            event = trace.push(name)
        except ValueError as err:
            self._fail(err)
            return
        self.index = len(trace.states) - 1
        self.message.value = message(f"{event.actor}: {event.function}()", "ok")
        self.redraw()

    def do_back(self) -> None:
        if self.index > 0:
            self.index -= 1
            self.redraw()
        else:
            self.message.value = message("Already at the first state.")

    def do_bug(self) -> None:
        try:
            s = self.scenario()
        except (ValueError, TypeError) as err:
            self._fail(err)
            return
        v = cached_verdict(s)
        self.verdict_box.value = ("<b>Verdict:</b> " + escape(v.verdict) + f" ({v.states} states)<ul>"
                                  + "".join(f"<li>{escape(w)}</li>" for w in v.why) + "</ul>")
        if not v.schedule:
            self.message.value = message(f"No bug to show: the verdict is {v.verdict}.", "info")
            return
        self.trace = run(s, v.schedule, then_default=False)
        self.index = len(self.trace.states) - 1
        self.message.value = message(f"Shortest counterexample loaded: {len(v.schedule)} steps ({v.verdict}).", "error")
        self.redraw()

    def _on_slider(self, change) -> None:
        if self.trace is None or self._redrawing:
            return
        self.index = max(0, min(change["new"], len(self.trace.states) - 1))
        self.redraw()

    def _on_play(self, change) -> None:
        if change["new"] > change["old"]:
            self.do_step()

    # --- files -------------------------------------------------------------------------
    def do_save(self) -> None:
        from ..saved import save_scenario

        try:
            schedule = list(self.trace.actions[: self.index]) if self.trace else []
            save_scenario(self.path.value, self.scenario(), schedule, overwrite=self.overwrite.value)
        except FileExistsError:
            self.message.value = message(f"{self.path.value} exists: tick 'overwrite an existing file' to replace it.", "error")
            return
        except (OSError, ValueError, TypeError) as err:
            self._fail(err)
            return
        self.overwrite.value = False
        self.message.value = message(f"Saved to {self.path.value}.", "ok")

    def do_load(self) -> None:
        from ..saved import load_scenario

        try:
            s, schedule = load_scenario(self.path.value)
            trace = run(s, schedule or [], then_default=False)
        except (OSError, ValueError, TypeError) as err:
            self._fail(err)
            return
        with self.cfg.hold():
            for h in HOLDS:
                self.holds[h].value = h in s.holds
            self.action.value = s.action
            self.cfg.kernel.value = s.config.kernel
            self.cfg.rcu_free.value = s.config.MMU_GATHER_RCU_TABLE_FREE
            self.cfg.pt_reclaim.value = s.config.PT_RECLAIM
            self.cfg.flush.value = s.config.TLB_FLUSH
            self.cfg.fallback.value = s.config.TABLE_FREE_FALLBACK
            self.cfg.levels.value = s.config.PGTABLE_LEVELS
            self.cfg.fault.value = s.fault or "none"
            self.cfg.walker.value = s.walker
        self.trace = trace
        self.index = len(trace.states) - 1
        self.message.value = message(f"Loaded {self.path.value}: {len(trace)} steps.", "ok")
        self.redraw()

    # --- drawing -------------------------------------------------------------------------
    _redrawing = False

    def state(self):
        return self.trace.states[self.index]

    def redraw(self) -> None:
        trace = self.trace
        ctx = trace.ctx
        state = self.state()
        self._redrawing = True
        try:
            self.slider.max = len(trace.states) - 1
            self.slider.value = self.index
        finally:
            self._redrawing = False
        options = [AUTO] + enabled(ctx, state)
        waits = blocked(ctx, state)
        options += [f"({n}: blocked)" for n in waits]
        self.next_actor.options = [o for o in options if not o.startswith("(")] or [AUTO]
        self.next_actor.value = AUTO
        items = []
        for i, e in enumerate(trace.events, start=1):
            cur = i == self.index
            style = ' style="background:#56B4E9;font-weight:bold"' if cur else ""
            who = f"CPU{e.cpu}" if e.cpu is not None else "RCU"
            items.append(f"<li{style} title='{escape(e.source)}'>{i}. {who} {escape(e.actor)} <code>{escape(e.function)}</code>: "
                         f"{escape(e.text)}</li>")
        blocked_html = "".join(f"<li><i>{escape(n)} is blocked: {escape(b.reason)}</i></li>" for n, b in waits.items())
        self.event_log.value = (f'<div style="max-height:420px;overflow-y:auto;font-size:12px;width:520px"><b>Event log</b>'
                          f'<ol style="padding-left:1em;list-style:none">{"".join(items)}</ol>'
                          f'<ul>{blocked_html}</ul></div>')
        if not self._render:
            return
        # graphviz's dot runs in a subprocess: lay the tree out while matplotlib draws the timeline.
        tree_future = _POOL.submit(tree_svg, ctx, state)
        png = timeline_png(trace, current=self.index, legend=False)
        alt = escape(f"Timeline up to step {self.index} of {len(trace)}: " + " ".join(outcome_lines(trace)))
        self.tree.value = (f'<div role="img" aria-label="Page-table tree at step {self.index}" '
                           f'style="max-width:760px;overflow:auto">{tree_future.result()}</div>')
        self.timeline.value = f'<img alt="{alt}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'

