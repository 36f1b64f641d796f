"""Write the tree and timeline of a trace's last step (pagewalk-edu trace --svg/--png)."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

from ..files import write_atomic
from ..kernel.sim import Trace
from .timeline import timeline
from .tree import dot_svg, tree


def view_paths(target: str, fmt: str) -> tuple[Path, Path]:
    """The two files write_views() writes for `target`: TARGET-tree.FMT and
    TARGET-timeline.FMT (a .FMT ending on TARGET is dropped first)."""
    if fmt not in ("svg", "png"):
        raise ValueError(f"format must be svg or png, got {fmt!r}")
    base = Path(target)
    if base.suffix.lower() == f".{fmt}":
        base = base.with_suffix("")
    return base.parent / f"{base.name}-tree.{fmt}", base.parent / f"{base.name}-timeline.{fmt}"


def write_views(trace: Trace, target: str, fmt: str, *, overwrite: bool = False) -> list[str]:
    """Write the two files of view_paths(); an existing one is replaced only
    with overwrite=True (FileExistsError otherwise), a directory never."""
    if not isinstance(trace, Trace):
        raise TypeError(f"write_views() takes a Trace (from run(...)), got {type(trace).__name__}")
    tree_path, timeline_path = view_paths(target, fmt)
    if Path(target).is_dir():
        raise ValueError(f"cannot write {target}: it is a directory; give a file name such as {Path(target) / 'step'}")
    if not tree_path.parent.exists():
        raise ValueError(f"cannot write {target}: folder {tree_path.parent} does not exist")
    for path in (tree_path, timeline_path):
        if path.is_dir():
            raise ValueError(f"cannot write {path}: it is a directory")
        if path.exists() and not overwrite:
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path))
    last = len(trace.states) - 1
    if fmt == "svg":  # with <title>/<desc>: the state's text alternative
        data = dot_svg(trace.ctx, trace.last, trace=trace, index=last).encode("utf-8")
    else:
        data = tree(trace.ctx, trace.last, trace=trace, index=last).pipe(format=fmt)
    fig = timeline(trace, current=last)
    image = io.BytesIO(fig.svg_text().encode("utf-8")) if fmt == "svg" else io.BytesIO()
    if fmt != "svg":
        fig.savefig(image, format=fmt, dpi=100)
    # both drawn before either is written; each written whole or not at all (files.write_atomic)
    write_atomic(tree_path, data, overwrite=overwrite)
    write_atomic(timeline_path, image.getvalue(), overwrite=overwrite)
    return [str(tree_path), str(timeline_path)]
