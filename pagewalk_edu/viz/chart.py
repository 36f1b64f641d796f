"""A matplotlib Figure that a notebook shows as a picture with its alt text.

A bare `Figure()` (made without pyplot, as library code should) has no rich
repr, so Jupyter prints `<Figure size 920x320 with 1 Axes>`.  ChartFigure
gives it one: image/png and image/svg+xml, and text/plain holding the
state-specific text alternative; the SVG carries it as <title>/<desc>."""

from __future__ import annotations

import io
from html import escape

from matplotlib.figure import Figure


class ChartFigure(Figure):
    def __init__(self, *args, alt: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.alt = alt

    def svg_text(self) -> str:
        buf = io.StringIO()
        self.savefig(buf, format="svg")
        svg = buf.getvalue()
        start = svg.find("<svg")
        close = svg.find(">", start)
        title = escape(self.alt.split("\n")[0][:200])
        return (svg[:close].replace("<svg", '<svg role="img" aria-label="' + title + '"', 1) + ">"
                + f"<title>{title}</title><desc>{escape(self.alt)}</desc>" + svg[close + 1:])

    def png_bytes(self, dpi: int = 80) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=dpi)
        return buf.getvalue()

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"image/png": self.png_bytes(), "text/plain": self.alt or "a chart"}, {
            "image/png": {"alt": self.alt[:500]}}
