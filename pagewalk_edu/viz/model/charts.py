"""What the verdict matrix and the tables chart draw, as plain data."""

from __future__ import annotations

from dataclasses import dataclass

from ...kernel.geometry import fmt_size


@dataclass(frozen=True, slots=True)
class Cell:
    row: int
    col: int
    verdict: str  # safe, safe_but_stale, unsafe, deadlock
    word: str  # "safe", "stale", "UNSAFE", "DEADLOCK"
    why: str


@dataclass(frozen=True, slots=True)
class MatrixModel:
    title: str
    rows: tuple[str, ...]  # "none", "vma_lock+rcu"
    cols: tuple[str, ...]  # actions
    cells: tuple[Cell, ...]
    alt: str


def matrix_model(m) -> MatrixModel:
    from ...explore.matrix import LABELS, protection_label

    rows = tuple(protection_label(h) for h in m.rows)
    cells = []
    for r, holds in enumerate(m.rows):
        for c, action in enumerate(m.actions):
            v = m.get(holds, action)
            cells.append(Cell(r, c, v.verdict, LABELS[v.verdict], v.why[0] if v.why else ""))
    fault = f", fault {m.fault}" if m.fault else ""
    walk = m.walk + (f" with patch {m.patch} (not in a release)" if m.patch else "")
    title = f"{walk}, {m.walker} walker; {m.config.describe()}{fault}"
    alt = f"Verdict matrix, {title}.\n" + m.text()
    return MatrixModel(title, rows, tuple(m.actions), tuple(cells), alt)


@dataclass(frozen=True, slots=True)
class Bar:
    step: int
    op: str
    predicted: int  # bytes
    measured: int | None
    mismatch: bool


@dataclass(frozen=True, slots=True)
class TablesModel:
    title: str
    bars: tuple[Bar, ...]
    alt: str


def tables_model(results) -> TablesModel:
    bars = []
    lines = []
    for i, r in enumerate(results, 1):
        real = r.real_page_table_bytes
        bars.append(Bar(i, r.op, r.page_table_bytes, real, real is not None and real != r.page_table_bytes))
        kernel = "" if real is None else f", kernel {fmt_size(real) or 0}"
        lines.append(f"step {i} {r.description}: simulator {fmt_size(r.page_table_bytes) if r.page_table_bytes else '0'}{kernel}")
    text = "\n".join(lines)
    return TablesModel("Page-table bytes after each step", tuple(bars), "Page-table bytes after each step.\n" + text)
