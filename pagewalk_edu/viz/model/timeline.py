"""What the timeline draws, as plain data: one lane per CPU (however many the
scenario has) and one for the RCU machinery; spans (IRQs off, RCU read side,
spinlock held, mmap_lock, VMA lock, grace period); markers (IPI sent and
taken, table unlinked, freed, use-after-free) with their labels; the current
step; and what each CPU is about to do at that step."""

from __future__ import annotations

from dataclasses import dataclass

from . import source

#: span kinds of a CPU lane, top row first: (key, legend words)
CPU_SPANS = (("irqs_off", "IRQs off"), ("rcu", "RCU read side"), ("preempt", "spinlock / preempt off"),
             ("mmap_lock", "mmap_lock"), ("vma_lock", "VMA lock"))
RCU_SPANS = (("gp", "grace period"),)
MARKERS = {"ipi": "IPI sent", "ipi_taken": "IPI taken", "detached": "table unlinked", "freed": "table freed",
           "gp_start": "grace period starts", "gp_end": "grace period ends", "uaf": "use-after-free"}


@dataclass(frozen=True, slots=True)
class Lane:
    key: str  # "cpu0", "cpu1", ..., "rcu"
    label: str  # "CPU0 walker"
    cpu: int | None
    next: str  # at the current step: "next: pudp_get()", "waits: ...", "done"
    rows: tuple[str, ...]  # span kinds drawn in this lane, top down


@dataclass(frozen=True, slots=True)
class Span:
    lane: str
    kind: str
    start: int  # first state index
    end: int  # last state index (inclusive)


@dataclass(frozen=True, slots=True)
class Marker:
    lane: str
    step: int  # the state index the event leads to (event i makes state i)
    kind: str  # a key of MARKERS
    label: str  # "free #3 #4"; "" for none
    to_lane: str = ""  # an IPI's target lane


@dataclass(frozen=True, slots=True)
class TimelineModel:
    lanes: tuple[Lane, ...]
    spans: tuple[Span, ...]
    markers: tuple[Marker, ...]
    states: int  # number of states (steps + 1)
    current: int | None
    steps: tuple[str, ...]  # one line per event: "CPU1 munmap free_pgd_range(): ..."
    alt: str


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    out, i, n = [], 0, len(flags)
    while i < n:
        if flags[i]:
            j = i
            while j + 1 < n and flags[j + 1]:
                j += 1
            out.append((i, j))
            i = j + 1
        else:
            i += 1
    return out


def _holds(state, actor: str, kind: str, cpu: int) -> bool:
    c = state.cpus[cpu]
    if kind == "irqs_off":
        return c.irqs_off
    if kind == "rcu":
        return c.rcu > 0
    if kind == "preempt":
        return c.preempt > 0
    if kind == "mmap_lock":
        return any(actor in m.mmap_readers or m.mmap_writer == actor for m in source.mms(None, state))
    if kind == "vma_lock":
        return any(actor in v.readers or v.writer == actor for m in source.mms(None, state) for v in m.vmas)
    raise KeyError(kind)


def _next_words(ctx, state, actor: str) -> str:
    from ...kernel.sim import outcome
    from ...kernel.steps import Blocked, Moved

    o = outcome(ctx, state, actor)
    if o is None:
        return "done" if state.actor(actor).done else "nothing to do"
    if isinstance(o, Moved):
        return f"next: {o.event.function}()"
    if isinstance(o, Blocked):
        return f"waits: {o.reason}"
    return ""


def step_line(e) -> str:
    who = f"CPU{e.cpu}" if e.cpu is not None else "RCU"
    text = e.text if e.text.startswith(e.function) else f"{e.function}(): {e.text}"
    return f"{who} {e.actor}: {text}"


def timeline_model(trace, current: int | None = None) -> TimelineModel:
    ctx = trace.ctx
    states = trace.states
    n = len(states)
    at = states[current if current is not None else n - 1]
    lanes, spans = [], []
    lane_of_cpu: dict[int, str] = {}
    for lv in source.lanes(ctx, states[0]):
        key = f"cpu{lv.cpu}"
        lane_of_cpu[lv.cpu] = key
        actor = lv.actors[0] if lv.actors else ""
        nxt = _next_words(ctx, at, actor) if actor else "idle"
        lanes.append(Lane(key, lv.label, lv.cpu, nxt, tuple(k for k, _ in CPU_SPANS)))
        if actor:
            for kind, _ in CPU_SPANS:
                for a, b in _runs([_holds(s, actor, kind, lv.cpu) for s in states]):
                    spans.append(Span(key, kind, a, b))
    gp = "grace period in progress" if at.rcu.active else ("callbacks queued" if at.rcu.callbacks else "idle")
    lanes.append(Lane("rcu", "RCU", None, gp, tuple(k for k, _ in RCU_SPANS)))
    for a, b in _runs([s.rcu.active for s in states]):
        spans.append(Span("rcu", "gp", a, b))
    markers = []
    for step, e in enumerate(trace.events, start=1):
        lane = lane_of_cpu.get(e.cpu, "rcu") if e.cpu is not None else "rcu"
        freed, detached = [], []
        for ch in e.changes:
            kind, _, arg = ch.partition(":")
            if kind == "ipi" and arg.startswith("cpu") and arg[3:].isdigit():
                markers.append(Marker(lane, step, "ipi", f"IPI → CPU{arg[3:]}", lane_of_cpu.get(int(arg[3:]), "")))
            elif kind == "ipi_taken":
                markers.append(Marker(lane, step, "ipi_taken", ""))
            elif kind == "gp" and arg in ("start", "end"):
                markers.append(Marker("rcu", step, f"gp_{arg}", f"GP {arg}"))
            elif kind == "detached":
                detached.append(arg)
            elif kind == "freed":
                freed.append(arg)
        if detached:
            markers.append(Marker(lane, step, "detached", "unlink " + " ".join(f"#{t}" for t in detached)))
        if freed:
            markers.append(Marker(lane, step, "freed", "free " + " ".join(f"#{t}" for t in freed)))
    first = trace.first_violation()
    if first is not None:
        markers.append(Marker(lane_of_cpu.get(0, "cpu0"), first, "uaf", trace.violation_kind(first)))
    lines = tuple(step_line(e) for e in trace.events)
    from ..text import outcome_lines

    where = f"up to step {current} " if current is not None else ""
    alt = (f"Timeline {where}of {len(trace.events)} steps, one lane per CPU "
           + ", ".join(l.label for l in lanes) + ". "
           + (f"Step {current}: {lines[current - 1]}. " if current else "")
           + " ".join(f"{l.label} {l.next}." for l in lanes if l.cpu is not None) + " "
           + " ".join(outcome_lines(trace)))
    return TimelineModel(tuple(lanes), tuple(spans), tuple(markers), n, current, lines, alt)
