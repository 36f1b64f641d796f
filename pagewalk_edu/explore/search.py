"""Breadth-first search over every interleaving of a scenario's actors.

Generic over the kernel's stepping interface (initial, successors): it knows
nothing of page tables.  Visited states are hashed; the first time a state is
reached is along a shortest schedule (BFS), and its parent link lets that
schedule be rebuilt.

Reduction (exact): none beyond merging equal states.  Two schedules that reach
the same State are the same for everything that follows, because a State
holds every variable any step reads (the actors' program counters and local
variables included) and nothing else influences a step; so keeping only the
first, shortest, way to each state loses no behaviour and no shorter
counterexample.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from ..kernel.sim import Ctx, outcomes
from ..kernel.steps import Blocked
from ..kernel.state import State
from ..kernel.steps import Event

#: A safety net for notebooks: no scenario of the model comes near it.
MAX_STATES = 200_000


@dataclass
class Graph:
    ctx: Ctx
    root: State
    parent: dict[State, tuple[State, str, Event] | None] = field(default_factory=dict)
    terminal: list[State] = field(default_factory=list)  # no successor
    order: list[State] = field(default_factory=list)  # BFS order
    edges: list[tuple[State, str, Event, State]] = field(default_factory=list)
    waits: dict[tuple[str, Blocked], Blocked] = field(default_factory=dict)  # every (actor, wait record) seen
    blocked_at: dict[State, list[tuple[str, Blocked]]] = field(default_factory=dict)  # for terminal states

    def path_to(self, state: State) -> list[tuple[str, Event]]:
        """The shortest schedule from the root to `state`."""
        out: list[tuple[str, Event]] = []
        while True:
            link = self.parent[state]
            if link is None:
                break
            prev, action, event = link
            out.append((action, event))
            state = prev
        out.reverse()
        return out


def bfs(ctx: Ctx, root: State, *, stop: Callable[[State], bool] | None = None,
        keep_edges: bool = True, max_states: int = MAX_STATES) -> Graph:
    """Explore every state reachable from `root`.  States for which `stop`
    holds are recorded but not expanded (e.g. a use-after-free: what follows
    it is garbage in the kernel too)."""
    g = Graph(ctx, root)
    g.parent[root] = None
    queue = deque([root])
    while queue:
        state = queue.popleft()
        g.order.append(state)
        if stop is not None and stop(state):
            continue
        succ = []
        for name, o in outcomes(ctx, state):
            if isinstance(o, Blocked):
                g.waits.setdefault((name, o), o)
            else:
                succ.append((name, o))
        if not succ:
            g.terminal.append(state)
            g.blocked_at[state] = [(n, o) for n, o in outcomes(ctx, state) if isinstance(o, Blocked)]
            continue
        for action, moved in succ:
            nxt = moved.state
            if keep_edges:
                g.edges.append((state, action, moved.event, nxt))
            if nxt not in g.parent:
                g.parent[nxt] = (state, action, moved.event)
                if len(g.parent) > max_states:
                    raise RuntimeError(f"state space larger than {max_states} states")
                queue.append(nxt)
    return g
