"""Scenario files for `pagewalk-edu tables`: validated step by step.

    {"steps": [{"op": "mmap", "start": "0", "length": "4M"},
               {"op": "touch", "start": 0, "length": "4M", "stride": "4K"},
               {"op": "munmap", "start": "2M", "length": "2M"},
               {"op": "madvise", "start": 0, "length": "2M", "advice": "dontneed"}]}

`start` is an offset from a base aligned to 512 GiB (an empty PGD slot).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..kernel.geometry import PAGE_SIZE
from ..saved import parse_json, read_json

SLOT = 1 << 39  # 512 GiB: one PGD entry with four-level paging
OPS = ("mmap", "touch", "munmap", "madvise")
ADVICE = ("dontneed",)
FIELDS = {
    "mmap": ("op", "start", "length"),
    "touch": ("op", "start", "length", "stride"),
    "munmap": ("op", "start", "length"),
    "madvise": ("op", "start", "length", "advice"),
}
TOP_KEYS = ("steps", "expected", "description", "schema")
MAX_STEPS = 1000
MAX_TOUCHED_PAGES = 1 << 19  # 2 GiB of 4 KiB pages in one touch step
_SIZE = re.compile(r"^\s*(\d+)\s*([KMGT]?)(i?B)?\s*$", re.IGNORECASE)
_UNIT = {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}


@dataclass(frozen=True)
class Op:
    op: str
    start: int
    length: int
    stride: int = PAGE_SIZE
    advice: str = ""

    @property
    def end(self) -> int:
        return self.start + self.length

    def describe(self) -> str:
        from ..kernel.geometry import fmt_size
        what = {"mmap": "mmap", "touch": "touch", "munmap": "munmap", "madvise": f"madvise({self.advice.upper()})"}[self.op]
        tail = f" every {fmt_size(self.stride)}" if self.op == "touch" and self.stride != PAGE_SIZE else ""
        return f"{what} [{fmt_size(self.start) if self.start else '0'}, +{fmt_size(self.length)}){tail}"


@dataclass(frozen=True)
class TablesScenario:
    steps: tuple[Op, ...]
    expected: tuple[int, ...] | None = None
    description: str = ""


def parse_size(value, where: str) -> int:
    """An integer, or a string like '4K', '2M', '1G' (binary units)."""
    if isinstance(value, bool):
        raise TypeError(f"{where}: must be an integer or a size like '2M', got a boolean")
    if isinstance(value, int):
        n = value
    elif isinstance(value, str):
        m = _SIZE.match(value)
        if not m:
            raise ValueError(f"{where}: {value!r} is not a size; use an integer or a number with K, M, G or T")
        n = int(m.group(1)) << _UNIT[m.group(2).upper()]
    else:
        raise TypeError(f"{where}: must be an integer or a size like '2M', got {type(value).__name__}")
    if n < 0:
        raise ValueError(f"{where}: must not be negative, got {value!r}")
    return n


def _step(i: int, raw) -> Op:
    where = f"step {i}"
    if not isinstance(raw, dict):
        raise TypeError(f"{where}: must be an object with 'op', 'start' and 'length', got {type(raw).__name__}")
    op = raw.get("op")
    if op not in OPS:
        raise ValueError(f"{where}: field 'op' must be one of {', '.join(OPS)}, got {op!r}")
    for key in raw:
        if key not in FIELDS[op]:
            raise ValueError(f"{where}: field {key!r} is not accepted for {op}; accepted: {', '.join(FIELDS[op])}")
    for key in ("start", "length"):
        if key not in raw:
            raise ValueError(f"{where}: field '{key}' is missing")
    start = parse_size(raw["start"], f"{where}: field 'start'")
    length = parse_size(raw["length"], f"{where}: field 'length'")
    if start % PAGE_SIZE:
        raise ValueError(f"{where}: field 'start' must be a multiple of 4K (page aligned), got {raw['start']!r}")
    if length == 0 or length % PAGE_SIZE:
        raise ValueError(f"{where}: field 'length' must be a positive multiple of 4K, got {raw['length']!r}")
    if start + length > SLOT:
        raise ValueError(f"{where}: [start, start+length) ends past the 512G slot the scenario lives in")
    stride = PAGE_SIZE
    if op == "touch" and "stride" in raw:
        stride = parse_size(raw["stride"], f"{where}: field 'stride'")
        if stride == 0:
            raise ValueError(f"{where}: field 'stride' must be positive, got {raw['stride']!r}")
    if op == "touch" and -(-length // max(stride, PAGE_SIZE)) > MAX_TOUCHED_PAGES:
        raise ValueError(f"{where}: touches more than {MAX_TOUCHED_PAGES} pages; use a larger stride or split the step")
    advice = ""
    if op == "madvise":
        advice = raw.get("advice", None)
        if advice not in ADVICE:
            raise ValueError(f"{where}: field 'advice' must be one of {', '.join(ADVICE)}, got {advice!r}")
    return Op(op, start, length, stride, advice)


def parse_tables_scenario(doc, where: str = "scenario") -> TablesScenario:
    if not isinstance(doc, dict):
        raise TypeError(f"{where}: expected a JSON object with 'steps', got {type(doc).__name__}")
    for key in doc:
        if key not in TOP_KEYS:
            raise ValueError(f"{where}: unknown field {key!r}; accepted: {', '.join(TOP_KEYS)}")
    steps = doc.get("steps")
    if not isinstance(steps, list):
        raise TypeError(f"{where}: 'steps' must be a list, got {type(steps).__name__}")
    if not steps:
        raise ValueError(f"{where}: 'steps' is empty")
    if len(steps) > MAX_STEPS:
        raise ValueError(f"{where}: {len(steps)} steps is more than the {MAX_STEPS} accepted")
    ops = tuple(_step(i + 1, s) for i, s in enumerate(steps))
    _check_consistency(ops)
    expected = doc.get("expected")
    if expected is not None:
        if not isinstance(expected, list) or len(expected) != len(ops):
            raise ValueError(f"{where}: 'expected' must list one byte count per step ({len(ops)})")
        expected = tuple(parse_size(x, f"{where}: expected[{i}]") for i, x in enumerate(expected))
    desc = doc.get("description", "")
    if not isinstance(desc, str):
        raise TypeError(f"{where}: 'description' must be a string")
    return TablesScenario(ops, expected, desc)


def _check_consistency(ops: tuple[Op, ...]) -> None:
    """Refuse what the real run would refuse or crash on: overlapping mmaps
    (MAP_FIXED_NOREPLACE fails), touching or madvising unmapped memory."""
    mapped: list[tuple[int, int]] = []

    def covered(s: int, e: int) -> bool:
        at = s
        for a, b in sorted(mapped):
            if a <= at < b:
                at = b
        return at >= e

    for i, op in enumerate(ops, 1):
        if op.op == "mmap":
            for a, b in mapped:
                if a < op.end and op.start < b:
                    raise ValueError(f"step {i}: mmap [{op.start:#x}, {op.end:#x}) overlaps an earlier mapping")
            mapped.append((op.start, op.end))
        elif op.op in ("touch", "madvise"):
            if not covered(op.start, op.end):
                raise ValueError(f"step {i}: {op.op} [{op.start:#x}, {op.end:#x}) is not all mapped at that point")
        else:
            new = []
            for a, b in mapped:
                if b <= op.start or a >= op.end:
                    new.append((a, b))
                else:
                    if a < op.start:
                        new.append((a, op.start))
                    if b > op.end:
                        new.append((op.end, b))
            mapped = new


def load_tables_scenario(path) -> TablesScenario:
    return parse_tables_scenario(read_json(path), str(path))


def parse_tables_text(text: str, where: str = "scenario") -> TablesScenario:
    return parse_tables_scenario(parse_json(text, where), where)
