"""Plain-text views: a trace, a verdict, a state (for the CLI, screen readers,
and alt text in the docs)."""

from __future__ import annotations

from ..kernel.geometry import fmt_size
from ..kernel.sim import Ctx, Trace
from ..kernel.state import State


def _who(e) -> str:
    return f"CPU{e.cpu}" if e.cpu is not None else "RCU "


def trace_text(trace: Trace) -> str:
    if not isinstance(trace, Trace):
        raise TypeError(f"trace_text() takes a Trace (from run(...)), got {type(trace).__name__}")
    ctx = trace.ctx
    lines = [f"Scenario: {ctx.scenario.describe()}", f"Layout: {ctx.setup.summary}; the walker reads {ctx.walk_addr:#x}", ""]
    waits = {}
    for i, actor, reason in trace.waits:
        waits.setdefault(i, []).append((actor, reason))
    for i, e in enumerate(trace.events):
        for actor, reason in waits.get(i, []):
            lines.append(f"      ...  {actor} is blocked: {reason}")
        lines.append(f"{i + 1:4d}  {_who(e)} {e.actor:<10s} {e.function:<26s} {e.text}")
    for actor, reason in waits.get(len(trace.events), []):
        lines.append(f"      ...  {actor} is blocked: {reason}")
    lines.append("")
    lines.extend(outcome_lines(trace))
    return "\n".join(lines)


def outcome_lines(trace: Trace) -> list[str]:
    from ..kernel.sim import finished, is_deadlock

    ctx, last = trace.ctx, trace.last
    out = []
    for u in last.uaf:
        step = trace.freed_step(u.tid)
        at = f" at step {step}" if step else ""
        out.append(f"USE-AFTER-FREE: {u.actor} read {u.level} table #{u.tid} in {u.function}() after {u.freed_by} freed it{at}.")
    if last.stale and not last.uaf and not last.foreign:  # a foreign read is the violation to name
        out.append("Stale read: the walker read " + ", ".join(f"table #{t}" for t in sorted(last.stale)) +
                   " after it was unlinked; nothing it read had been freed.")
    for bug in last.bugs:
        out.append(bug)
    if last.foreign:
        # the step of the first foreign read: the state it first appears in
        step = next(i for i, s in enumerate(trace.states) if s.foreign)
        for f in last.foreign:
            out.append(f"FOREIGN TABLE: {f.actor} read {f.level} table #{f.via} in {f.function}() at step {step}, after "
                       f"P had unshared it and {f.owner} had reused it (the walk reaches {f.owner}'s live tables; "
                       "nothing was freed).")
    if is_deadlock(ctx, last):
        out.append("DEADLOCK: no actor can move and some have not finished.")
    elif finished(ctx, last) and not last.uaf:
        from ..kernel.walkers import WALKERS

        walker = WALKERS[ctx.setup.walk]  # the walk's own function: folio_walk_start() or gup_fast()
        result = last.actors[0].get("result") or "folio"
        got_page = result not in ("NULL", "0 pages", "-EFAULT")
        whose = f" ({last.foreign[0].owner}'s page, not P's)" if last.foreign and got_page else ""
        out.append(f"Finished: {walker.name}() returned {result}{whose}.")
    elif not finished(ctx, last):
        out.append("Stopped before every actor finished.")
    return out


def verdict_text(v) -> str:
    lines = [f"Verdict: {v.verdict}  ({v.states} states explored)", f"Assumed: {v.assumed}", ""]
    lines.append("Why:")
    lines.extend(f"  - {w}" for w in v.why)
    for b in v.bugs:
        lines.append(f"  - {b}")
    if v.also:
        lines.append(f"Also reachable: {', '.join(v.also)}")
    if v.counterexample:
        lines.append("")
        lines.append(f"Shortest counterexample ({len(v.counterexample)} steps; replay with --schedule {','.join(v.schedule)}):")
        for s in v.counterexample:
            who = f"CPU{s.cpu}" if s.cpu is not None else "RCU "
            lines.append(f"{s.step:4d}  {who} {s.actor:<10s} {s.function:<26s} {s.text}")
    return "\n".join(lines)


def vma_status(v) -> str:
    """'read-locked by walker; detached' style description of a VMA's lock state."""
    parts = []
    if v.readers:
        parts.append("read-locked by " + ", ".join(sorted(v.readers)))
    if v.writer:
        parts.append(f"write-locked by {v.writer}")
    if v.detached:
        parts.append("detached")
    return "; ".join(parts)


def state_text(state: State, ctx) -> str:
    """The page-table tree, locks and queues of one state, as indented text.
    Note the order: (state, ctx), where tree() takes (ctx, state)."""
    if not isinstance(state, State):
        raise TypeError(f"state_text(state, ctx): state must be a State (initial(ctx) or trace.last), got {type(state).__name__}"
                        + ("; the state comes first here, unlike tree(ctx, state)" if isinstance(state, Ctx) else ""))
    if not isinstance(ctx, Ctx):
        raise TypeError(f"state_text(state, ctx): ctx must be a Ctx (make_ctx(scenario) or trace.ctx), got {type(ctx).__name__}")
    geo = ctx.geo
    lines = []

    def visit(tid: int, depth: int, lo: int) -> None:
        # `lo` is what the table maps in the mm whose tree is listed: a page
        # table has no address of its own (a shared hugetlb PMD table maps P's
        # GiB under P's PUD entry and Q's under Q's)
        t = state.tables[tid]
        life = t.life.value + (" deposited" if t.deposited else "")
        hi = lo + geo.table_span(t.level)
        lines.append(f"{'  ' * depth}{t.level.name} table #{tid} [{lo:#x}, {hi:#x}) {life}")
        span = geo.entry_span(t.level)
        for idx, e in t.entries:
            base = lo + idx * span
            if e.is_table:
                visit(e.target, depth + 1, base)
            else:
                lines.append(f"{'  ' * (depth + 1)}[{idx}] {base:#x}: {fmt_size(e.target)} page")

    roots = ctx.setup.roots  # each mm's PGD (hugetlb PMD sharing: P's and Q's)
    for mm, root in roots:
        if len(roots) > 1:
            lines.append(f"mm {mm or 'P'}{' (walked)' if not mm else ''}:")
        visit(root, 0, 0)
    linked = {root for _, root in roots}
    for t in state.tables:
        for _, e in t.entries:
            if e.is_table:
                linked.add(e.target)
    for t in state.tables[1:]:
        if t.tid not in linked:
            # what the tree view draws in the dashed box: the span, "deposited",
            # and the entries the table still holds (pgtable_trans_huge_deposit()
            # keeps a collapsed range's PTE table aside with its entries)
            lo, hi = t.span(geo)
            lines.append(f"(unlinked) {t.level.name} table #{t.tid} [{lo:#x}, {hi:#x}) {t.life.value}"
                         + (" deposited" if t.deposited else "") + (f", freed by {t.freed_by}" if t.freed_by else ""))
            for idx, e in t.entries:
                what = f"points to table #{e.target}" if e.is_table else f"{fmt_size(e.target)} page"
                lines.append(f"  [{idx}] {t.base + idx * geo.entry_span(t.level):#x}: {what}")
    for v in state.vmas:
        status = vma_status(v)
        lines.append(f"VMA {v.name} [{v.start:#x}, {v.end:#x}) {v.kind}{'; ' + status if status else ''}")
    if state.mmap_writer or state.mmap_readers:
        lines.append(f"mmap_lock: writer {state.mmap_writer or '-'}, readers {', '.join(sorted(state.mmap_readers)) or '-'}")
    for lock, holder in state.spin:
        lines.append(f"spinlock {lock} held by {holder}")
    for i, c in enumerate(state.cpus):
        lines.append(f"CPU{i}: IRQs {'off' if c.irqs_off else 'on'}, rcu_read_lock depth {c.rcu}, preempt {c.preempt}")
    for ipi in state.ipis:
        lines.append(f"IPI {ipi.handler} from {ipi.sender} pending on {', '.join(f'CPU{c}' for c in sorted(ipi.pending)) or 'none'}")
    r = state.rcu
    lines.append(f"RCU: {r.gp_seq} grace periods done; {'one in progress, waiting for ' + ', '.join(f'CPU{c}' for c in sorted(r.holdouts)) if r.active else 'idle'}; "
                 f"{len(r.callbacks)} callback(s) queued")
    return "\n".join(lines)
