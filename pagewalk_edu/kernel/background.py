"""Background actors the explorer interleaves like any other: the RCU
grace-period machinery (kernel/rcu/tree.c: rcu_gp_init, rcu_report_qs_rnp,
rcu_gp_cleanup; rcu_do_batch for callbacks) and IPI delivery (an IPI is taken
only while the target CPU has IRQs enabled; rcu_read_lock() does not block it).
"""

from __future__ import annotations

from dataclasses import replace

from .roles import RCU_CB, RCU_GP, irq_actor
from .state import Rcu, State
from .steps import Blocked, Event, Moved, Outcome, free_tables, table_list


SRC_TREE = "kernel/rcu/tree.c"


def _holdout_reason(state: State, cpu: int) -> str:
    return f"CPU{cpu} ({', '.join(state.cpus[cpu].atomic_context())})"


def rcu_gp_step(ctx, state: State) -> Outcome | None:
    """The grace-period kthread.  None: nothing to do (idle, not blocked)."""
    rcu = state.rcu
    if not rcu.active:
        if any(cb.needed > rcu.gp_seq for cb in rcu.callbacks):
            rcu = replace(rcu, active=True, holdouts=frozenset(range(ctx.ncpus)))
            return Moved(
                state.but(rcu=rcu),
                Event(RCU_GP, None, "rcu_gp_init", f"rcu_gp_init(): grace period {rcu.gp_seq + 1} starts; every CPU must pass a quiescent state",
                      f"{SRC_TREE}: rcu_gp_init", ("gp:start",)),
            )
        return None
    quiet = frozenset(c for c in rcu.holdouts if state.cpus[c].quiescent)
    if not quiet:
        waiting = "; ".join(_holdout_reason(state, c) for c in sorted(rcu.holdouts))
        holdouts = tuple((c, state.cpus[c].atomic_keys()) for c in sorted(rcu.holdouts))
        return Blocked(f"grace period {rcu.gp_seq + 1} waits for {waiting}", "gp", "rcu_gp", RCU_GP,
                       obj=f"grace period {rcu.gp_seq + 1}", holdouts=holdouts)
    left = rcu.holdouts - quiet
    names = ", ".join(f"CPU{c}" for c in sorted(quiet))
    if left:
        return Moved(
            state.but(rcu=replace(rcu, holdouts=left)),
            Event(RCU_GP, None, "rcu_report_qs_rnp", f"{names} pass{'es' if len(quiet) == 1 else ''} a quiescent state",
                  f"{SRC_TREE}: rcu_report_qs_rnp", ("gp:qs",)),
        )
    rcu = replace(rcu, active=False, holdouts=frozenset(), gp_seq=rcu.gp_seq + 1)
    return Moved(
        state.but(rcu=rcu),
        Event(RCU_GP, None, "rcu_gp_cleanup", f"{names} pass{'es' if len(quiet) == 1 else ''} a quiescent state: grace period {rcu.gp_seq} ends",
              f"{SRC_TREE}: rcu_gp_cleanup", ("gp:end",)),
    )


def rcu_cb_step(ctx, state: State) -> Outcome | None:
    """rcu_do_batch(): invoke every callback whose grace period has completed."""
    rcu = state.rcu
    ready = tuple(cb for cb in rcu.callbacks if cb.needed <= rcu.gp_seq)
    if not ready:
        return None
    rest = tuple(cb for cb in rcu.callbacks if cb.needed > rcu.gp_seq)
    state = state.but(rcu=replace(rcu, callbacks=rest))
    parts, changes = [], []
    for cb in ready:
        if cb.tids:
            state = free_tables(state, cb.tids, cb.function)
            parts.append(f"{cb.function}() frees {table_list(state, cb.tids)}")
            changes.extend(f"freed:{t}" for t in cb.tids)
        else:
            parts.append(f"{cb.function}() wakes {cb.owner}")
    return Moved(state, Event(RCU_CB, None, "rcu_do_batch", "rcu_do_batch(): " + "; ".join(parts),
                              f"{SRC_TREE}: rcu_do_batch", tuple(changes)))


def irq_step(ctx, state: State, cpu: int) -> Outcome | None:
    """Take the oldest IPI pending on `cpu`, if IRQs are on there."""
    pending = state.ipi_pending_for(cpu)
    if not pending:
        return None
    if state.cpus[cpu].irqs_off:
        return Blocked(f"the {pending[0].handler} IPI from {pending[0].sender} waits: CPU{cpu} has IRQs disabled", "ipi",
                       pending[0].handler, irq_actor(cpu), pending[0].sender, pending[0].handler, ((cpu, ("irqs_off",)),))
    ipi = pending[0]
    new = ipi._replace(pending=ipi.pending - {cpu})
    state = state.but(ipis=tuple(new if i is ipi else i for i in state.ipis))
    extra = " (rcu_read_lock() does not block IPIs)" if state.cpus[cpu].rcu else ""
    src = "arch/x86/mm/tlb.c: flush_tlb_func" if ipi.handler == "flush_tlb_func" else "mm/mmu_gather.c: tlb_remove_table_smp_sync"
    return Moved(state, Event(irq_actor(cpu), cpu, ipi.handler, f"CPU{cpu} takes the {ipi.handler} IPI from {ipi.sender}{extra}",
                              src, (f"ipi_taken:cpu{cpu}",)))


def _waits_for(state: State) -> str:
    """The CPUs the grace period in progress still waits for, and why each."""
    parts = []
    for c in sorted(state.rcu.holdouts):
        why = state.cpus[c].atomic_context()
        parts.append(f"CPU{c} ({', '.join(why)})" if why else f"CPU{c} (quiescent, not yet reported by rcu_gp)")
    return ", ".join(parts)


def idle_reason(ctx, state: State, name: str) -> str:
    """Why actor `name` has nothing to do in `state` (its outcome is None), in a
    few words read from the state: finished, or what it waits for."""
    i = ctx.actor_index.get(name)
    if i is not None:
        return "it has finished" if state.actors[i].done else "it has no step to take"
    rcu = state.rcu
    if name == RCU_CB:  # rcu_do_batch() runs only callbacks whose grace period has completed
        if not rcu.callbacks:
            return "no RCU callback is queued"
        gp = min(cb.needed for cb in rcu.callbacks)
        if rcu.active and gp == rcu.gp_seq + 1:
            return f"no RCU callback is ready: grace period {gp} still waits for {_waits_for(state)}"
        if rcu.active:
            return f"no RCU callback is ready: its grace period {gp} starts after grace period {rcu.gp_seq + 1}"
        return f"no RCU callback is ready: grace period {gp} has not started (rcu_gp starts it)"
    if name == RCU_GP:
        return "no grace period is in progress and no callback waits for one"
    if name.startswith("irq"):
        return f"no IPI is pending for CPU{name[3:]}"
    return "it has no step to take"
