"""TLB-flush IPIs: arch/x86/mm/tlb.c (flush_tlb_mm_range →
native_flush_tlb_multi), and waiting for a synchronous IPI to be taken."""

from __future__ import annotations

from ..program import instruction
from ..state import State
from ..steps import Blocked, cpu_list, flush_targets, own_ipi, send_ipi
from .base import Op, go

# The instructions this file runs (kernel/program.py).
WaitIpi = instruction("wait_ipi")


def flush_ipis(ctx, state, a, then: tuple, handler: str, waiter: str) -> tuple[State, tuple[Op, ...], str, tuple[str, ...]]:
    """Send the flush IPIs; returns the state, the sub-program to call (a wait
    for the IPIs, if any were sent, then `then`), the sentence and the changes."""
    targets = flush_targets(ctx, a)
    if ctx.config.TLB_FLUSH == "broadcast":
        return state, then, "a broadcast TLB invalidation (INVLPGB): no IPI is sent", ("flush:broadcast",)
    if not targets:
        return state, then, "no other CPU is in mm_cpumask(): no IPI is needed", ("flush:local",)
    state = send_ipi(state, a, handler, waiter, targets)
    return (state, (WaitIpi(),) + then,
            f"IPIs {cpu_list(targets)} (the CPUs in mm_cpumask()) and waits for each to flush",
            tuple(f"ipi:cpu{c}" for c in sorted(targets)))


def _wait_ipi(ctx, state, a, op):
    ipi = own_ipi(state, a.name)
    if ipi is None:  # pragma: no cover - wait_ipi only follows a send
        return go(state, a, "wait", "nothing to wait for", "")
    if ipi.pending:
        cpus = cpu_list(ipi.pending)
        why = []
        for c in sorted(ipi.pending):
            if state.cpus[c].irqs_off:
                why.append(f"CPU{c} has IRQs disabled")
        tail = f" ({'; '.join(why)})" if why else ""
        holdouts = tuple((c, state.cpus[c].atomic_keys()) for c in sorted(ipi.pending))
        return Blocked(f"{a.name} waits in {ipi.waiter}() for {cpus} to take the {ipi.handler} IPI{tail}", "ipi", ipi.waiter,
                       a.name, obj=ipi.handler, holdouts=holdouts)
    state = state.but(ipis=tuple(i for i in state.ipis if i.sender != a.name))
    return go(state, a, ipi.waiter, f"{ipi.waiter}(): every CPU has taken the {ipi.handler} IPI",
              "arch/x86/mm/tlb.c: native_flush_tlb_multi" if ipi.handler == "flush_tlb_func" else "mm/mmu_gather.c: tlb_remove_table_sync_one")


OPS = {
    WaitIpi: _wait_ipi,
}
