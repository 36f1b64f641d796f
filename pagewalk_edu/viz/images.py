"""Views as images a notebook shows anywhere (image/svg+xml with alt text),
built in pure Python: no `dot`, no matplotlib."""

from __future__ import annotations

from .model.timeline import timeline_model
from .svg.timeline import timeline_image as _timeline_image


def timeline_image(trace, current: int | None = None, *, width: int = 860):
    """The timeline of `trace` with step `current` marked, as an SvgImage."""
    from ..kernel.sim import Trace

    if not isinstance(trace, Trace):
        raise TypeError(f"timeline_image() takes a Trace (from run(...)), got {type(trace).__name__}")
    return _timeline_image(timeline_model(trace, current), width=width)
