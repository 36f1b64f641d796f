"""Write the tree and timeline of a trace's last step (pagewalk-edu trace --svg/--png)."""

from __future__ import annotations

from pathlib import Path

from ..kernel.sim import Trace
from .timeline import timeline
from .tree import tree


def write_views(trace: Trace, target: str, fmt: str) -> list[str]:
    if fmt not in ("svg", "png"):
        raise ValueError(f"format must be svg or png, got {fmt!r}")
    base = Path(target)
    if base.suffix.lower() == f".{fmt}":
        base = base.with_suffix("")
    if not base.parent.exists():
        raise ValueError(f"cannot write {target}: folder {base.parent} does not exist")
    tree_path = base.parent / f"{base.name}-tree.{fmt}"
    timeline_path = base.parent / f"{base.name}-timeline.{fmt}"
    data = tree(trace.ctx, trace.last).pipe(format=fmt)
    tree_path.write_bytes(data)
    fig = timeline(trace, current=len(trace.states) - 1)
    fig.savefig(timeline_path, format=fmt, dpi=100)
    return [str(tree_path), str(timeline_path)]
