"""The walker interface: a second walker (GUP-fast's gup_fast_pgd_range(),
say) is one new module that builds a Walker and adds it to walkers.WALKERS.

A walker is the walk proper: named steps, each a function (ctx, state, actor)
-> Moved | Blocked, starting at `first`; walkers/caller.py takes and drops
what the walker's caller holds around it, and `cursor` tells the views where
the walk is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping


@dataclass(frozen=True)
class Walker:
    name: str  # the kernel function: folio_walk_start
    first: str  # the step the walk starts with, once the caller holds its protections
    steps: Mapping[str, Callable]  # step label → step function
    labels: tuple[str, ...]  # the step labels in walk order (where a schedule may pause)
    cursor: Callable  # (ctx, state) → (table, entry index, next step) or None
    source: str  # "file: function"
