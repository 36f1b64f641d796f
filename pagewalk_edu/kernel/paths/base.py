"""The racing paths' common frame: an actor runs a program, one instruction
a step (kernel/programs.py builds the programs; the modules beside this one
execute them, one per kernel source file)."""

from __future__ import annotations

from ..state import Actor, State
from ..steps import Event, Moved


Op = tuple


def initial_freer(name: str, cpu: int, program: tuple[Op, ...]) -> Actor:
    return Actor(name=name, cpu=cpu, pc="run" if program else "done").set(
        todo=program, batch=(), flush=False, vma=""
    )


def go(state: State, a: Actor, rest: tuple[Op, ...], function: str, text: str, source: str,
       *changes: str, **regs) -> Moved:
    a = a.set(pc="run" if rest else "done", todo=rest, **regs)
    return Moved(state.with_actor(a), Event(a.name, a.cpu, function, text, source, tuple(changes)))
