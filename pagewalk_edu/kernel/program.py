"""Instructions and programs: one instruction type per kernel function a
racing path runs, and the fixed program a path's actor runs with a program
counter.

An instruction is an immutable, typed tuple whose first item is the kernel
function's name and whose other items are named arguments, e.g.
``VmaStartWrite("A")`` is ``("vma_start_write", "A")`` with ``.vma == "A"``.
Being a tuple, it hashes and compares at C speed.

A program (kernel/programs.py builds one per system call) never changes while
it runs.  An actor holds a stack of frames, each (program, pc); the step that
runs the instruction at pc says how the pc moves (kernel/paths/base.py go()):
on by one; `goto` a Label further on (a kernel `goto`/`continue`); or `call` a
sub-program decided from the state when it runs (a zap per PMD entry, a free
per table, a wait for the IPI just sent), pushed as a new frame and run to its
end before the caller goes on.  A finished frame is popped at once, so two
histories with the same work left give the same frames.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, NamedTuple


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


class Label(NamedTuple):
    """A name for a place in a program (no step of its own): where a goto lands.
    One name may stand at several places; a goto lands on the next one (the
    `continue` of a kernel loop: hugetlb_vmdelete_list()'s next VMA,
    khugepaged_scan_mm_slot()'s next PMD range)."""

    name: str


class Return(NamedTuple):
    """The end of one arm of a program (no step of its own): running on into
    it finishes the program, as a `return` in the kernel function does; a
    Label just after it is still a place a goto lands."""


class Program(tuple):
    """A fixed program: a tuple of instructions, with its labels and returns.

    Being a tuple, a builder's program iterates, slices and compares as before.
    Its hash is kept (the explorer hashes every actor's frames in every state),
    and two programs are equal only with the same labels too.

    A sub-program (`sub`, what a step calls) is kept as the part still to run:
    a frame of one is (its rest, 0), so two calls whose remaining instructions
    agree (free_pgd_range() chose two tables, one is done; or it chose only
    the second) are one state, as their futures are one."""

    def __new__(cls, items=(), sub: bool = False):
        ops: list = []
        labels: list[tuple[str, int]] = []
        returns: set[int] = set()
        for item in items:
            if isinstance(item, Label):
                labels.append((item.name, len(ops)))
            elif isinstance(item, Return):
                returns.add(len(ops))
            else:
                ops.append(item)
        self = tuple.__new__(cls, ops)
        self.labels = tuple(labels)
        self.returns = frozenset(returns)
        self.sub = sub
        self._hash = hash((tuple(ops), self.labels, self.returns, sub))
        self._rests: dict[int, Program] = {}
        return self

    def as_sub(self) -> "Program":
        """This program, called as a sub-program."""
        return self if self.sub else _rebuild(tuple(self), self.labels, tuple(sorted(self.returns)), True)

    def rest(self, pc: int) -> "Program":
        """The sub-program still to run from `pc` (labels and returns after it
        kept, shifted); kept, so each is made once."""
        if pc == 0:
            return self
        out = self._rests.get(pc)
        if out is None:
            items: list = []
            for i in range(pc, len(self) + 1):
                items += [Return() for at in self.returns if at == i and at > pc]
                items += [Label(n) for n, at in self.labels if at == i and at > pc]
                if i < len(self):
                    items.append(self[i])
            out = self._rests[pc] = Program(items, sub=True)
        return out

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other) -> bool:
        if self is other:
            return True
        if not isinstance(other, Program):
            return NotImplemented if not isinstance(other, tuple) else tuple.__eq__(self, other) and not self.labels and not self.returns
        return (self._hash == other._hash and tuple.__eq__(self, other) and self.labels == other.labels
                and self.returns == other.returns and self.sub == other.sub)

    def __ne__(self, other) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __reduce__(self):  # copy.copy() and copy.deepcopy() rebuild it from its items
        return (_rebuild, (tuple(self), self.labels, tuple(sorted(self.returns)), self.sub))

    def ends_at(self, pc: int) -> bool:
        """Is there nothing left to run at `pc`?"""
        return pc >= len(self)

    def after(self, pc: int) -> int:
        """Where the pc goes once the instruction at `pc` ran: the next one, or
        the end at a Return()."""
        nxt = pc + 1
        return len(self) if nxt in self.returns else nxt

    def target(self, label: str, pc: int) -> int:
        """Where `goto label` from the instruction at `pc` lands: the first place
        with that label after it."""
        for name, at in self.labels:
            if name == label and at > pc:
                return at
        raise AssertionError(f"no label {label!r} after instruction {pc} of {self!r}")  # a builder's bug

    def __repr__(self) -> str:
        marks: dict[int, list[str]] = {}
        for at in self.returns:  # a Return ends what runs into it, before any label there
            marks.setdefault(at, []).append("return")
        for name, at in self.labels:
            marks.setdefault(at, []).append(f"{name}:")
        out = []
        for i in range(len(self) + 1):
            out += marks.get(i, [])
            if i < len(self):
                out.append(repr(self[i]))
        return f"Program({', '.join(out)})"


def _rebuild(ops, labels, returns, sub=False) -> Program:
    items: list = []
    for i in range(len(ops) + 1):
        items += [Return() for at in returns if at == i]
        items += [Label(n) for n, at in labels if at == i]
        if i < len(ops):
            items.append(ops[i])
    return Program(items, sub)


def program(*items) -> Program:
    """A program from instructions, Label()s and Return()s, in order."""
    return Program(items)


Frame = tuple  # (Program, pc): the program an actor runs and its next instruction
