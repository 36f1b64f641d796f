"""Scenario files: one question with its expected answer, as TOML, in the
manner of the kernel's litmus tests (tools/memory-model/litmus-tests).  The
format is documented in docs/scenarios.md.

A file either names a shipped layout (``layout = "munmap"``: one of the seven
built-in actions) or writes its own: ``[[vma]]`` tables, the pages
``faulted`` in before the race, the walker's address, and one ``[[path]]``
table per racing kernel path (each on its own CPU).  Every value is checked;
an error is one line naming the file, the key and what is accepted.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..kernel.config import CONFIG_KEYS, DEFAULT_KERNEL, PROFILES, KernelConfig
from ..kernel.layout import (
    PAUSE_LABELS,
    WALKS,
    LayoutError,
    _tname,
    builtin_layout,
    parse_address,
    parse_layout,
)
from ..kernel.scenario import ACTIONS, ALL_ACTIONS, FAULTS, WALKERS, Scenario, parse_holds

VERDICTS = ("safe", "safe_but_stale", "unsafe", "deadlock")
TOP_KEYS = ("name", "doc", "group", "expect", "states", "kernel", "config", "fault", "layout", "walker",
            "vma", "faulted", "path", "schedule")
WALKER_KEYS = ("walk", "cpu", "holds", "address", "vma", "pause_before", "patch", "hugetlb_walk_lock")
#: Keys that describe a layout of the file's own (not allowed with `layout = NAME`).
OWN_LAYOUT = ("vma", "faulted", "path")


@dataclass(frozen=True)
class ScenarioFile:
    """A checked scenario file: its question (a Scenario) and its expectations."""

    path: str
    name: str
    doc: str
    scenario: Scenario
    expect: str | None = None
    states: int | None = None
    schedule: tuple[str, ...] | None = None
    group: str = ""


def load(path: str | Path) -> ScenarioFile:
    """Read and check one scenario file (bounded in size; one-line errors)."""
    from ..files import read_user_text

    text = read_user_text(path, "scenario file (TOML)")
    return loads(text, str(path))


def loads(text: str, where: str = "scenario") -> ScenarioFile:
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{where}: not valid TOML: {err}") from None
    try:
        return from_dict(d, where)
    except LayoutError as err:
        raise ValueError(f"{where}: {err}") from None


def _str(d: dict, key: str, where: str, default: Any = None, required: bool = False) -> Any:
    if key not in d:
        if required:
            raise ValueError(f"{where}: {key} is missing")
        return default
    v = d[key]
    if not isinstance(v, str):
        raise TypeError(f"{where}: {key} must be a string, got {_tname(v)}")
    return v


def from_dict(d: dict, where: str = "scenario") -> ScenarioFile:
    for k in d:
        if k not in TOP_KEYS:
            raise ValueError(f"{where}: unknown key {k!r}; accepted: {', '.join(TOP_KEYS)}")
    name = _str(d, "name", where, required=True)
    if not name.strip():
        raise ValueError(f"{where}: name is empty; give the question a name")
    doc = _str(d, "doc", where, "")
    group = _str(d, "group", where, "")
    expect = _str(d, "expect", where)
    if expect is not None and expect not in VERDICTS:
        raise ValueError(f"{where}: expect: unknown verdict {expect!r}; accepted: {', '.join(VERDICTS)}")
    states = d.get("states")
    if states is not None and (isinstance(states, bool) or not isinstance(states, int) or states < 1):
        raise ValueError(f"{where}: states must be a positive integer (the number of states the explorer visits), "
                         f"got {states!r}")
    config = _config(d, where)
    fault = _str(d, "fault", where)
    if fault in ("", "none"):
        fault = None
    if fault is not None and fault not in FAULTS:
        raise ValueError(f"{where}: fault: unknown fault {fault!r}; accepted: none, {', '.join(FAULTS)}")
    walker = d.get("walker", {})
    if not isinstance(walker, dict):
        raise TypeError(f"{where}: walker must be a table, got {_tname(walker)}")
    for k in walker:
        if k not in WALKER_KEYS:
            raise ValueError(f"{where}: walker: unknown key {k!r}; accepted: {', '.join(WALKER_KEYS)}")
    walk = _str(walker, "walk", f"{where}: walker", WALKS[0])
    if walk not in WALKS:
        raise ValueError(f"{where}: walker.walk: unknown walk {walk!r}; accepted: {', '.join(WALKS)}")
    walk_lock = _str(walker, "hugetlb_walk_lock", f"{where}: walker", "take")
    if walk_lock not in ("take", "skip"):
        raise ValueError(f"{where}: walker.hugetlb_walk_lock: {walk_lock!r}; accepted: take, skip")
    patch = _str(walker, "patch", f"{where}: walker")
    if patch in ("", "none"):
        patch = None
    cpu = _str(walker, "cpu", f"{where}: walker", "local")
    if cpu not in WALKERS:
        raise ValueError(f"{where}: walker.cpu: {cpu!r}; accepted: local (a CPU in the walked mm's mm_cpumask) or "
                         "remote (a CPU not in the walked mm's mm_cpumask, e.g. __access_remote_vm() on a CPU that has "
                         "not run that mm lately)")
    holds_raw = walker.get("holds", [])
    if not isinstance(holds_raw, (list, str)):
        raise TypeError(f"{where}: walker.holds must be an array of holder names, got {_tname(holds_raw)}")
    try:
        holds = parse_holds(holds_raw if holds_raw != [] else "none")
    except (ValueError, TypeError) as err:
        raise ValueError(f"{where}: walker.holds: {err}") from None
    schedule = d.get("schedule")
    if schedule is not None:
        if not isinstance(schedule, list) or not all(isinstance(x, str) and x.strip() for x in schedule):
            raise TypeError(f"{where}: schedule must be an array of actor names such as [\"walker\", \"munmap\"]")
        schedule = tuple(x.strip() for x in schedule)

    builtin = d.get("layout")
    try:
        if builtin is not None:
            scenario = _on_builtin(d, builtin, walker, holds, config, cpu, fault, where, walk)
            if patch is not None or walk_lock != "take":
                scenario = replace(scenario, patch=patch, hugetlb_walk_lock=walk_lock)
        else:
            missing = [k for k in ("vma", "path") if k not in d]
            if missing:
                raise ValueError(f"{where}: {missing[0]} is missing: give [[vma]] and [[path]] tables, or "
                                 f"layout = one of {', '.join(ACTIONS)}")
            layout = parse_layout({"vma": d["vma"], "faulted": d.get("faulted", []), "path": d["path"],
                                   "walker": {k: walker[k] for k in ("address", "vma", "pause_before", "walk") if k in walker}},
                                  name=name, doc=doc)
            scenario = Scenario(holds, name, config, cpu, fault, None, None, layout, patch=patch,
                                hugetlb_walk_lock=walk_lock)
    except LayoutError as err:
        raise ValueError(f"{where}: {err}") from None
    except (ValueError, TypeError) as err:
        msg = str(err)
        raise type(err)(msg if msg.startswith(where) else f"{where}: {msg}") from None
    if schedule is not None:
        _check_schedule(scenario, schedule, where)
    return ScenarioFile(where, name, doc, scenario, expect, states, schedule, group)


def _config(d: dict, where: str) -> KernelConfig:
    kernel = _str(d, "kernel", where, DEFAULT_KERNEL)
    if kernel not in PROFILES:
        raise ValueError(f"{where}: kernel: unknown kernel {kernel!r}; accepted: {', '.join(PROFILES)}")
    raw = d.get("config", {})
    if not isinstance(raw, dict):
        raise TypeError(f"{where}: config must be a table such as {{ PT_RECLAIM = false }}, got {_tname(raw)}")
    items = {}
    for k, v in raw.items():
        if k not in CONFIG_KEYS:
            raise ValueError(f"{where}: config: unknown key {k!r}; accepted: {', '.join(CONFIG_KEYS)}")
        if isinstance(v, bool):
            v = "y" if v else "n"
        if not isinstance(v, (str, int)):
            raise TypeError(f"{where}: config.{k} must be a boolean, string or integer, got {_tname(v)}")
        items[k] = str(v)
    from ..kernel.config import parse_config_list

    try:
        overrides = parse_config_list(",".join(f"{k}={v}" for k, v in items.items())) if items else {}
        return KernelConfig.for_kernel(kernel, **overrides)
    except (ValueError, TypeError) as err:
        raise ValueError(f"{where}: config: {err}") from None


def _on_builtin(d, builtin, walker, holds, config, cpu, fault, where, walk=WALKS[0]) -> Scenario:
    if builtin not in ALL_ACTIONS:
        raise ValueError(f"{where}: layout: unknown layout {builtin!r}; accepted: {', '.join(ALL_ACTIONS)}")
    own = [k for k in OWN_LAYOUT if k in d] + [f"walker.{k}" for k in ("vma", "pause_before") if k in walker]
    if own:
        raise ValueError(f"{where}: {own[0]}: a file with layout = {builtin!r} uses that layout as shipped; "
                         "drop the layout key to write your own [[vma]] and [[path]] tables")
    address = None
    if "address" in walker:
        lay = builtin_layout(builtin)
        address = parse_address(walker["address"], {v.name: v for v in lay.vmas}, "walker.address")
        walked = lay.vma(lay.walked)
        if not walked.contains(address):
            raise ValueError(f"{where}: walker.address: {address:#x} is outside the walked VMA {walked.name} "
                             f"[{walked.start:#x}, {walked.end:#x}) of layout {builtin}")
    return Scenario(holds, builtin, config, cpu, fault, address, None, walk=None if walk == WALKS[0] else walk)


def _check_schedule(scenario: Scenario, schedule: tuple[str, ...], where: str) -> None:
    from ..kernel.sim import run

    try:
        run(scenario, list(schedule), then_default=False)
    except ValueError as err:
        raise ValueError(f"{where}: schedule: {err}") from None


def load_dir(path: str | Path) -> tuple[ScenarioFile, ...]:
    """Every *.toml file of a directory, in file-name order."""
    return tuple(load(p) for p in sorted(Path(path).glob("*.toml")))
