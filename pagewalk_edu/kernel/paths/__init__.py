"""The kernel paths that race with the walker, one module per kernel source
file; each module's OPS maps an instruction type to the step that runs it."""

from __future__ import annotations

from typing import Callable

from ..state import Actor, State
from ..steps import Outcome
from . import khugepaged, madvise, memory, mmap_lock, mmu_gather, mremap, pt_reclaim, tlb, vma
from .base import Op, initial_freer

OPS: dict[type, Callable] = {}  # instruction type → the step that runs it
for _module in (mmap_lock, madvise, vma, memory, pt_reclaim, mmu_gather, tlb, khugepaged, mremap,):
    OPS.update(_module.OPS)


def freer_step(ctx, state: State, a: Actor) -> Outcome:
    todo = a.get("todo")
    op, rest = todo[0], todo[1:]
    try:
        run = OPS[type(op)]
    except KeyError:
        raise AssertionError(op)
    return run(ctx, state, a, op, rest)


__all__ = ["OPS", "Op", "freer_step", "initial_freer"]
