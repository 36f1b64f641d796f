"""Instructions: one type per kernel function a racing path runs.

An instruction is an immutable, typed tuple whose first item is the kernel
function's name and whose other items are named arguments, e.g.
``VmaStartWrite("A")`` is ``("vma_start_write", "A")`` with ``.vma == "A"``.
Being a tuple, it hashes and compares at C speed, which matters: the explorer
hashes every actor's remaining program in every state it visits.  A path's
program is a tuple of instructions; the step that runs one may put more in
front of the rest (a zap per PMD entry, a free per table), decided from the
state when it runs.  kernel/paths/ executes them, dispatching on the type.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any


def instruction(function: str, *fields: str, defaults: tuple = (), doc: str = "") -> type:
    """The instruction type for kernel function `function` with arguments `fields`."""
    name = "".join(part.capitalize() for part in function.strip("_").split("_"))
    base = namedtuple(name, ("function",) + fields, defaults=defaults or None)

    def __new__(cls, *args: Any, **kwargs: Any):
        return base.__new__(cls, function, *args, **kwargs)

    def __getnewargs__(self):  # copy.copy() and copy.deepcopy() rebuild it from its arguments
        return tuple(self)[1:]

    return type(name, (base,), {"__slots__": (), "__new__": __new__, "__getnewargs__": __getnewargs__,
                                "__doc__": doc or f"{function}()", "__module__": "pagewalk_edu.kernel.program"})


Program = tuple  # a tuple of instructions
