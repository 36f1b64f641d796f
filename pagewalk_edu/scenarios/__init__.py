"""Named scenarios as data: one TOML scenario file each (named/*.toml), with
its expected verdict, its pinned state count and the kernel reason, in the
manner of the kernel's litmus tests: the name says what each side does, and a
lesson quotes a scenario by name.  The format is docs/scenarios.md; the
layouts they use are layouts/*.toml."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ..kernel.scenario import Scenario


@dataclass(frozen=True)
class Named:
    name: str
    group: str
    scenario: Scenario
    expected: str
    reason: str
    states: int | None = None  # the number of states the explorer visits (a regression pin)


def named_files() -> list:
    """The shipped named-scenario files, in their order (the file names' numbers)."""
    folder = resources.files(__package__).joinpath("named")
    return sorted((p for p in folder.iterdir() if p.name.endswith(".toml")), key=lambda p: p.name)


@lru_cache(maxsize=None)
def named_scenarios() -> tuple[Named, ...]:
    from .files import loads

    out = []
    for p in named_files():
        f = loads(p.read_text(encoding="utf-8"), f"pagewalk_edu/scenarios/named/{p.name}")
        out.append(Named(f.name, f.group, f.scenario, f.expect or "", f.doc, f.states))
    return tuple(out)


def named(name: str) -> Named:
    for n in named_scenarios():
        if n.name == name:
            return n
    raise ValueError(f"no named scenario {name!r}; see pagewalk_edu/scenarios/named/ (pagewalk-edu check lists their verdicts)")
