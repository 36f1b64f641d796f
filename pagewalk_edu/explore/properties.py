"""The model's properties, declared by name (as stateright's
Property::always/sometimes and TLA+'s INVARIANTS): the generic search checks
them over every reachable state and reports which one failed, with a shortest
path to the state that shows it.  The verdict (verdict.py) is read off them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..kernel.ctx import Ctx
from ..kernel.sim import finished
from ..kernel.state import State


@dataclass(frozen=True)
class Property:
    name: str
    expectation: str  # "always": every state satisfies it; "sometimes": some state does
    condition: Callable[[Ctx, State], bool]
    terminal_only: bool = False  # judged only on states where no actor can move
    stop: bool = False  # a state that breaks it is not explored further (what follows is garbage)


#: What is checked, in the order a verdict reads them.
NO_USE_AFTER_FREE = Property("no use-after-free", "always", lambda ctx, s: not s.uaf, stop=True)
NO_DEADLOCK = Property("no deadlock", "always", finished, terminal_only=True)
NO_SLEEP_IN_ATOMIC = Property("no sleeping in atomic context", "always", lambda ctx, s: not s.bugs)
STALE_READ = Property("a stale read", "sometimes", lambda ctx, s: bool(s.stale))
PROPERTIES = (NO_USE_AFTER_FREE, NO_DEADLOCK, NO_SLEEP_IN_ATOMIC, STALE_READ)


@dataclass(frozen=True)
class Result:
    prop: Property
    holds: bool  # always: no state broke it; sometimes: some state has it
    witness: State | None  # the first state (breadth-first: a shortest path) that broke or showed it


def stops(ctx: Ctx, properties=PROPERTIES) -> Callable[[State], bool]:
    """The search's stop predicate: a state breaking a `stop` property."""
    halting = [p for p in properties if p.stop]
    return lambda s: any(not p.condition(ctx, s) for p in halting)


def check(ctx: Ctx, order: list[State], terminal: list[State], properties=PROPERTIES) -> dict[str, Result]:
    """Judge each property over the states found (`order`: breadth-first;
    `terminal`: those with no successor, in the same order)."""
    out = {}
    for p in properties:
        states = terminal if p.terminal_only else order
        if p.expectation == "always":
            witness = next((s for s in states if not p.condition(ctx, s)), None)
            out[p.name] = Result(p, witness is None, witness)
        else:
            witness = next((s for s in states if p.condition(ctx, s)), None)
            out[p.name] = Result(p, witness is not None, witness)
    return out
