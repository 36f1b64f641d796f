"""The stepping interface: initial(scenario), enabled(state), step(state, action).

One semantics: the CLI, the widgets, the explorer and the tests all advance
states through `successors()`/`step()` here.  An action is the name of the
actor that moves next: the walker (CPU0), a racing kernel path (CPU1, CPU2,
...), an IPI handler (irq0, irq1, ...), the RCU grace-period kthread (rcu_gp)
or RCU callback invocation (rcu_cb); kernel/ctx.py names them by role.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from .background import RCU_CB, RCU_GP, irq_actor, irq_step, rcu_cb_step, rcu_gp_step
from .ctx import WALKER, Ctx, make_ctx
from .geometry import Level
from .names import rename, uses_7x_names
from .pgtable import Entry, new_tree, populate, set_table
from .scenario import Scenario
from .state import Cpu, State
from .steps import Blocked, Event, Moved, Outcome
from .freers import freer_step, initial_freer
from .walkers import WALKERS
from .walkers.caller import initial_walker, walker_step

def initial(ctx: Ctx) -> State:
    """The mm before the race: the layout's pages faulted in, no lock held."""
    geo = ctx.geo
    tables = new_tree(geo)
    if ctx.multi_mm:
        tables = _second_mm(ctx, tables)
    for addr, level in ctx.setup.pages:
        tables, _ = populate(tables, geo, addr, level)
    if ctx.multi_mm:
        tables = _share_pmd_table(ctx, tables)
    for addr in ctx.setup.empty_pte_tables:
        # The file THP collapse already unmapped these PTEs; the PTE table remains.
        tables, _ = populate(tables, geo, addr, Level.PTE)
        pte = tables[-1] if tables[-1].level == Level.PTE else None
        for t in tables:
            if t.level == Level.PTE and t.base <= addr < t.base + geo.table_span(Level.PTE):
                pte = t
        tables = set_table(tables, pte.__class__(pte.tid, pte.level, pte.base))
    actors = (initial_walker(ctx, WALKERS[ctx.setup.walk]),) + tuple(initial_freer(p.name, p.cpu, p.program) for p in ctx.paths)
    return State(tables=tables, vmas=ctx.setup.vmas, cpus=tuple(Cpu() for _ in range(ctx.ncpus)), actors=actors)


def _second_mm(ctx: Ctx, tables):
    """Process Q's PGD (pgd_alloc()), table 1 (Setup.roots)."""
    from .pgtable import Table

    return tables + (Table(tid=1, level=Level.PGD, base=0, mm="Q"),)


def _share_pmd_table(ctx: Ctx, tables):
    """huge_pmd_share(): Q's fault in its VM_MAYSHARE hugetlb VMA finds P's PMD
    table for the same file offset through i_mmap and points its own PUD entry
    at it (ptdesc_pmd_pts_inc()); the table is now 'shared'."""
    from dataclasses import replace as _replace

    from .pgtable import ensure_table, set_entry, set_table, walk_path

    geo = ctx.geo
    p = next(v for v in ctx.setup.vmas if v.kind == "hugetlb" and v.mm == "")
    q = next(v for v in ctx.setup.vmas if v.kind == "hugetlb" and v.mm == "Q")
    pmd = next(s.table for s in walk_path(tables, geo, p.start) if s.table.level == Level.PMD)
    tables = set_table(tables, _replace(pmd, mm="shared"))
    tables, _, pud = ensure_table(tables, geo, q.start, Level.PUD, root=1, mm="Q")
    return set_entry(tables, pud.tid, geo.pud_index(q.start), Entry("table", pmd.tid))


def outcome(ctx: Ctx, state: State, name: str) -> Outcome | None:
    """What `name` would do next: Moved, Blocked, or None (finished or idle),
    labelled with the function names of the scenario's kernel (kernel/names.py)."""
    o = _outcome(ctx, state, name)
    if o is None or not uses_7x_names(ctx.config.kernel):
        return o
    k = ctx.config.kernel
    if isinstance(o, Moved):
        e = o.event
        return Moved(o.state, Event(e.actor, e.cpu, rename(k, e.function), rename(k, e.text), rename(k, e.source), e.changes))
    return o._replace(reason=rename(k, o.reason), function=rename(k, o.function))


def _outcome(ctx: Ctx, state: State, name: str) -> Outcome | None:
    i = ctx.actor_index.get(name)
    if i is not None:
        a = state.actors[i]
        if a.done:
            return None
        return walker_step(ctx, state, a, WALKERS[ctx.setup.walk]) if i == 0 else freer_step(ctx, state, a)
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
    """No actor can move and the walker or a racing path has not finished."""
    return not finished(ctx, state) and not successors(ctx, state)


ALIASES = {"cpu0": WALKER, "rcu": RCU_GP, "gp": RCU_GP, "callbacks": RCU_CB}


def resolve(ctx: Ctx, name: str) -> str:
    """Accept an actor name, or cpuN: the actor running on CPU N (cpu0 is the
    walker, cpu1 the first racing path, ...)."""
    if not isinstance(name, str):
        raise TypeError(f"a schedule item must be an actor name, got {type(name).__name__}")
    key = name.strip()
    if key.startswith("cpu") and key[3:].isdigit() and 1 <= int(key[3:]) < ctx.ncpus:
        return ctx.path_names[int(key[3:]) - 1]
    key = ALIASES.get(key, key)
    if key not in ctx.actor_names:
        cpus = ", ".join(f"cpu{c}" for c in range(ctx.ncpus))
        raise ValueError(f"unknown actor {name!r} in schedule; accepted: {', '.join(ctx.actor_names)}, {cpus}")
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
        """The index of the first state with a violation: a use-after-free
        (State.uaf) or the walker's read of another mm's reused table
        (State.foreign, hugetlb PMD sharing); None if there is none."""
        for i, s in enumerate(self.states):
            if s.uaf or s.foreign:
                return i
        return None

    def violation_kind(self, i: int | None = None) -> str | None:
        """Which violation state `i` (default: the first one) shows:
        "use-after-free" or "foreign table" (the one the explorer reports first
        when a state has both), or None."""
        i = self.first_violation() if i is None else i
        if i is None:
            return None
        s = self.states[i]
        return "use-after-free" if s.uaf else "foreign table" if s.foreign else None


def _reached_pause(ctx: Ctx, trace: Trace) -> bool:
    pause = ctx.setup.pause_before
    return any(s.actors[0].pc == pause or s.actors[0].done for s in trace.states)


def default_choice(ctx: Ctx, trace: Trace) -> str | None:
    """The documented deterministic schedule.

    1. The walker runs until it is about to make the read the action threatens
       (its pause label: e.g. pudp_get for munmap) — unless it is blocked.
    2. Then IPI handlers and the RCU machinery move whenever they can,
    3. then the racing kernel paths, CPU1 first,
    4. then the walker again.
    Nothing can move: None (finished, or a deadlock)."""
    state = trace.last
    moves = dict(successors(ctx, state))
    if not moves:
        return None
    if not _reached_pause(ctx, trace) and WALKER in moves:
        return WALKER
    order = tuple(irq_actor(c) for c in range(ctx.ncpus)) + (RCU_GP, RCU_CB) + ctx.path_names + (WALKER,)
    for name in order:
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
