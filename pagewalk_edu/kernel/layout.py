"""A memory layout and the kernel paths that race on it, as data: the VMAs of
one mm (include/linux/mm_types.h), the pages faulted in before the race, the
walked address, and one racing kernel path per CPU.

The seven built-in actions are seven shipped layout files
(pagewalk_edu/scenarios/layouts/*.toml); a learner's own scenario file is the
same format (docs/scenarios.md).  This module turns the layout part of such a
file into a `Layout` and checks it; it knows nothing of expected verdicts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from .geometry import PAGE_SIZE, PMD_SIZE
from .vma import VMA_KINDS, Vma

#: The racing kernel paths a layout may name, and the actor (role) each runs
#: as by default: a thread of the mm for the system calls, the khugepaged
#: kthread for the collapses (so not in mm_cpumask()).
PATH_OPS: dict[str, tuple[str, bool]] = {
    "munmap": ("munmap", True),
    "madvise": ("madvise", True),
    "khugepaged_collapse": ("khugepaged", False),
    "retract_page_tables": ("khugepaged", False),
    "mremap": ("mremap", True),
    # hugetlb PMD sharing (kernel/paths/hugetlb.py): another task's fallocate(), P's own
    # madvise(), and process Q (a CPU of Q's mm, not of P's).
    "hugetlb_punch_hole": ("fallocate", False),
    "hugetlb_dontneed": ("madvise", True),
    "hugetlb_reuse": ("Q", False),
}
#: The range check of each path registered by kernel/programs.py register_path()
#: beyond the built-in ones: check(start, end, table, vmas, key), raising LayoutError.
PATH_CHECKS: dict[str, Callable[..., Any]] = {}
#: Paths that change the VMA tree (split, detach, copy): two of them on one VMA
#: would need the kernel's re-lookup under mmap_lock, which the programs do not
#: repeat; a layout is refused instead.
VMA_CHANGING = ("munmap", "mremap")
WALKS = ["folio_walk_start", "gup_fast"]  # kernel/walkers/ register() adds to it
#: Where the default schedule lets the other CPUs run (a walk step label).
PAUSE_LABELS = ("pgd_offset", "p4d_offset", "pudp_get", "pmdp_get_lockless", "__pte_offset_map", "spin_lock")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SIZE_UNITS = {"K": 10, "M": 20, "G": 30, "T": 40}
_TERM = re.compile(r"\s*([+-]?)\s*([A-Za-z_][A-Za-z0-9_]*(?:\.end)?|0[xX][0-9a-fA-F_]+|[0-9][0-9_]*[KMGT]?)\s*")


@dataclass(frozen=True)
class PathSpec:
    """One racing kernel path: an operation on [start, end) (and, for mremap,
    the new address), run by actor `actor` on its own CPU."""

    op: str
    start: int
    end: int
    actor: str
    new: int | None = None

    def describe(self) -> str:
        tail = f" to {self.new:#x}" if self.new is not None else ""
        what = {"madvise": "madvise(MADV_DONTNEED)"}.get(self.op, self.op)
        who = "" if self.actor == self.op else f"{self.actor}: "
        return f"{who}{what} [{self.start:#x}, {self.end:#x}){tail}"

    def as_dict(self) -> dict:
        d: dict[str, Any] = {"op": self.op, "start": self.start, "end": self.end, "actor": self.actor}
        if self.new is not None:
            d["new"] = self.new
        return d


@dataclass(frozen=True)
class Layout:
    """The mm before the race and who races in it."""

    name: str
    doc: str
    vmas: tuple[Vma, ...]  # sorted by start
    faulted: tuple[int, ...]  # pages faulted in before the race, in order
    address: int  # the walked address
    walked: str  # the name of the VMA containing it
    paths: tuple[PathSpec, ...]
    pause_before: str = "pmdp_get_lockless"
    walk: str = "folio_walk_start"  # the walker (kernel/walkers/)

    def vma(self, name: str) -> Vma:
        for v in self.vmas:
            if v.name == name:
                return v
        raise KeyError(name)

    def as_dict(self) -> dict:
        """The layout in scenario-file form (plain integers for addresses)."""
        return {
            "name": self.name,
            "doc": self.doc,
            "vma": [{"name": v.name, "start": v.start, "end": v.end, "kind": v.kind} for v in self.vmas],
            "faulted": list(self.faulted),
            "walker": {"address": self.address, "vma": self.walked, "pause_before": self.pause_before, "walk": self.walk},
            "path": [p.as_dict() for p in self.paths],
        }


class LayoutError(ValueError):
    """A bad value in a layout: the message names the key and what is accepted."""


# --- addresses -------------------------------------------------------------------


def parse_size(value: Any, key: str) -> int:
    """4096, 0x200000, "2M", "1G", "4K" (binary units)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise LayoutError(f"{key}: a size is an integer or a string such as \"2M\", got {_tname(value)}")
    if isinstance(value, int):
        return value
    return parse_address(value, {}, key, sizes_only=True)


def parse_address(value: Any, vmas: dict[str, Vma], key: str, *, sizes_only: bool = False) -> int:
    """An address: an integer, or a sum such as "A+2M+0x5000" where a VMA name
    stands for its start and NAME.end for its end."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise LayoutError(f"{key}: an address is an integer or a string such as \"A+2M+0x5000\", got {_tname(value)}")
    if isinstance(value, int):
        return value
    text = value.strip()
    if not text:
        raise LayoutError(f"{key}: empty address; give an integer or a sum such as \"A+2M+0x5000\"")
    total, pos, first = 0, 0, True
    while pos < len(text):
        m = _TERM.match(text, pos)
        if m is None or m.end() == pos or (not first and not m.group(1)):
            raise LayoutError(f"{key}: cannot read {value!r} at {text[pos:]!r}; accepted: hex or decimal numbers, sizes "
                              "with K/M/G/T, VMA names (their start) or NAME.end, joined by + or -")
        sign, term = m.group(1), m.group(2)
        total += -_term(term, vmas, key, value, sizes_only) if sign == "-" else _term(term, vmas, key, value, sizes_only)
        pos, first = m.end(), False
    return total


def _term(term: str, vmas: dict[str, Vma], key: str, value: str, sizes_only: bool) -> int:
    if term[0].isdigit():
        if term[:2].lower() == "0x":
            return int(term.replace("_", ""), 16)
        unit = term[-1]
        if unit in _SIZE_UNITS:
            return int(term[:-1].replace("_", "")) << _SIZE_UNITS[unit]
        return int(term.replace("_", ""))
    if sizes_only:
        raise LayoutError(f"{key}: {value!r} names {term!r}; a size is a number, optionally with K, M, G or T")
    name, _, end = term.partition(".")
    if name not in vmas:
        known = ", ".join(vmas) or "none yet"
        raise LayoutError(f"{key}: {value!r} names VMA {name!r}, which is not defined before it; VMAs defined: {known}")
    v = vmas[name]
    return v.end if end else v.start


def _tname(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array",
            dict: "a table"}.get(type(value), type(value).__name__)


# --- reading a layout from a scenario file's tables -------------------------------------------

VMA_KEYS = ("name", "start", "end", "size", "kind", "mm")
PATH_KEYS = ("op", "start", "end", "size", "vma", "new", "actor")
WALKER_LAYOUT_KEYS = ("address", "vma", "pause_before", "walk")


def _table(d: Any, key: str, accepted: tuple[str, ...]) -> dict:
    if not isinstance(d, dict):
        raise LayoutError(f"{key}: must be a table, got {_tname(d)}")
    for k in d:
        if k not in accepted:
            raise LayoutError(f"{key}: unknown key {k!r}; accepted: {', '.join(accepted)}")
    return d


def _range(d: dict, key: str, vmas: dict[str, Vma], *, allow_vma: bool = True) -> tuple[int, int]:
    """start with end or size, or vma = NAME for the whole VMA."""
    if allow_vma and "vma" in d:
        if any(k in d for k in ("start", "end", "size")):
            raise LayoutError(f"{key}: give either vma or start with end/size, not both")
        name = d["vma"]
        if not isinstance(name, str) or name not in vmas:
            raise LayoutError(f"{key}.vma: unknown VMA {name!r}; accepted: {', '.join(vmas)}")
        return vmas[name].start, vmas[name].end
    if "start" not in d:
        raise LayoutError(f"{key}: start is missing" + (" (or give vma = NAME for a whole VMA)" if allow_vma else ""))
    start = parse_address(d["start"], vmas, f"{key}.start")
    if ("end" in d) == ("size" in d):
        raise LayoutError(f"{key}: give exactly one of end and size")
    end = parse_address(d["end"], vmas, f"{key}.end") if "end" in d else start + parse_size(d["size"], f"{key}.size")
    if end <= start:
        raise LayoutError(f"{key}: the range [{start:#x}, {end:#x}) is empty or inverted")
    return start, end


def _aligned(start: int, end: int, align: int, key: str, why: str) -> None:
    if start % align or end % align:
        unit = "page (4K)" if align == PAGE_SIZE else "PMD (2M)"
        raise LayoutError(f"{key}: [{start:#x}, {end:#x}) is not {unit}-aligned; {why}")


def parse_vmas(items: Any, key: str = "vma") -> tuple[Vma, ...]:
    if not isinstance(items, list) or not items:
        raise LayoutError(f"{key}: give at least one [[vma]] table (name, start, end or size, kind)")
    vmas: dict[str, Vma] = {}
    for i, d in enumerate(items):
        k = f"{key}[{i}]"
        _table(d, k, VMA_KEYS)
        name = d.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise LayoutError(f"{k}.name: a VMA name is letters, digits and _ (starting with a letter), got {name!r}")
        if name in vmas:
            raise LayoutError(f"{k}.name: VMA {name!r} defined twice")
        start, end = _range(d, k, vmas, allow_vma=False)
        _aligned(start, end, PAGE_SIZE, k, "VMAs start and end on page boundaries")
        kind = d.get("kind", "anon")
        if kind not in VMA_KINDS:
            raise LayoutError(f"{k}.kind: unknown VMA kind {kind!r}; accepted: {', '.join(VMA_KINDS)}")
        for other in vmas.values():
            if other.mm == ("" if d.get("mm", "P") == "P" else "Q") and start < other.end and other.start < end:
                raise LayoutError(f"{k}: VMA {name} [{start:#x}, {end:#x}) overlaps VMA {other.name} "
                                  f"[{other.start:#x}, {other.end:#x})")
        mm = d.get("mm", "P")
        if mm not in ("P", "Q"):
            raise LayoutError(f"{k}.mm: a VMA belongs to process P (the walked one, the default) or Q, got {mm!r}")
        if mm == "Q" and kind != "hugetlb":
            raise LayoutError(f"{k}.mm: only a hugetlb VMA of process Q is modelled (it shares a PMD table with P)")
        vmas[name] = Vma(name, start, end, kind, mm="" if mm == "P" else mm)
    return tuple(sorted(vmas.values(), key=lambda v: v.start))


def vma_at(vmas: tuple[Vma, ...], addr: int) -> Vma | None:
    return next((v for v in vmas if v.contains(addr)), None)


def parse_paths(items: Any, vmas: tuple[Vma, ...], key: str = "path") -> tuple[PathSpec, ...]:
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not items:
        raise LayoutError(f"{key}: give at least one [[path]] table (op = {' | '.join(PATH_OPS)})")
    byname = {v.name: v for v in vmas}
    out: list[PathSpec] = []
    used: dict[str, int] = {}
    for i, d in enumerate(items):
        k = f"{key}[{i}]"
        _table(d, k, PATH_KEYS)
        op = d.get("op")
        if op not in PATH_OPS:
            raise LayoutError(f"{k}.op: unknown path {op!r}; accepted: {', '.join(PATH_OPS)}")
        start, end = _range(d, k, byname)
        spec = _check_path(op, start, end, d, byname, vmas, k)
        actor = d.get("actor")
        if actor is None:
            base = PATH_OPS[op][0]
            used[base] = used.get(base, 0) + 1
            actor = base if used[base] == 1 else f"{base}{used[base]}"
        if not isinstance(actor, str) or not _NAME.match(actor) or actor in ("walker", "rcu_gp", "rcu_cb", "rcu", "gp", "callbacks") \
                or re.fullmatch(r"(irq|cpu)\d+", actor):
            raise LayoutError(f"{k}.actor: {actor!r} cannot name a path; give letters, digits and _, not walker, cpuN, irqN or rcu_*")
        if any(p.actor == actor for p in out):
            raise LayoutError(f"{k}.actor: two paths are named {actor!r}; give each its own actor name")
        out.append(PathSpec(op, start, end, actor, spec))
    _check_vma_changes(out, vmas, key)
    return tuple(out)


def _check_path(op: str, start: int, end: int, d: dict, byname: dict[str, Vma], vmas: tuple[Vma, ...], k: str) -> int | None:
    covered = [v for v in vmas if v.start < end and start < v.end]
    if "new" in d and op != "mremap":
        raise LayoutError(f"{k}.new: only mremap takes a new address")
    if op in PATH_CHECKS:
        return PATH_CHECKS[op](start, end, d, vmas, k)
    if op.startswith("hugetlb_"):
        return _check_hugetlb_path(op, start, end, vmas, k)
    if op in ("munmap", "madvise"):
        _aligned(start, end, PAGE_SIZE, k, f"{op}() refuses an unaligned start (-EINVAL) and the model rounds nothing")
        if not covered:
            raise LayoutError(f"{k}: {op} of [{start:#x}, {end:#x}) covers no VMA")
        if op == "madvise":
            pos = start
            for v in covered:
                if v.start > pos:
                    raise LayoutError(f"{k}: madvise range [{start:#x}, {end:#x}) has a hole at {pos:#x}; "
                                      "MADV_DONTNEED over unmapped memory fails with -ENOMEM: give a range inside VMAs")
                pos = v.end
            if pos < end:
                raise LayoutError(f"{k}: madvise range [{start:#x}, {end:#x}) runs past the last VMA at {pos:#x}; give a range inside VMAs")
        return None
    if op in ("khugepaged_collapse", "retract_page_tables"):
        _aligned(start, end, PMD_SIZE, k, "a THP collapse works on whole PMD ranges")
        for at in range(start, end, PMD_SIZE):
            v = vma_at(vmas, at)
            if v is None or v.end < at + PMD_SIZE:
                raise LayoutError(f"{k}: the PMD range [{at:#x}, {at + PMD_SIZE:#x}) is not inside one VMA; "
                                  "khugepaged collapses only a PMD range a VMA maps whole (thp_vma_suitable_order())")
            if op == "retract_page_tables" and v.kind != "file":
                raise LayoutError(f"{k}: retract_page_tables needs a file VMA (it walks mapping->i_mmap); VMA {v.name} is anonymous")
            if op == "khugepaged_collapse" and v.kind != "anon":
                raise LayoutError(f"{k}: khugepaged_collapse is collapse_huge_page() for anonymous memory; VMA {v.name} is a file "
                                  "VMA (use retract_page_tables)")
        return None
    # mremap: a whole VMA, moved by whole PTE tables (move_normal_pmd()).
    whole = [v for v in vmas if v.start == start and v.end == end]
    if not whole:
        raise LayoutError(f"{k}: mremap of [{start:#x}, {end:#x}) must move one whole VMA (give vma = NAME); "
                          "moving part of a VMA is not modelled")
    if "new" not in d:
        raise LayoutError(f"{k}.new: mremap needs the new address")
    new = parse_address(d["new"], byname, f"{k}.new")
    _aligned(start, end, PMD_SIZE, k, "the model moves whole PTE tables (move_normal_pmd()); move_ptes() is not modelled")
    _aligned(new, new + (end - start), PMD_SIZE, f"{k}.new", "the model moves whole PTE tables (move_normal_pmd())")
    for v in vmas:
        if new < v.end and v.start < new + (end - start):
            raise LayoutError(f"{k}.new: the new range [{new:#x}, {new + end - start:#x}) overlaps VMA {v.name}; "
                              "give free address space (MREMAP_FIXED onto a mapping is not modelled)")
    return new


def _check_hugetlb_path(op: str, start: int, end: int, vmas: tuple[Vma, ...], k: str) -> None:
    from .geometry import PUD_SIZE

    _aligned(start, end, PMD_SIZE, k, "hugetlb pages are 2 MiB here")
    mm = "Q" if op == "hugetlb_reuse" else ""
    v = next((v for v in vmas if v.mm == mm and v.contains(start)), None)
    if v is None or v.kind != "hugetlb" or end > v.end:
        who = "Q's" if mm else "P's"
        raise LayoutError(f"{k}: {op} needs a range inside {who} hugetlb VMA")
    if op == "hugetlb_reuse" and start == v.start and end == v.end:
        # free_pgtables() → hugetlb_free_pgd_range() would free the PMD table
        # with the whole VMA: there would be nothing left for Q to reuse
        raise LayoutError(f"{k}: hugetlb_reuse over the whole VMA {v.name} frees its PMD table (free_pgtables()); "
                          "give a range that leaves part of the VMA mapped")
    shared = [x for x in vmas if x.kind == "hugetlb"]
    if sorted(x.mm for x in shared) != ["", "Q"] or any(x.start % PUD_SIZE or x.size != PUD_SIZE for x in shared):
        raise LayoutError(f"{k}: {op} needs two hugetlb VMAs, one of P and one of Q (mm = \"Q\"), each a whole "
                          "PUD-aligned GiB, so that huge_pmd_share() shares one PMD table")
    return None


def _check_vma_changes(paths: list[PathSpec], vmas: tuple[Vma, ...], key: str) -> None:
    touched: dict[str, str] = {}
    for p in paths:
        if p.op not in VMA_CHANGING and p.op != "retract_page_tables":
            continue
        for v in vmas:
            if v.start < p.end and p.start < v.end:
                if v.name in touched:
                    raise LayoutError(f"{key}: {touched[v.name]} and {p.actor} both change or collapse VMA {v.name}; "
                                      "two such paths on one VMA are not modelled (each would redo its VMA lookup under "
                                      "mmap_lock or i_mmap_rwsem): give them different VMAs")
                touched[v.name] = p.actor


def parse_walker_address(d: dict, vmas: tuple[Vma, ...], key: str = "walker") -> tuple[int, str]:
    byname = {v.name: v for v in vmas}
    if "address" not in d:
        raise LayoutError(f"{key}.address: the walked address is missing (e.g. address = \"A+2M+0x5000\")")
    addr = parse_address(d["address"], byname, f"{key}.address")
    inside = vma_at(vmas, addr)
    if "vma" in d:
        name = d["vma"]
        if name not in byname:
            raise LayoutError(f"{key}.vma: unknown VMA {name!r}; accepted: {', '.join(byname)}")
        if inside is None or inside.name != name:
            v = byname[name]
            raise LayoutError(f"{key}.address: {addr:#x} is outside the walked VMA {name} [{v.start:#x}, {v.end:#x})")
    if inside is None:
        raise LayoutError(f"{key}.address: {addr:#x} is outside every VMA; accepted: an address inside one of "
                          + ", ".join(f"{v.name} [{v.start:#x}, {v.end:#x})" for v in vmas))
    return addr, inside.name


def parse_faulted(items: Any, vmas: tuple[Vma, ...], key: str = "faulted") -> tuple[int, ...]:
    if not isinstance(items, list):
        raise LayoutError(f"{key}: must be an array of addresses, got {_tname(items)}")
    byname = {v.name: v for v in vmas}
    out = []
    for i, x in enumerate(items):
        addr = parse_address(x, byname, f"{key}[{i}]")
        if vma_at(vmas, addr) is None:
            raise LayoutError(f"{key}[{i}]: {addr:#x} is outside every VMA; a page can be faulted in only inside a VMA")
        out.append(addr & ~(PAGE_SIZE - 1))
    return tuple(out)


def parse_layout(d: dict, *, name: str, doc: str, key_prefix: str = "") -> Layout:
    """The layout part of a scenario file: [[vma]], faulted, [walker] address
    (and vma, pause_before), [[path]]."""
    p = key_prefix
    vmas = parse_vmas(d.get("vma"), p + "vma")
    walker = d.get("walker", {})
    if not isinstance(walker, dict):
        raise LayoutError(f"{p}walker: must be a table, got {_tname(walker)}")
    addr, walked = parse_walker_address(walker, vmas, p + "walker")
    walk = walker.get("walk", WALKS[0])
    if walk not in WALKS:
        raise LayoutError(f"{p}walker.walk: unknown walk {walk!r}; accepted: {', '.join(WALKS)}")
    pause = walker.get("pause_before", "pmdp_get_lockless")
    if pause not in PAUSE_LABELS:
        raise LayoutError(f"{p}walker.pause_before: unknown walk step {pause!r}; accepted: {', '.join(PAUSE_LABELS)}")
    faulted = parse_faulted(d.get("faulted", []), vmas, p + "faulted")
    paths = parse_paths(d.get("path"), vmas, p + "path")
    for path in paths:
        if path.op == "retract_page_tables":
            for i, page in enumerate(faulted):
                if path.start <= page < path.end:
                    raise LayoutError(f"{p}faulted[{i}]: page {page:#x} lies in [{path.start:#x}, {path.end:#x}), which "
                                      f"{path.actor} retracts: collapse_file() has already unmapped those PTEs, so none is faulted in")
    return Layout(name, doc, vmas, faulted, addr, walked, paths, pause, walk)


# --- the shipped layouts -----------------------------------------------------------


@lru_cache(maxsize=None)
def builtin_layout(action: str) -> Layout:
    """One of the seven built-in actions, from pagewalk_edu/scenarios/layouts/."""
    import tomllib
    import os

    # The package's own data file, read beside this module (cheaper at start-up
    # than importlib.resources, and the package is always installed unzipped).
    path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "scenarios", "layouts", f"{action}.toml")
    with open(path, encoding="utf-8") as f:
        d = tomllib.loads(f.read())
    return parse_layout(d, name=d["name"], doc=d["doc"])
