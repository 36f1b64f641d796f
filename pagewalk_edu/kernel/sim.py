"""The stepping interface: initial(scenario), enabled(state), step(state, action).

One semantics: the CLI, the widgets, the explorer and the tests all advance
states through `successors()`/`step()` here.  An action is the name of the
actor that moves next: the walker (CPU0), the kernel path racing with it
(CPU1: munmap, madvise, khugepaged or mremap), the IPI handlers of each CPU
(irq0, irq1), the RCU grace-period kthread (rcu_gp) and RCU callback
invocation (rcu_cb).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable

from .background import RCU_CB, RCU_GP, irq_actor, irq_step, rcu_cb_step, rcu_gp_step
from .config import KernelConfig
from .geometry import Geometry, Level
from .pgtable import Life, new_tree, populate, set_entry, set_table
from .scenario import Scenario, Setup, build_setup
from .state import Cpu, State
from .steps import Blocked, Event, Moved, Outcome
from .freers import freer_step, initial_freer
from .walker import WALK_LABELS, initial_walker, walker_step

NCPUS = 2
WALKER = "walker"


@dataclass(frozen=True)
class Ctx:
    """What does not change while a scenario runs."""

    scenario: Scenario
    setup: Setup
    actor_order: tuple[str, ...] | None = None  # a permutation of the actors, for tests

    @property
    def config(self) -> KernelConfig:
        return self.scenario.config

    @cached_property
    def geo(self) -> Geometry:
        return self.scenario.geometry

    @property
    def holds(self) -> tuple[str, ...]:
        return self.scenario.holds

    @property
    def fault(self) -> str | None:
        return self.scenario.fault

    @property
    def walk_addr(self) -> int:
        return self.setup.walk_addr

    @property
    def walker_name(self) -> str:
        return WALKER

    @property
    def freer_name(self) -> str:
        return self.setup.freer

    @property
    def ncpus(self) -> int:
        return NCPUS

    @cached_property
    def cpumask(self) -> frozenset[int]:
        """mm_cpumask(mm): CPUs running (or lazily holding) the walked mm."""
        cpus = set()
        if self.scenario.walker == "local":
            cpus.add(0)
        if self.setup.freer_in_mm:
            cpus.add(1)
        return frozenset(cpus)

    @cached_property
    def actor_names(self) -> tuple[str, ...]:
        names = (WALKER, self.freer_name) + tuple(irq_actor(c) for c in range(NCPUS)) + (RCU_GP, RCU_CB)
        if self.actor_order is not None:
            if sorted(self.actor_order) != sorted(names):
                raise ValueError(f"actor_order must be a permutation of {', '.join(names)}")
            return tuple(self.actor_order)
        return names

    @property
    def main_actors(self) -> tuple[str, str]:
        return (WALKER, self.freer_name)

    def cpu_of(self, name: str) -> int | None:
        if name == WALKER:
            return 0
        if name == self.freer_name:
            return 1
        if name.startswith("irq"):
            return int(name[3:])
        return None


def make_ctx(scenario: Scenario, actor_order: tuple[str, ...] | None = None) -> Ctx:
    return Ctx(scenario, build_setup(scenario), actor_order)


def initial(ctx: Ctx) -> State:
    """The mm before the race: the layout's pages faulted in, no lock held."""
    geo = ctx.geo
    tables = new_tree(geo)
    for addr, level in ctx.setup.pages:
        tables, _ = populate(tables, geo, addr, level)
    for addr in ctx.setup.empty_pte_tables:
        # The file THP collapse already unmapped these PTEs; the PTE table remains.
        tables, _ = populate(tables, geo, addr, Level.PTE)
        pte = tables[-1] if tables[-1].level == Level.PTE else None
        for t in tables:
            if t.level == Level.PTE and t.base <= addr < t.base + geo.table_span(Level.PTE):
                pte = t
        tables = set_table(tables, pte.__class__(pte.tid, pte.level, pte.base))
    actors = (
        initial_walker(ctx),
        initial_freer(ctx.freer_name, 1, ctx.setup.program),
    )
    return State(tables=tables, vmas=ctx.setup.vmas, cpus=tuple(Cpu() for _ in range(NCPUS)), actors=actors)


def outcome(ctx: Ctx, state: State, name: str) -> Outcome | None:
    """What `name` would do next: Moved, Blocked, or None (finished or idle)."""
    if name == WALKER:
        a = state.actors[0]
        return None if a.done else walker_step(ctx, state, a)
    if name == ctx.freer_name:
        a = state.actors[1]
        return None if a.done else freer_step(ctx, state, a)
    if name == RCU_GP:
        return rcu_gp_step(ctx, state)
    if name == RCU_CB:
        return rcu_cb_step(ctx, state)
    if name.startswith("irq"):
        return irq_step(ctx, state, int(name[3:]))
    raise ValueError(f"unknown actor {name!r}; accepted: {', '.join(ctx.actor_names)}")


def outcomes(ctx: Ctx, state: State) -> list[tuple[str, Outcome]]:
    """Every actor's next step, moved or blocked (idle and finished actors omitted)."""
    out = []
    for name in ctx.actor_names:
        o = outcome(ctx, state, name)
        if o is not None:
            out.append((name, o))
    return out


def successors(ctx: Ctx, state: State) -> list[tuple[str, Moved]]:
    return [(name, o) for name, o in outcomes(ctx, state) if isinstance(o, Moved)]


def enabled(ctx: Ctx, state: State) -> list[str]:
    return [name for name, _ in successors(ctx, state)]


def blocked(ctx: Ctx, state: State) -> dict[str, Blocked]:
    out = {}
    for name in ctx.actor_names:
        o = outcome(ctx, state, name)
        if isinstance(o, Blocked):
            out[name] = o
    return out


def finished(ctx: Ctx, state: State) -> bool:
    return all(a.done for a in state.actors)


def is_deadlock(ctx: Ctx, state: State) -> bool:
    """No actor can move and the walker or the other CPU has not finished."""
    return not finished(ctx, state) and not successors(ctx, state)


ALIASES = {"cpu0": WALKER, "rcu": RCU_GP, "gp": RCU_GP, "callbacks": RCU_CB}


def resolve(ctx: Ctx, name: str) -> str:
    """Accept an actor name, or cpu0 (the walker) / cpu1 (the other path)."""
    if not isinstance(name, str):
        raise TypeError(f"a schedule item must be an actor name, got {type(name).__name__}")
    key = name.strip()
    if key == "cpu1":
        return ctx.freer_name
    key = ALIASES.get(key, key)
    if key not in ctx.actor_names:
        raise ValueError(f"unknown actor {name!r} in schedule; accepted: {', '.join(ctx.actor_names)}, cpu0, cpu1")
    return key


def step(ctx: Ctx, state: State, name: str) -> tuple[State, Event]:
    """Move actor `name` one step; ValueError naming why if it cannot."""
    name = resolve(ctx, name)
    o = outcome(ctx, state, name)
    if isinstance(o, Moved):
        return o.state, o.event
    if isinstance(o, Blocked):
        raise ValueError(f"{name} cannot move now: {o.reason}")
    raise ValueError(f"{name} has nothing to do now")


# --- traces -----------------------------------------------------------------


@dataclass
class Trace:
    """A list of snapshots (Python Tutor style): states[i] --events[i]--> states[i+1]."""

    ctx: Ctx
    states: list[State]
    actions: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    waits: list[tuple[int, str, str]] = field(default_factory=list)  # (state index, actor, reason)

    @property
    def last(self) -> State:
        return self.states[-1]

    def __len__(self) -> int:
        return len(self.events)

    def push(self, name: str) -> Event:
        state, event = step(self.ctx, self.last, name)
        self.states.append(state)
        self.actions.append(resolve(self.ctx, name))
        self.events.append(event)
        return event

    def pop(self) -> None:
        if not self.events:
            raise ValueError("already at the first state: nothing to step back over")
        self.states.pop()
        self.actions.pop()
        self.events.pop()
        self.waits = [w for w in self.waits if w[0] < len(self.states)]

    def freed_step(self, tid: int) -> int | None:
        """The step number (1-based) whose event freed table `tid`."""
        for i, e in enumerate(self.events):
            if f"freed:{tid}" in e.changes:
                return i + 1
        return None

    def first_violation(self) -> int | None:
        for i, s in enumerate(self.states):
            if s.uaf:
                return i
        return None


def _reached_pause(ctx: Ctx, trace: Trace) -> bool:
    pause = ctx.setup.pause_before
    return any(s.actors[0].pc == pause or s.actors[0].done for s in trace.states)


def default_choice(ctx: Ctx, trace: Trace) -> str | None:
    """The documented deterministic schedule.

    1. The walker runs until it is about to make the read the action threatens
       (its pause label: e.g. pudp_get for munmap) — unless it is blocked.
    2. Then IPI handlers and the RCU machinery move whenever they can,
    3. then the other CPU's kernel path,
    4. then the walker again.
    Nothing can move: None (finished, or a deadlock)."""
    state = trace.last
    moves = dict(successors(ctx, state))
    if not moves:
        return None
    if not _reached_pause(ctx, trace) and WALKER in moves:
        return WALKER
    for name in (irq_actor(0), irq_actor(1), RCU_GP, RCU_CB, ctx.freer_name, WALKER):
        if name in moves:
            return name
    return next(iter(moves))


def _note_waits(ctx: Ctx, trace: Trace) -> None:
    """Record, once per wait, that a main actor is blocked and why."""
    here = len(trace.states) - 1
    for name, b in blocked(ctx, trace.last).items():
        if name not in ctx.main_actors:
            continue
        last = next((w for w in reversed(trace.waits) if w[1] == name), None)
        moved_since = last is not None and name in trace.actions[last[0]:]
        if last is None or last[2] != b.reason or moved_since:
            trace.waits.append((here, name, b.reason))


def run(
    scenario: Scenario,
    schedule: Iterable[str] | str | None = None,
    *,
    then_default: bool = True,
    max_steps: int = 500,
) -> Trace:
    """Replay `schedule` (actor names: a list, or one comma-separated string
    such as "walker,munmap") from the initial state, then (if then_default)
    continue with the default schedule until nothing can move."""
    if not isinstance(scenario, Scenario):
        raise TypeError(f"run() takes a Scenario (from make_scenario(...)), got {type(scenario).__name__}")
    if isinstance(schedule, str):
        schedule = [x.strip() for x in schedule.split(",") if x.strip()]
    elif schedule is not None and not hasattr(schedule, "__iter__"):
        raise TypeError(f"schedule must be a list of actor names or a comma-separated string, got {type(schedule).__name__}")
    ctx = make_ctx(scenario)
    trace = Trace(ctx, [initial(ctx)])
    for i, name in enumerate(schedule or ()):
        _note_waits(ctx, trace)
        try:
            trace.push(name)
        except ValueError as err:
            raise ValueError(f"schedule step {i + 1}: {err}") from None
    if then_default:
        while len(trace) < max_steps:
            _note_waits(ctx, trace)
            name = default_choice(ctx, trace)
            if name is None:
                break
            trace.push(name)
    _note_waits(ctx, trace)
    return trace
