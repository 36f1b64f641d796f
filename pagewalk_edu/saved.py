"""Scenarios and traces as files: JSON with a schema version, validated field
by field on load, written atomically (temporary file, fsync, rename).

A saved trace carries its schedule and a fingerprint of every state; loading
replays the schedule through the simulator and checks each fingerprint, so a
trace saved on one machine replays to the same states on another.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import fields, is_dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from .kernel.config import CONFIG_KEYS, DEFAULT_KERNEL, PROFILES
from .kernel.scenario import ACTIONS, FAULTS, WALKERS, Scenario, make_scenario
from .kernel.sim import Trace, make_ctx, run
from .kernel.walker import HOLDS

SCHEMA = 1
MAX_BYTES = 1 << 20  # files the user loads are bounded in size
SCENARIO_KEYS = ("schema", "kind", "holds", "action", "kernel", "config", "walker", "fault", "address", "vma_kind", "schedule")


# --- fingerprints -------------------------------------------------------------


def canonical(obj: Any) -> Any:
    """A JSON-able form of a state, independent of hash seeds (sets sorted)."""
    if is_dataclass(obj):
        return {f.name: canonical(getattr(obj, f.name)) for f in fields(obj) if not f.name.startswith("_")}
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, (frozenset, set)):
        return sorted((canonical(x) for x in obj), key=lambda x: json.dumps(x, sort_keys=True))
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return {k: canonical(v) for k, v in zip(obj._fields, obj)}
    if isinstance(obj, (tuple, list)):
        return [canonical(x) for x in obj]
    return obj


def fingerprint(state) -> str:
    data = json.dumps(canonical(state), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()[:16]


# --- writing --------------------------------------------------------------------


def atomic_write(path: str | os.PathLike, text: str) -> None:
    """Write `text` so that a crash leaves either the old file or the new one."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def scenario_dict(scenario: Scenario, schedule: list[str] | None = None) -> dict:
    d = scenario.as_dict()
    return {"schema": SCHEMA, "kind": "scenario", **{k: _plain_config(v) if k == "config" else v for k, v in d.items()},
            "schedule": list(schedule) if schedule else None}


def _plain_config(cfg: dict) -> dict:
    return {k: ("y" if v else "n") if isinstance(v, bool) else v for k, v in cfg.items()}


def trace_dict(trace: Trace) -> dict:
    return {
        "schema": SCHEMA,
        "kind": "trace",
        "scenario": scenario_dict(trace.ctx.scenario),
        "schedule": list(trace.actions),
        "steps": [{"actor": e.actor, "function": e.function, "text": e.text} for e in trace.events],
        "fingerprints": [fingerprint(s) for s in trace.states],
    }


def save_scenario(path, scenario: Scenario, schedule: list[str] | None = None, *, overwrite: bool = False) -> None:
    _check_target(path, overwrite)
    atomic_write(path, json.dumps(scenario_dict(scenario, schedule), indent=2) + "\n")


def save_trace(path, trace: Trace, *, overwrite: bool = False) -> None:
    _check_target(path, overwrite)
    atomic_write(path, json.dumps(trace_dict(trace), indent=2) + "\n")


def _check_target(path, overwrite: bool) -> None:
    if not overwrite and Path(path).exists():
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")


# --- loading --------------------------------------------------------------------


def read_user_text(path, kind: str = "JSON file") -> str:
    """The text of a file the user gave: at most MAX_BYTES (1 MiB) of UTF-8;
    a missing, unreadable, oversized or binary file is a one-line ValueError."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except OSError as err:
        raise ValueError(f"{path}: cannot read it ({err.strerror})") from None
    if p.is_dir():
        raise ValueError(f"{path}: is a directory, not a {kind}")
    if size > MAX_BYTES:
        raise ValueError(f"{path}: {size} bytes is larger than the {MAX_BYTES} bytes (1 MiB) accepted")
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    except OSError as err:
        raise ValueError(f"{path}: cannot read it ({err.strerror})") from None


def read_json(path) -> Any:
    """Read a JSON file the user gave, bounded in size; one-line errors."""
    return parse_json(read_user_text(path), str(path))


def parse_json(text: str, where: str = "input") -> Any:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ValueError(f"{where}: larger than the {MAX_BYTES} bytes accepted")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        what = "truncated (it ends before its brackets close)" if _looks_truncated(text) else "not valid JSON"
        raise ValueError(f"{where}: {what} (line {err.lineno}, column {err.colno}: {err.msg})") from None


def _looks_truncated(text: str) -> bool:
    """Does the text end inside a string or with brackets still open?"""
    depth, in_str, esc = 0, False, False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
    return in_str or depth > 0


def _check_schema(d: Any, where: str, kind: str) -> None:
    if not isinstance(d, dict):
        raise TypeError(f"{where}: expected a JSON object, got {type(d).__name__}")
    schema = d.get("schema")
    if schema is None:
        raise ValueError(f"{where}: missing 'schema' (this version writes {SCHEMA})")
    if not isinstance(schema, int) or isinstance(schema, bool):
        raise TypeError(f"{where}: 'schema' must be an integer, got {schema!r}")
    if schema > SCHEMA:
        raise ValueError(f"{where}: schema {schema} is newer than this pagewalk-edu understands ({SCHEMA}); upgrade pagewalk-edu")
    if schema < 1:
        raise ValueError(f"{where}: schema {schema} is not a valid version (1 to {SCHEMA})")
    got = d.get("kind", kind)
    if got != kind:
        raise ValueError(f"{where}: this is a {got!r} file, expected a {kind!r} file")


def _field(d: dict, key: str, types, where: str, default=None, required: bool = False):
    if key not in d or d[key] is None:
        if required:
            raise ValueError(f"{where}: missing field '{key}'")
        return default
    v = d[key]
    if not isinstance(v, types) or (isinstance(v, bool) and bool not in (types if isinstance(types, tuple) else (types,))):
        names = "/".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        raise TypeError(f"{where}: field '{key}' must be {names}, got {type(v).__name__}")
    return v


def scenario_from_dict(d: Any, where: str = "scenario") -> tuple[Scenario, list[str] | None]:
    _check_schema(d, where, "scenario")
    unknown = sorted(set(d) - set(SCENARIO_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown field '{unknown[0]}'; accepted: {', '.join(SCENARIO_KEYS)}")
    holds = _field(d, "holds", list, where, required=True)
    for h in holds:
        if not isinstance(h, str):
            raise TypeError(f"{where}: field 'holds' must list strings, got {type(h).__name__}")
    action = _field(d, "action", str, where, required=True)
    kernel = _field(d, "kernel", str, where, DEFAULT_KERNEL)
    config = _field(d, "config", dict, where, {})
    cfg_items = []
    for k, v in config.items():
        if k not in CONFIG_KEYS:
            raise ValueError(f"{where}: unknown config key {k!r}; accepted: {', '.join(CONFIG_KEYS)}")
        if isinstance(v, bool):
            v = "y" if v else "n"
        if not isinstance(v, (str, int)):
            raise TypeError(f"{where}: config {k} must be a string or integer, got {type(v).__name__}")
        cfg_items.append(f"{k}={v}")
    walker = _field(d, "walker", str, where, "local")
    fault = _field(d, "fault", str, where, None)
    address = _field(d, "address", int, where, None)
    vma_kind = _field(d, "vma_kind", str, where, None)
    schedule = _field(d, "schedule", list, where, None)
    if schedule is not None:
        if len(schedule) > 10_000:
            raise ValueError(f"{where}: schedule of {len(schedule)} steps is longer than the 10000 accepted")
        for x in schedule:
            if not isinstance(x, str):
                raise TypeError(f"{where}: field 'schedule' must list actor names, got {type(x).__name__}")
    try:
        scenario = make_scenario(holds or "none", action, kernel, walker, ",".join(cfg_items) or None, fault, address, vma_kind)
    except (ValueError, TypeError) as err:
        raise type(err)(f"{where}: {err}") from None
    return scenario, schedule


def load_scenario(path) -> tuple[Scenario, list[str] | None]:
    """Load a scenario file (or the scenario inside a trace file)."""
    d = read_json(path)
    if isinstance(d, dict) and d.get("kind") == "trace":
        _check_schema(d, str(path), "trace")
        sc, _ = scenario_from_dict(d.get("scenario"), f"{path}: scenario")
        sched = _field(d, "schedule", list, str(path), [])
        return sc, sched
    return scenario_from_dict(d, str(path))


def load_trace(path) -> Trace:
    """Load a trace file and replay it; ValueError if it does not replay to the
    same states (a different model version, or an edited file)."""
    d = read_json(path)
    where = str(path)
    _check_schema(d, where, "trace")
    scenario, _ = scenario_from_dict(d.get("scenario"), f"{where}: scenario")
    schedule = _field(d, "schedule", list, where, required=True)
    prints = _field(d, "fingerprints", list, where, None)
    try:
        trace = run(scenario, schedule, then_default=False)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    if prints is not None:
        if len(prints) != len(trace.states):
            raise ValueError(f"{where}: {len(prints)} fingerprints for {len(trace.states)} states")
        for i, (want, state) in enumerate(zip(prints, trace.states)):
            if want != fingerprint(state):
                raise ValueError(f"{where}: state {i} does not replay to the saved state (different model version or an edited file)")
    return trace


__all__ = ["SCHEMA", "MAX_BYTES", "read_user_text", "atomic_write", "canonical", "fingerprint", "load_scenario", "load_trace", "parse_json",
           "read_json", "save_scenario", "save_trace", "scenario_dict", "scenario_from_dict", "trace_dict"]
