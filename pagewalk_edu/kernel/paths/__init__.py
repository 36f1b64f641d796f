"""The kernel paths that race with the walker, one module per kernel source
file.  Each module beside this one declares OPS, a dict from each instruction
type it defines to the step that runs it; they are gathered here by listing
the package, so a new module is registered by being there.  A path defined
outside the package registers its steps with register_ops()."""

from __future__ import annotations

import os
from importlib import import_module
from typing import Callable

from ..state import Actor, State
from ..steps import Outcome
from .base import Op, initial_freer

OPS: dict[type, Callable] = {}  # instruction type → the step that runs it


def register_ops(ops: dict[type, Callable]) -> None:
    """Add the steps of a module's instruction types; ValueError if a type
    already has a step (one step a type)."""
    for kind, run in ops.items():
        if OPS.get(kind, run) is not run:
            raise ValueError(f"instruction {kind.__name__} already has a step: {OPS[kind].__qualname__}")
        if not callable(run):
            raise TypeError(f"the step of {kind.__name__} must be callable, got {type(run).__name__}")
    OPS.update(ops)


def _discover() -> None:
    here = os.path.dirname(__file__)
    for entry in sorted(os.listdir(here)):
        name, ext = os.path.splitext(entry)
        if ext == ".py" and name not in ("__init__", "base"):
            register_ops(getattr(import_module(f"{__name__}.{name}"), "OPS", {}))


_discover()


def freer_step(ctx, state: State, a: Actor) -> Outcome:
    """Run the instruction at the innermost frame's pc."""
    op = a.instruction
    try:
        run = OPS[type(op)]
    except KeyError:
        raise AssertionError(f"no step runs {op!r} (register its module's OPS)") from None
    return run(ctx, state, a, op)


__all__ = ["OPS", "Op", "freer_step", "initial_freer", "register_ops"]
