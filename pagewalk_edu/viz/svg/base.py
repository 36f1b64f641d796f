"""Small helpers for the pure-Python SVG renderers: escaping, text widths
(fixed-pitch fonts, so a width is a character count), the accessible header,
and an image object that Jupyter displays as image/svg+xml with its alt text."""

from __future__ import annotations

from html import escape

FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace"
SIZE = 13  # px: no text in a view is smaller than 12 px
CHAR = 0.61  # advance of a monospace glyph, in em


def text_width(text: str, size: float = SIZE) -> float:
    return len(text) * size * CHAR


def esc(text) -> str:
    return escape(str(text), quote=True)


def text(x: float, y: float, s: str, *, size: float = SIZE, anchor: str = "start", weight: str = "normal",
         fill: str = "#111", style: str = "", cls: str = "") -> str:
    extra = f' font-style="{style}"' if style else ""
    extra += f' class="{cls}"' if cls else ""
    w = ' font-weight="bold"' if weight == "bold" else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}"{w}{extra}>'
            f"{esc(s)}</text>")


def document(width: float, height: float, body: list[str], *, title: str, desc: str, cls: str) -> str:
    """An SVG document: role img, named by its <title>, described by <desc>."""
    w, h = int(width + 0.5), int(height + 0.5)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="{cls}" role="img" aria-labelledby="{cls}-title {cls}-desc" '
            f'width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="{FONT}" font-size="{SIZE}">'
            f'<title id="{cls}-title">{esc(title)}</title><desc id="{cls}-desc">{esc(desc)}</desc>'
            + "".join(body) + "</svg>")


class SvgImage:
    """An SVG picture with its text alternative.  Jupyter shows it as an image
    (image/svg+xml) and text/plain carries the alt text, so a notebook saved
    with its outputs holds the picture, not a Python repr."""

    def __init__(self, svg: str, alt: str):
        self.svg = svg
        self.alt = alt

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"image/svg+xml": self.svg, "text/plain": self.alt}

    def __str__(self) -> str:
        return self.svg
