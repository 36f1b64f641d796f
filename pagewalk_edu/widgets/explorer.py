"""The Explorer widget: pick the walker's protections, the action and the kernel;
step through the race and watch the tree, the timeline and the event log.

The tree and the timeline are SVG built in Python from the view models (no
`dot` subprocess, no matplotlib), so the Explorer works wherever Python does,
JupyterLite included."""

from __future__ import annotations

from dataclasses import replace
from html import escape

import ipywidgets as W

from ..kernel.scenario import ACTIONS, Scenario, parse_holds
from ..kernel.background import idle_reason
from ..kernel.sim import Trace, blocked, default_choice, enabled, initial, make_ctx, outcome, run
from ..kernel.steps import Blocked, Moved
from ..kernel.walker import HOLDS
from ..viz.model.timeline import timeline_model
from ..viz.model.tree import tree_model
from ..viz.svg.timeline import timeline_svg_model
from ..viz.svg.tree import tree_svg_model
from ..viz.text import outcome_lines
from .common import ConfigControls, cached_verdict, choice, message
from .explorer_view import announcement, event_log_html, now_html
from .frontend import KeyHelper, RunThisCell, close_tree, style

AUTO = "auto"
#: the groups of settings a lesson may show; the rest go behind "more settings"
CONTROLS = ("holds", "action", "kernel", "walker", "config", "fault", "files")
#: shown when a caller names none: the kernel's config keys and the files are one click away
DEFAULT_CONTROLS = ("holds", "action", "kernel", "walker", "fault")


def _controls_arg(controls) -> tuple[str, ...]:
    if controls is None:
        return DEFAULT_CONTROLS
    if isinstance(controls, str):
        controls = tuple(x.strip() for x in controls.split(",") if x.strip())
    if not isinstance(controls, (tuple, list)) or not all(isinstance(c, str) for c in controls):
        raise TypeError(f"controls must be a list of names from {', '.join(CONTROLS)}; got {type(controls).__name__}")
    for c in controls:
        if c not in CONTROLS:
            raise ValueError(f"unknown control {c!r}; accepted: {', '.join(CONTROLS)}")
    return tuple(controls)


def _scenario_arg(scenario) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, str):
        from ..scenarios import named

        return named(scenario).scenario
    raise TypeError(f"scenario must be a scenario name (see pagewalk_edu.scenarios.named_scenarios()) or a Scenario, "
                    f"got {type(scenario).__name__}")


class Explorer(RunThisCell, W.VBox):
    """Step through one scenario: Explorer(holds, action, kernel, walker, fault,
    config) with the values make_scenario() takes (holds a list or a
    comma-separated string, config a dict or 'KEY=VAL,...'); or
    Explorer(scenario="vma_lock+munmap") to open on a named scenario (or a
    Scenario).  controls=("holds", "action") shows only those settings, the rest
    behind "more settings" (names: holds, action, kernel, walker, config,
    fault, files).  presenter=True opens in presenter mode.  A bad argument is
    a one-line ValueError or TypeError.

    Attributes tests drive: `holds` (dict of Checkboxes), `action`, `cfg`
    (ConfigControls), `next_actor`, the buttons `step_button`, `back_button`,
    `reset_button`, `bug_button`, `presenter`, `more`, `play`, the `slider`;
    read: `trace`, `index`, `message`, `now`, `event_log`, `tree`, `timeline`,
    `frontend` (its `announce` is the live region's text)."""

    def __init__(self, holds=(), action: str = "munmap", kernel: str = "6.18", walker: str = "local",
                 fault: str | None = None, config: dict | str | None = None, render: bool = True, *,
                 scenario=None, controls=None, presenter: bool = False):
        shown = _controls_arg(controls)
        self._loaded: Scenario | None = None
        self._loaded_trace: Trace | None = None
        if scenario is not None:
            s = _scenario_arg(scenario)
            self._loaded = s
            holds, action, kernel, walker, fault = s.holds, s.action, s.config.kernel, s.walker, s.fault
            config = {k: v for k, v in s.config.as_dict().items() if k != "kernel"}
        holds = parse_holds(holds)  # 'rcu,irqs_off', ['rcu'] or (): one-line errors naming the holders accepted
        actions = list(ACTIONS) + ([action] if self._loaded is not None and action not in ACTIONS else [])
        choice("action", action, actions)  # a scenario file's own layout is an action of its own
        self._render = render
        self._holds_order = tuple(holds)
        self.holds = {h: W.Checkbox(value=h in holds, description=h, indent=False, tooltip=f"the walker holds {h}",
                                    layout=W.Layout(width="auto")) for h in HOLDS}
        self.action = W.Dropdown(options=actions, value=action, description="action", tooltip="the kernel path racing with the walker",
                                 style={"description_width": "initial"}, layout=W.Layout(width="240px"))
        self.cfg = ConfigControls(kernel, walker, fault, config)
        self.next_actor = W.Dropdown(options=[AUTO], value=AUTO, description="next", tooltip="which actor moves at the next Step",
                                     style={"description_width": "initial"}, layout=W.Layout(width="170px"))
        self.step_button = W.Button(description="Step", tooltip="move one actor one step (key n or →)", icon="step-forward")
        self.back_button = W.Button(description="Back", tooltip="go back one step (key b or ←)", icon="step-backward")
        self.reset_button = W.Button(description="Reset", tooltip="back to the initial state (of the loaded scenario, if any)", icon="undo")
        self.bug_button = W.Button(description="Show me the bug", tooltip="load the explorer's shortest counterexample",
                                   button_style="warning", icon="bug")
        self.play = W.Play(value=0, min=0, max=10_000, step=1, interval=600, description="Play", tooltip="play / pause")
        self.slider = W.IntSlider(value=0, min=0, max=0, description="step", continuous_update=False, tooltip="step of the trace shown",
                                  style={"description_width": "initial"}, layout=W.Layout(width="320px"))
        self.presenter = W.ToggleButton(value=bool(presenter), description="Presenter", icon="desktop",
                                        tooltip="presenter mode: large type, the tree and the current step; Space/→ steps, ← goes back")
        self.more = W.ToggleButton(value=False, description="more settings", icon="sliders",
                                   tooltip="show the settings this lesson does not need")
        self.message = W.HTML(message(""))
        self.verdict_box = W.HTML()
        self.now = W.HTML()
        self.event_log = W.HTML()
        self.tree = W.HTML()
        self.timeline = W.HTML()
        self.frontend = KeyHelper(self._key)
        # Save / Load (files are validated; saving never overwrites without asking)
        self.path = W.Text(value="scenario.json", description="file", tooltip="path of a scenario or trace file")
        self.overwrite = W.Checkbox(value=False, description="overwrite an existing file", indent=False, layout=W.Layout(width="auto"))
        self.save_button = W.Button(description="Save", tooltip="save this scenario and its schedule", icon="save")
        self.load_button = W.Button(description="Load", tooltip="load a saved scenario or trace", icon="folder-open")
        for b in (self.step_button, self.back_button, self.reset_button, self.bug_button, self.presenter, self.more,
                  self.save_button, self.load_button):
            b.layout.width = "auto"
        self.path.layout.width = "320px"
        self.path.style.description_width = "initial"

        self.trace: Trace | None = None
        self.index = 0
        self._possible = True
        self.step_button.on_click(lambda _: self.do_step())
        self.back_button.on_click(lambda _: self.do_back())
        self.reset_button.on_click(lambda _: self.do_reset())
        self.bug_button.on_click(lambda _: self.do_bug())
        self.save_button.on_click(lambda _: self.do_save())
        self.load_button.on_click(lambda _: self.do_load())
        self.slider.observe(self._on_slider, names="value")
        self.play.observe(self._on_play, names="value")
        self.presenter.observe(self._on_presenter, names="value")
        self.more.observe(self._on_more, names="value")
        for w in list(self.holds.values()) + [self.action] + self.cfg.widgets:
            w.observe(self._on_setting, names="value")
        groups = {
            "holds": W.HBox([W.Label("walker holds:")] + list(self.holds.values())),
            "action": W.HBox([self.action]),
            "kernel": W.HBox([self.cfg.kernel]),
            "walker": W.HBox([self.cfg.walker]),
            "config": W.VBox([W.HBox([self.cfg.rcu_free, self.cfg.pt_reclaim, self.cfg.levels, self.cfg.flush, self.cfg.fallback]),
                              W.HBox([self.cfg.table_sync, self.cfg.unshare_sync])]),
            "fault": W.HBox([self.cfg.fault]),
            "files": W.HBox([self.path, self.overwrite, self.save_button, self.load_button]),
        }
        for name, box in groups.items():
            box.add_class(f"pw-group-{name}")
        groups["files"].add_class("pw-files")
        front = [W.HBox([groups[g] for g in CONTROLS if g in shown and g not in ("config", "files")])]
        front += [groups[g] for g in ("config", "files") if g in shown]
        self._hidden = W.VBox([groups[g] for g in CONTROLS if g not in shown])
        self._hidden.layout.display = "none"
        self._hidden.add_class("pw-more-box")  # presenter mode shows the holds in it (widgets.css)
        self.more.add_class("pw-more-toggle")
        settings = W.VBox(front + ([self.more, self._hidden] if self._hidden.children else []))
        settings.add_class("pw-settings")
        help_row = W.HTML('<div class="pw-help">keys: n or → Step, b or ← Back (Space too in presenter mode)</div>')
        help_row.add_class("pw-help-row")
        bar = W.HBox([self.back_button, self.step_button, self.next_actor, self.play, self.slider, self.reset_button,
                      self.bug_button, self.presenter, help_row])
        self.tree.add_class("pw-tree")
        self.event_log.add_class("pw-log")
        self.timeline.add_class("pw-timeline")
        self.verdict_box.add_class("pw-verdict")
        main = W.HBox([self.tree, self.event_log])
        main.add_class("pw-main")
        super().__init__([style(), settings, bar, self.message, self.now, self.frontend, main,
                          self.timeline, self.verdict_box])
        self.add_class("pw-root")
        self.add_class("pw-explorer")
        if presenter:
            self.add_class("pw-presenter")
        self.do_reset()

    def close(self) -> None:
        """Close this Explorer and every widget it holds (see close_tree)."""
        close_tree(self)

    # --- scenario ----------------------------------------------------------------
    def scenario(self) -> Scenario:
        """The scenario the settings shown describe.  A loaded (or named)
        scenario's walked address and VMA kind are kept while its action is."""
        ticked = {h for h in HOLDS if self.holds[h].value}
        holds = self._holds_order if set(self._holds_order) == ticked else tuple(h for h in HOLDS if h in ticked)
        if self._loaded is not None and self._loaded.action == self.action.value:
            # everything the controls do not show (address, VMA kind, a file's own layout) stays as loaded
            return replace(self._loaded, holds=holds, config=self.cfg.config(), walker=self.cfg.walker.value,
                           fault=self.cfg.fault_value())
        return Scenario(holds, self.action.value, self.cfg.config(), self.cfg.walker.value, self.cfg.fault_value())

    def _on_setting(self, change) -> None:
        if self.cfg._holding:
            return
        if change.get("owner") in self.holds.values():
            ticked = {h for h in HOLDS if self.holds[h].value}
            self._holds_order = tuple(h for h in self._holds_order if h in ticked) + tuple(
                h for h in HOLDS if h in ticked and h not in self._holds_order)
        kept = list(self.trace.actions[: self.index]) if self.trace is not None else []
        had_verdict = bool(self.verdict_box.value)
        if self._start():
            if kept and change.get("owner") is not self.action:
                self._replay(kept)
            if had_verdict:  # the verdict shown was for the old settings: show the new settings' one
                self._show_verdict(self.scenario())

    def _replay(self, schedule: list[str]) -> None:
        """Run the schedule the learner was looking at under the new settings, as
        far as it applies, and say where and why it stops: ticking irqs_off under
        a loaded counterexample shows the very step that now has to wait."""
        trace = self.trace
        for n, name in enumerate(schedule):
            o = outcome(trace.ctx, trace.last, name)
            if not isinstance(o, Moved):
                why = (f"{name} is blocked: {o.reason}" if isinstance(o, Blocked)
                       else f"{name} has nothing to do now: {idle_reason(trace.ctx, trace.last, name)}")
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

    def _set_possible(self, possible: bool) -> None:
        """Grey the step controls while the settings shown are impossible."""
        self._possible = possible
        for w in (self.step_button, self.back_button, self.bug_button, self.play, self.slider, self.next_actor, self.save_button):
            w.disabled = not possible

    def _start(self) -> bool:
        """Step 0 of the scenario the settings describe; False (the message
        shown, the step controls greyed, the old trace kept) when impossible."""
        try:
            s = self.scenario()
        except (ValueError, TypeError) as err:
            self._fail(err)
            self._set_possible(False)
            return False
        self._set_possible(True)
        ctx = make_ctx(s)
        self.trace = Trace(ctx, [initial(ctx)])
        self.index = 0
        self.message.value = message("")  # the step-0 line below says what the scenario is
        self.verdict_box.value = ""
        self.redraw()
        return True

    def do_reset(self) -> bool:
        """Back to step 0: of the loaded scenario when one was loaded (its
        settings restored, its saved steps on the slider), else of the
        settings shown."""
        if self._loaded is not None:
            self._show_settings(self._loaded)
            if self._loaded_trace is not None:
                self._set_possible(True)
                self.trace = run(self._loaded, self._loaded_trace.actions, then_default=False)
                self.index = 0
                self.message.value = message(f"Back to the loaded scenario at step 0; its {len(self.trace)} saved steps are on the slider.")
                self.verdict_box.value = ""
                self.redraw()
                return True
        return self._start()

    # --- moving ----------------------------------------------------------------------
    def _key(self, cmd: str) -> None:
        if cmd == "step":
            self.do_step()
        elif cmd == "back":
            self.do_back()

    def _refuse_impossible(self) -> bool:
        if not self._possible:
            self.message.value = message("The settings shown are an impossible combination: change them before stepping.", "error")
            return True
        return False

    def do_step(self) -> None:
        if self.trace is None or self._refuse_impossible():
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
        else:
            self._chosen = (trace, name)
        try:
            event = trace.push(name)
        except ValueError as err:
            self._fail(err)
            return
        self.index = len(trace.states) - 1
        self.message.value = message(self._chosen_note())
        self.redraw()

    _chosen: tuple | None = None  # (trace, actor) last picked in the next menu: a new trace forgets it

    def _who(self, name: str) -> str:
        cpu = self.trace.ctx.cpu_of(name)
        return name if cpu is None else f"CPU{cpu} {name}"

    def _chosen_note(self) -> str:
        """A blocked actor leaves the next menu, and the menu falls back to auto:
        say so, and who the next Step moves, rather than move another CPU unasked."""
        trace = self.trace
        if self._chosen is None or self._chosen[0] is not trace:
            return ""
        name = self._chosen[1]
        o = outcome(trace.ctx, trace.last, name)
        if isinstance(o, Blocked):
            nxt = default_choice(trace.ctx, trace)
            runs = f"Step runs {self._who(nxt)}" if nxt is not None else "nothing else can move"
            return f"{self._who(name)} is waiting ({o.reason}), so it is not in the next menu; {runs}."
        self._chosen = None
        waited = trace.actions[-1:] != [name]  # another actor moved while it waited
        return f"{self._who(name)} can move again: it is back in the next menu." if isinstance(o, Moved) and waited else ""

    def do_back(self) -> None:
        if self._refuse_impossible():
            return
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
        v = self._show_verdict(s)
        if not v.schedule:
            self.message.value = message(f"No bug to show: the verdict is {v.verdict}.", "info")
            return
        self.trace = run(s, v.schedule, then_default=False)
        self.index = len(self.trace.states) - 1
        self.message.value = message(f"Shortest counterexample loaded: {len(v.schedule)} steps ({v.verdict}).", "error")
        self.redraw()

    def _show_verdict(self, s: Scenario):
        v = cached_verdict(s)
        self.verdict_box.value = ('<div class="pw-mono"><b>Verdict:</b> ' + escape(v.verdict) + f" ({v.states} states)<ul>"
                                  + "".join(f"<li>{escape(w)}</li>" for w in v.why) + "</ul></div>")
        return v

    def _on_slider(self, change) -> None:
        if self.trace is None or self._redrawing:
            return
        self.index = max(0, min(change["new"], len(self.trace.states) - 1))
        self.redraw()

    def _on_play(self, change) -> None:
        if change["new"] > change["old"]:
            self.do_step()

    def _on_presenter(self, change) -> None:
        (self.add_class if change["new"] else self.remove_class)("pw-presenter")
        self.redraw()

    def _on_more(self, change) -> None:
        self._hidden.layout.display = "" if change["new"] else "none"
        self.more.description = "fewer settings" if change["new"] else "more settings"

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

    def _show_settings(self, s: Scenario) -> None:
        with self.cfg.hold():
            for h in HOLDS:
                self.holds[h].value = h in s.holds
            self._holds_order = tuple(s.holds)
            if s.action not in self.action.options:
                self.action.options = list(ACTIONS) + [s.action]
            self.action.value = s.action
            self.cfg.kernel.value = s.config.kernel
            self.cfg.rcu_free.value = s.config.MMU_GATHER_RCU_TABLE_FREE
            self.cfg.pt_reclaim.value = s.config.PT_RECLAIM
            self.cfg.flush.value = s.config.TLB_FLUSH
            self.cfg.fallback.value = s.config.TABLE_FREE_FALLBACK
            self.cfg.levels.value = s.config.PGTABLE_LEVELS
            self.cfg.table_sync.value = s.config.TABLE_SYNC
            self.cfg.unshare_sync.value = s.config.HUGETLB_UNSHARE_SYNC
            self.cfg.fault.value = s.fault or "none"
            self.cfg.walker.value = s.walker

    def do_load(self) -> None:
        from ..saved import load_scenario

        try:
            s, schedule = load_scenario(self.path.value)
            trace = run(s, schedule or [], then_default=False)
        except (OSError, ValueError, TypeError) as err:
            self._fail(err)
            return
        self._loaded, self._loaded_trace = s, trace
        self._show_settings(s)
        self._set_possible(True)
        self.trace = run(s, trace.actions, then_default=False)
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
        waits = blocked(ctx, state)
        self.next_actor.options = [AUTO] + enabled(ctx, state)
        self.next_actor.value = AUTO
        self.event_log.value = event_log_html(trace, self.index, waits)
        self.now.value = now_html(trace, self.index)
        self.frontend.announce = announcement(trace, self.index)
        if not self._render:
            return
        tm = tree_model(ctx, state, trace=trace, index=self.index)
        svg = tree_svg_model(tm, legend=not self.presenter.value)  # presenter mode: every rank fits a projector
        # the tree asks for its natural width: beside the log when both fit, else above it, never shrunk below 12 px type
        self.tree.layout.flex = f"1 1 {svg[svg.index('width=') + 7:].split(chr(34), 1)[0]}px"
        self.tree.value = svg
        lm = timeline_model(trace, self.index)
        self.timeline.value = timeline_svg_model(lm, legend=not self.presenter.value)
