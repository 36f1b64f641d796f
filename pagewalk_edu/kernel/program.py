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

from operator import itemgetter
from typing import Any


def instruction(function: str, *fields: str, defaults: tuple = ()) -> type:
    """The instruction type for kernel function `function` with arguments `fields`
    (the last len(defaults) of them optional)."""
    name = "".join(part.capitalize() for part in function.strip("_").split("_"))
    first_default = len(fields) - len(defaults)

    def __new__(cls, *args: Any):
        if not first_default <= len(args) <= len(fields):
            raise TypeError(f"{name}() takes {', '.join(fields) or 'no arguments'}; got {len(args)} values")
        return tuple.__new__(cls, (function,) + args + defaults[len(args) - first_default:])

    def __repr__(self) -> str:
        return f"{name}({', '.join(repr(x) for x in self[1:])})"

    def __getnewargs__(self):  # copy.copy() and copy.deepcopy() rebuild it from its arguments
        return tuple(self)[1:]

    ns: dict[str, Any] = {"__slots__": (), "__new__": __new__, "__repr__": __repr__, "__getnewargs__": __getnewargs__,
                          "__doc__": f"{function}({', '.join(fields)})", "__module__": "pagewalk_edu.kernel.program",
                          "fields": fields, "function": property(itemgetter(0), doc="the kernel function")}
    for i, f in enumerate(fields, 1):
        ns[f] = property(itemgetter(i))
    return type(name, (tuple,), ns)


Program = tuple  # a tuple of instructions
