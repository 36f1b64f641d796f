"""The walkers the model knows, by the name a scenario file gives (walker.walk).
A new walker is a module here that builds a Walker (walkers/base.py) at module
level: every module of this package is looked through and its Walkers are
registered.  A walker defined elsewhere calls register() with it."""

import os
from importlib import import_module

from ..layout import WALKS
from .base import Walker
from .folio_walk import FOLIO_WALK
from .gup_fast import GUP_FAST

WALKERS: dict[str, Walker] = {}


def register(walker: Walker) -> Walker:
    """Let scenarios name `walker` (walker.walk = "<its name>", --walk)."""
    if not isinstance(walker, Walker):
        raise TypeError(f"register() takes a Walker (walkers/base.py), got {type(walker).__name__}")
    if WALKERS.get(walker.name, walker) is not walker:
        raise ValueError(f"a walker named {walker.name!r} is already registered")
    if walker.first not in walker.steps:
        raise ValueError(f"walker {walker.name}: its first step {walker.first!r} is not one of its steps")
    WALKERS[walker.name] = walker
    if walker.name not in WALKS:
        WALKS.append(walker.name)
    return walker


def _discover() -> None:
    register(FOLIO_WALK)  # the default walk (layout.WALKS[0])
    register(GUP_FAST)
    for entry in sorted(os.listdir(os.path.dirname(__file__))):
        name, ext = os.path.splitext(entry)
        if ext == ".py" and name not in ("__init__", "base", "caller", "assertions"):
            for value in vars(import_module(f"{__name__}.{name}")).values():
                if isinstance(value, Walker) and value.name not in WALKERS:
                    register(value)


_discover()

__all__ = ["WALKERS", "Walker", "register"]
