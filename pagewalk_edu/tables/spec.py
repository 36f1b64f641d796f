"""Scenario files for `pagewalk-edu tables`, validated field by field.

    {"description": "optional words",
     "steps": [{"op": "mmap",    "start": 0,    "length": "4M"},
               {"op": "touch",   "start": 0,    "length": "4M", "stride": "4K"},
               {"op": "madvise", "start": "2M", "length": "2M", "advice": "dontneed"},
               {"op": "munmap",  "start": 0,    "length": "4M"}],
     "expected": [0, 16384, 12288, 0]}

`start` is an offset from a base aligned to 512 GiB, so the scenario begins in
an empty PGD slot (one PGD entry with four-level paging).  Sizes are integers
(bytes) or strings with a binary unit: "4K", "2M", "1G", "3G".  Mappings are
anonymous, private, read-write and MADV_NOHUGEPAGE.  Every error is one line
naming the step (1-based) and the field, and saying what is accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..kernel.geometry import PAGE_SIZE, fmt_size
from ..console import echo, quote
from ..files import read_user_text
from ..saved import json_type, parse_json

SLOT = 1 << 39  # 512 GiB: what one PGD entry maps with four-level paging
OPS = ("mmap", "touch", "munmap", "madvise")
ADVICE = ("dontneed",)
FIELDS = {
    "mmap": ("op", "start", "length"),
    "touch": ("op", "start", "length", "stride"),
    "munmap": ("op", "start", "length"),
    "madvise": ("op", "start", "length", "advice"),
}
TOP_KEYS = ("steps", "expected", "description")
MAX_STEPS = 1000
MAX_DESCRIPTION = 2000
#: A touch step writes at most this many pages (2 GiB of memory), the whole
#: scenario at most MAX_SCENARIO_PAGES: --real really writes them.
MAX_TOUCHED_PAGES = 1 << 19
MAX_SCENARIO_PAGES = 1 << 20
#: The prediction's work is bounded too: the touch steps reach at most this
#: many 2M ranges (PTE tables) in all, every PTE table of the slot once; the
#: munmap and madvise steps cover at most MAX_ZAPPED_BYTES in all.
MAX_PTE_TABLES_TOUCHED = 1 << 18
MAX_ZAPPED_BYTES = 1 << 42
PMD_SPAN = 1 << 21
_SIZE = re.compile(r"^\s*(\d{1,20})\s*([KMGT]?)(?:i?B)?\s*$", re.IGNORECASE)
_UNIT = {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}
SIZE_HELP = "an integer number of bytes or a size like '4K', '2M', '1G'"


@dataclass(frozen=True)
class Op:
    """One step: an offset range [start, start + length) in the slot."""

    op: str
    start: int
    length: int
    stride: int = PAGE_SIZE
    advice: str = ""

    @property
    def end(self) -> int:
        return self.start + self.length

    def describe(self) -> str:
        """'touch [0, 4M) every 1M', 'madvise(DONTNEED) [2M, 4M)'."""
        name = f"madvise({self.advice.upper()})" if self.op == "madvise" else self.op
        tail = f" every {fmt_size(self.stride)}" if self.op == "touch" and self.stride != PAGE_SIZE else ""
        return f"{name} [{_off(self.start)}, {_off(self.end)}){tail}"

    def as_dict(self) -> dict:
        d: dict = {"op": self.op, "start": self.start, "length": self.length}
        if self.op == "touch":
            d["stride"] = self.stride
        if self.op == "madvise":
            d["advice"] = self.advice
        return d


@dataclass(frozen=True)
class TablesScenario:
    steps: tuple[Op, ...]
    expected: tuple[int, ...] | None = None
    description: str = ""
    name: str = ""


def _off(n: int) -> str:
    return fmt_size(n) if n else "0"


def parse_size(value, where: str) -> int:
    """An integer, or a string like '4K', '2M', '1G' (binary units); not negative."""
    if isinstance(value, bool):
        raise TypeError(f"{where} must be {SIZE_HELP}, got a boolean")
    if isinstance(value, int):
        n = value
    elif isinstance(value, str):
        m = _SIZE.match(value)
        if not m:
            if value.strip().startswith("-"):
                raise ValueError(f"{where} must not be negative, got {quote(value)}")
            raise ValueError(f"{where} must be {SIZE_HELP}, got {quote(value)}")
        n = int(m.group(1)) << _UNIT[m.group(2).upper()]
    else:
        raise TypeError(f"{where} must be {SIZE_HELP}, got {json_type(value)}")
    if n < 0:
        raise ValueError(f"{where} must not be negative, got {quote(value)}")
    return n


class _Object(dict):
    """A JSON object that remembers the keys it was given twice."""

    duplicates: tuple[str, ...] = ()


def _object(pairs) -> _Object:
    obj = _Object()
    dups = []
    for k, v in pairs:
        if k in obj:
            dups.append(k)
        obj[k] = v
    obj.duplicates = tuple(dups)
    return obj


def _step(i: int, raw) -> Op:
    where = f"step {i}"
    if not isinstance(raw, dict):
        raise TypeError(f"{where} must be an object like {{\"op\": \"mmap\", \"start\": 0, \"length\": \"4M\"}}, "
                        f"got {json_type(raw)}")
    for key in getattr(raw, "duplicates", ()):
        raise ValueError(f"{where}: field {quote(key)} is given twice")
    if "op" not in raw:
        raise ValueError(f"{where}: field 'op' is missing; accepted: {', '.join(OPS)}")
    op = raw["op"]
    if not isinstance(op, str) or op not in OPS:
        raise ValueError(f"{where}: field 'op' must be one of {', '.join(OPS)}, got {quote(op)}")
    for key in raw:
        if key not in FIELDS[op]:
            raise ValueError(f"{where}: field {quote(key)} is not accepted for {op}; accepted: {', '.join(FIELDS[op])}")
    for key in ("start", "length"):
        if key not in raw:
            raise ValueError(f"{where}: field '{key}' is missing; it takes {SIZE_HELP}")
    start = parse_size(raw["start"], f"{where}: field 'start'")
    length = parse_size(raw["length"], f"{where}: field 'length'")
    if start % PAGE_SIZE:
        raise ValueError(f"{where}: field 'start' must be page aligned (a multiple of 4K), got {quote(raw['start'])}")
    if length == 0:
        raise ValueError(f"{where}: field 'length' must be positive (a multiple of 4K), got {quote(raw['length'])}")
    if length % PAGE_SIZE:
        raise ValueError(f"{where}: field 'length' must be page aligned (a multiple of 4K), got {quote(raw['length'])}")
    if start >= SLOT:
        raise ValueError(f"{where}: field 'start' must lie inside the 512G slot the scenario lives in "
                         f"(0 to {fmt_size(SLOT - PAGE_SIZE)}), got {quote(raw['start'])}")
    if start + length > SLOT:
        raise ValueError(f"{where}: field 'length' takes the range past the end of the 512G slot "
                         f"(start {_off(start)} + length {fmt_size(length)} > 512G)")
    stride = PAGE_SIZE
    if op == "touch" and "stride" in raw:
        stride = parse_size(raw["stride"], f"{where}: field 'stride'")
        if stride == 0:
            raise ValueError(f"{where}: field 'stride' must be positive, got {quote(raw['stride'])}")
    if op == "touch" and touched_page_count(start, length, stride) > MAX_TOUCHED_PAGES:
        raise ValueError(f"{where}: field 'stride' makes this step write more than {MAX_TOUCHED_PAGES} pages "
                         f"(2G of memory); use a larger stride or split the step")
    advice = ""
    if op == "madvise":
        if "advice" not in raw:
            raise ValueError(f"{where}: field 'advice' is missing; accepted: {', '.join(ADVICE)}")
        advice = raw["advice"]
        if not isinstance(advice, str) or advice.lower() not in ADVICE:
            raise ValueError(f"{where}: field 'advice' must be one of {', '.join(ADVICE)}, got {quote(advice)}")
        advice = advice.lower()
    return Op(op, start, length, stride, advice)


def touched_page_count(start: int, length: int, stride: int) -> int:
    """How many pages a touch step writes (kernel/syscalls.touched_pages())."""
    if stride < PAGE_SIZE:
        return length // PAGE_SIZE
    return -(-length // stride)


def parse_tables_scenario(doc, where: str = "scenario", name: str = "") -> TablesScenario:
    """Validate a decoded JSON document; one-line ValueError/TypeError otherwise."""
    if not isinstance(doc, dict):
        raise TypeError(f"{where}: expected a JSON object with 'steps', got {json_type(doc)}")
    for key in getattr(doc, "duplicates", ()):
        raise ValueError(f"{where}: field {quote(key)} is given twice")
    for key in doc:
        if key not in TOP_KEYS:
            raise ValueError(f"{where}: unknown field {quote(key)}; accepted: {', '.join(TOP_KEYS)}")
    if "steps" not in doc:
        raise ValueError(f"{where}: field 'steps' is missing (a list of steps)")
    steps = doc["steps"]
    if not isinstance(steps, list):
        raise TypeError(f"{where}: field 'steps' must be a list of steps, got {json_type(steps)}")
    if not steps:
        raise ValueError(f"{where}: field 'steps' is empty; give at least one step")
    if len(steps) > MAX_STEPS:
        raise ValueError(f"{where}: field 'steps' has {len(steps)} steps, more than the {MAX_STEPS} accepted")
    ops = tuple(_step(i + 1, s) for i, s in enumerate(steps))
    _check_sequence(ops)
    expected = doc.get("expected")
    if expected is not None:
        if not isinstance(expected, list):
            raise TypeError(f"{where}: field 'expected' must be a list of byte counts, got {json_type(expected)}")
        if len(expected) != len(ops):
            raise ValueError(f"{where}: field 'expected' must give one byte count per step "
                             f"({len(ops)}), got {len(expected)}")
        expected = tuple(parse_size(x, f"{where}: field 'expected' item {i + 1}") for i, x in enumerate(expected))
    desc = doc.get("description", "")
    if not isinstance(desc, str):
        raise TypeError(f"{where}: field 'description' must be a string, got {json_type(desc)}")
    if len(desc) > MAX_DESCRIPTION:
        raise ValueError(f"{where}: field 'description' is longer than {MAX_DESCRIPTION} characters")
    return TablesScenario(ops, expected, desc, name)


def _check_sequence(ops: tuple[Op, ...]) -> None:
    """What a real run would refuse or crash on: an mmap over a live mapping
    (MAP_FIXED_NOREPLACE fails: the scenario must be unambiguous), a touch of
    unmapped memory (SIGSEGV), a madvise of unmapped memory (ENOMEM); and the
    bounds on the work: MAX_SCENARIO_PAGES written, MAX_PTE_TABLES_TOUCHED
    reached, MAX_ZAPPED_BYTES unmapped or advised (what is mapped at once is
    bounded by the 512G slot itself)."""
    mapped: list[tuple[int, int, int]] = []  # (start, end, step that mapped it)
    pages = 0
    pte_ranges = 0
    zapped = 0

    def hole(s: int, e: int) -> tuple[int, int] | None:
        at = s
        for a, b, _ in sorted(mapped):
            if b <= at:
                continue
            if a > at:
                return at, min(a, e)
            at = b
            if at >= e:
                return None
        return (at, e) if at < e else None

    for i, op in enumerate(ops, 1):
        if op.op == "mmap":
            for a, b, j in mapped:
                if a < op.end and op.start < b:
                    raise ValueError(f"step {i}: field 'start': mmap [{_off(op.start)}, {_off(op.end)}) overlaps "
                                     f"[{_off(a)}, {_off(b)}) still mapped from step {j}; mappings must not overlap "
                                     "(munmap it first)")
            mapped.append((op.start, op.end, i))
        elif op.op in ("touch", "madvise"):
            gap = hole(op.start, op.end)
            if gap is not None:
                raise ValueError(f"step {i}: field 'start': {op.op} [{_off(op.start)}, {_off(op.end)}) covers "
                                 f"[{_off(gap[0])}, {_off(gap[1])}), which is not mapped at that point; "
                                 "mmap it in an earlier step")
            if op.op == "touch":
                count = touched_page_count(op.start, op.length, op.stride)
                pages += count
                if pages > MAX_SCENARIO_PAGES:
                    raise ValueError(f"step {i}: field 'length': the scenario writes more than "
                                     f"{MAX_SCENARIO_PAGES} pages (4G of memory) in all")
                pte_ranges += min(count, ((op.end - 1) // PMD_SPAN) - (op.start // PMD_SPAN) + 1)
                if pte_ranges > MAX_PTE_TABLES_TOUCHED:
                    raise ValueError(f"step {i}: field 'length': the touch steps reach more than "
                                     f"{MAX_PTE_TABLES_TOUCHED} PTE tables (2M ranges) in all, every PTE table "
                                     "of the 512G slot once; accepted: at most that many")
            else:
                zapped += op.length
        if op.op == "munmap":
            zapped += op.length
        if zapped > MAX_ZAPPED_BYTES:
            raise ValueError(f"step {i}: field 'length': the munmap and madvise steps cover more than "
                             f"{fmt_size(MAX_ZAPPED_BYTES)} in all; accepted: at most {fmt_size(MAX_ZAPPED_BYTES)}")
        if op.op == "munmap":
            kept = []
            for a, b, j in mapped:
                if b <= op.start or a >= op.end:
                    kept.append((a, b, j))
                    continue
                if a < op.start:
                    kept.append((a, op.start, j))
                if b > op.end:
                    kept.append((op.end, b, j))
            mapped = kept


def _decode(text: str, where: str):
    # the project's one-line messages: too large, too deeply nested, truncated, not JSON;
    # keys given twice are kept so that the message can name the step
    return parse_json(text, where, object_pairs_hook=_object)


def load_tables_scenario(path) -> TablesScenario:
    """Read and validate a scenario file (at most 1 MiB of UTF-8 JSON)."""
    text = read_user_text(path, "scenario file")
    where = echo(path)
    if not text.strip():
        raise ValueError(f"{where}: the file is empty; expected a JSON object with 'steps'")
    return parse_tables_scenario(_decode(text, where), where, Path(path).stem)


def parse_tables_text(text: str, where: str = "scenario") -> TablesScenario:
    """Validate a scenario given as JSON text (a notebook cell, a test)."""
    if not isinstance(text, str):
        raise TypeError(f"{where}: expected JSON text (a str), got {type(text).__name__}")
    if not text.removeprefix("\ufeff").strip():
        raise ValueError(f"{where}: empty; expected a JSON object with 'steps'")
    return parse_tables_scenario(_decode(text, where), where)
