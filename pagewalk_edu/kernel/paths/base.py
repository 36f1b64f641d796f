"""The racing paths' common frame: an actor runs a fixed program with a program
counter, one instruction a step (kernel/program.py; kernel/programs.py builds
the programs; the modules beside this one execute them, one per kernel source
file).

A step is `run(ctx, state, actor, instruction) -> Moved | Blocked`; it ends
with go(), which says how the pc moves: on to the next instruction, `goto` a
label further on, and/or `call` a sub-program (pushed as a frame, run to its
end, then the caller goes on)."""

from __future__ import annotations

from ..program import Program
from ..state import Actor, State
from ..steps import Event, Moved

Op = tuple


def initial_freer(name: str, cpu: int, program) -> Actor:
    program = program if isinstance(program, Program) else Program(program)
    a = Actor(name=name, cpu=cpu, pc="run").set(batch=(), flush=False, vma="")
    return a.at(_settle(((program, 0),)))


def _settle(frames: tuple) -> tuple:
    """Pop every finished frame, innermost first: a caller whose call was its
    last instruction ends with the callee (a tail call), so equal work left
    means equal frames."""
    while frames:
        program, pc = frames[-1]
        if not program.ends_at(pc):
            break
        frames = frames[:-1]
    return frames


def advance(frames: tuple, goto: str | None = None, call=()) -> tuple:
    """The frames after the innermost frame's instruction ran.  A path's own
    program keeps its pc; a called sub-program is kept as what is left of it
    (Program.rest()), so equal work left gives equal frames."""
    program, pc = frames[-1]
    pc = program.target(goto, pc) if goto else program.after(pc)
    if program.sub and not program.ends_at(pc):
        program, pc = program.rest(pc), 0
    frames = _settle(frames[:-1] + ((program, pc),))
    if call:
        sub = call.as_sub() if isinstance(call, Program) else Program(call, sub=True)
        frames = _settle(frames + ((sub, 0),))
    return frames


def go(state: State, a: Actor, function: str, text: str, source: str, *changes: str,
       call=(), goto: str | None = None, **regs) -> Moved:
    """The step ran: report `function`, set `regs`, and move the pc (on by one,
    or to `goto`'s label; then into `call` if given)."""
    if regs:
        a = a.set(**regs)
    a = a.at(advance(a.frames, goto, call))
    return Moved(state.with_actor(a), Event(a.name, a.cpu, function, text, source, tuple(changes)))
