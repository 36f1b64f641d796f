"""Scenarios and traces as files: JSON with a schema version, validated field
by field on load, written by the package's one atomic writer (files.py:
temporary file, fsync, then link or rename).

A saved trace carries its schedule and a fingerprint of every state; loading
replays the schedule through the simulator and checks each fingerprint, so a
trace saved on one machine replays to the same states on another.
"""

from __future__ import annotations

import hashlib
import json
import operator
import os
import re
import sys
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import Any

from .console import echo, quote
from .files import MAX_BYTES, read_user_text, write_atomic
from .kernel.config import CONFIG_KEYS, DEFAULT_KERNEL, PROFILES, parse_config_value
from .kernel.scenario import ACTIONS, FAULTS, WALKERS, Scenario, make_scenario
from .kernel.sim import Trace, make_ctx, run
from .kernel.walker import HOLDS

SCHEMA = 1
MAX_DEPTH = 100  # and in how deeply their arrays and objects nest
MAX_SCHEDULE = 10_000
SCENARIO_KEYS = ("schema", "kind", "holds", "action", "kernel", "config", "walker", "fault", "address", "vma_kind", "schedule", "layout")
TRACE_KEYS = ("schema", "kind", "scenario", "schedule", "steps", "fingerprints")


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


def atomic_write(path: str | os.PathLike, text: str, *, overwrite: bool = True) -> None:
    """Write `text` with the package's one atomic writer (files.write_atomic)."""
    write_atomic(path, text, overwrite=overwrite)


def scenario_dict(scenario: Scenario, schedule: list[str] | None = None) -> dict:
    d = scenario.as_dict()
    if d.get("address") is not None:
        d["address"] = operator.index(d["address"])  # a numpy integer is written as a JSON number
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
    if not isinstance(scenario, Scenario):
        raise TypeError(f"save_scenario() takes a Scenario (from make_scenario(...)), got {type(scenario).__name__}")
    if schedule is not None and (not isinstance(schedule, (list, tuple)) or not all(isinstance(x, str) for x in schedule)):
        raise TypeError(f"schedule must be a list of actor names, got {type(schedule).__name__}")
    write_atomic(path, json.dumps(scenario_dict(scenario, schedule), indent=2) + "\n", overwrite=overwrite)


def save_trace(path, trace: Trace, *, overwrite: bool = False) -> None:
    if not isinstance(trace, Trace):
        raise TypeError(f"save_trace() takes a Trace (from run(...)), got {type(trace).__name__}")
    write_atomic(path, json.dumps(trace_dict(trace), indent=2) + "\n", overwrite=overwrite)


# --- loading --------------------------------------------------------------------


def read_json(path) -> Any:
    """Read a JSON file the user gave, bounded in size; one-line errors."""
    return parse_json(read_user_text(path), echo(path))


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def json_type(value: Any) -> str:
    """What a JSON value is, in JSON's words, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"the number {value!r}" if len(repr(value)) <= 20 else "a number"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) <= 20 else "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def unique_object(pairs) -> dict:
    """A JSON object in which no key is given twice (json's object_pairs_hook)."""
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise _DuplicateKey(k)
        obj[k] = v
    return obj


def parse_json(text: str, where: str = "input", object_pairs_hook=unique_object) -> Any:
    """Decode JSON text the user gave: bounded in size and nesting, a key given
    twice in one object refused; every error is one line starting with `where`."""
    if not isinstance(text, str):
        raise TypeError(f"{where}: expected JSON text (a str), got {type(text).__name__}")
    text = text.removeprefix("\ufeff")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ValueError(f"{where}: larger than the {MAX_BYTES} bytes accepted")
    depth = _depth(text) if text.count("[") + text.count("{") > MAX_DEPTH else 0
    if depth > MAX_DEPTH:
        raise ValueError(f"{where}: nested too deeply ({depth} levels of arrays and objects); accepted: at most {MAX_DEPTH} levels")
    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook)
    except json.JSONDecodeError as err:
        what = "truncated (it ends before its brackets close)" if _looks_truncated(text) else "not valid JSON"
        raise ValueError(f"{where}: {what} (line {err.lineno}, column {err.colno}: {err.msg})") from None
    except _DuplicateKey as err:
        raise ValueError(f"{where}: field {err.key!r} is given twice") from None
    except RecursionError:
        raise ValueError(f"{where}: nested too deeply; accepted: at most {MAX_DEPTH} levels of arrays and objects") from None
    except ValueError as err:  # int(): more digits than sys.get_int_max_str_digits()
        if "digits" in str(err):
            limit = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 4300
            raise ValueError(f"{where}: a number with more than {limit} digits; accepted: integers of at most {limit} digits") from None
        raise ValueError(f"{where}: not valid JSON ({str(err).splitlines()[0]})") from None


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|"|[\[\]{}]')


def _depth(text: str) -> int:
    """How deeply the arrays and objects of `text` nest (strings skipped); an
    unterminated string ends the count (the parser then says truncated)."""
    depth = deepest = 0
    for m in _TOKEN.finditer(text):
        tok = m.group()
        if tok == '"':
            break
        if tok in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif tok in "]}":
            depth -= 1
    return deepest


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
        raise TypeError(f"{where}: expected a JSON object, got {json_type(d)}")
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
        raise TypeError(f"{where}: field '{key}' must be {names}, got {json_type(v)}")
    return v


def scenario_from_dict(d: Any, where: str = "scenario") -> tuple[Scenario, list[str] | None]:
    _check_schema(d, where, "scenario")
    unknown = sorted(set(d) - set(SCENARIO_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown field {quote(unknown[0])}; accepted: {', '.join(SCENARIO_KEYS)}")
    holds = _field(d, "holds", list, where, required=True)
    for h in holds:
        if not isinstance(h, str):
            raise TypeError(f"{where}: field 'holds' must list strings, got {json_type(h)}")
    action = _field(d, "action", str, where, required=True)
    kernel = _field(d, "kernel", str, where, DEFAULT_KERNEL)
    config = _field(d, "config", dict, where, {})
    overrides: dict[str, object] = {}
    for k, v in config.items():  # one value at a time: a comma inside a value is no second key
        if k not in CONFIG_KEYS:
            raise ValueError(f"{where}: unknown config key {quote(k)}; accepted: {', '.join(CONFIG_KEYS)}")
        if isinstance(v, bool):
            v = "y" if v else "n"
        if not isinstance(v, (str, int)):
            raise TypeError(f"{where}: config {k} must be a string or integer, got {json_type(v)}")
        try:
            overrides[k] = parse_config_value(k, v if isinstance(v, str) else str(v))
        except ValueError as err:  # echo the value bounded and escaped, however long it was
            raise ValueError(f"{where}: config {str(err).rsplit(', got ', 1)[0]}, got {quote(v)}") from None
    walker = _field(d, "walker", str, where, "local")
    fault = _field(d, "fault", str, where, None)
    address = _field(d, "address", int, where, None)
    vma_kind = _field(d, "vma_kind", str, where, None)
    schedule = _field(d, "schedule", list, where, None)
    if schedule is not None:
        _check_schedule(schedule, where)
    try:
        scenario = make_scenario(holds or "none", action, kernel, walker, overrides, fault, address, vma_kind,
                                 _layout(d.get("layout"), where))
    except (ValueError, TypeError) as err:
        raise type(err)(f"{where}: {err}") from None
    return scenario, schedule


def _layout(d: Any, where: str):
    """A scenario file's own layout, saved with its scenario (kernel/layout.py checks it)."""
    if d is None:
        return None
    from .kernel.layout import parse_layout

    if not isinstance(d, dict) or not isinstance(d.get("name"), str) or not isinstance(d.get("doc", ""), str):
        raise TypeError(f"{where}: field 'layout' must be an object with a name, as a scenario file's layout is saved")
    rest = {k: v for k, v in d.items() if k not in ("name", "doc")}
    return parse_layout(rest, name=d["name"], doc=d.get("doc", ""))


def load_scenario(path) -> tuple[Scenario, list[str] | None]:
    """Load a scenario file (or the scenario inside a trace file, checked as
    load_trace() checks it); its schedule must replay."""
    d = read_json(path)
    where = echo(path)
    if isinstance(d, dict) and d.get("kind") == "trace":
        trace, schedule = _trace_from_dict(d, where)
        return trace.ctx.scenario, schedule
    scenario, schedule = scenario_from_dict(d, where)
    if schedule:
        _replay(scenario, schedule, where)
    return scenario, schedule


def load_trace(path) -> Trace:
    """Load a trace file and replay it; ValueError if it does not replay to the
    same states (a different model version, or an edited file)."""
    return _trace_from_dict(read_json(path), echo(path))[0]


def _trace_from_dict(d: Any, where: str) -> tuple[Trace, list[str]]:
    """Validate a decoded trace file, replay its schedule and check every
    state's fingerprint: the one check every loader of a trace makes."""
    _check_schema(d, where, "trace")
    unknown = sorted(set(d) - set(TRACE_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown field {quote(unknown[0])}; accepted: {', '.join(TRACE_KEYS)}")
    scenario, _ = scenario_from_dict(d.get("scenario"), f"{where}: scenario")
    schedule = _field(d, "schedule", list, where, required=True)
    _check_schedule(schedule, where)
    _field(d, "steps", list, where, None)
    prints = _field(d, "fingerprints", list, where, None)
    trace = _replay(scenario, schedule, where)
    if prints is not None:
        if len(prints) != len(trace.states):
            raise ValueError(f"{where}: {len(prints)} fingerprints for {len(trace.states)} states")
        for i, (want, state) in enumerate(zip(prints, trace.states)):
            if want != fingerprint(state):
                raise ValueError(f"{where}: state {i} does not replay to the saved state (different model version or an edited file)")
    return trace, schedule


def _check_schedule(schedule: list, where: str) -> None:
    if len(schedule) > MAX_SCHEDULE:
        raise ValueError(f"{where}: schedule of {len(schedule)} steps is longer than the {MAX_SCHEDULE} accepted")
    for x in schedule:
        if not isinstance(x, str):
            raise TypeError(f"{where}: field 'schedule' must list actor names, got {json_type(x)}")


def _replay(scenario: Scenario, schedule: list[str], where: str) -> Trace:
    try:
        return run(scenario, schedule, then_default=False)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None


__all__ = ["SCHEMA", "MAX_BYTES", "json_type", "read_user_text", "atomic_write", "canonical", "fingerprint", "load_scenario", "load_trace", "parse_json",
           "read_json", "unique_object", "save_scenario", "save_trace", "scenario_dict", "scenario_from_dict", "trace_dict"]
