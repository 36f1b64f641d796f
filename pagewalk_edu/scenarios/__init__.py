"""Named scenarios as data, each with its expected verdict and the kernel
reason (verdicts.json), in the manner of the kernel's litmus tests: the name
says what each side does, and a lesson quotes a scenario by name."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ..kernel.scenario import Scenario, make_scenario


@dataclass(frozen=True)
class Named:
    name: str
    group: str
    scenario: Scenario
    expected: str
    reason: str


@lru_cache(maxsize=None)
def named_scenarios() -> tuple[Named, ...]:
    text = resources.files(__package__).joinpath("verdicts.json").read_text(encoding="utf-8")
    out = []
    for e in json.loads(text)["scenarios"]:
        config = ",".join(f"{k}={v}" for k, v in e["config"].items()) or None
        s = make_scenario(e["holds"], e["action"], e["kernel"], e["walker"], config, e["fault"])
        out.append(Named(e["name"], e["group"], s, e["expected"], e["reason"]))
    return tuple(out)


def named(name: str) -> Named:
    for n in named_scenarios():
        if n.name == name:
            return n
    raise ValueError(f"no named scenario {name!r}; see pagewalk_edu/scenarios/verdicts.json")
