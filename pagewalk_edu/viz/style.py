"""Colours and line styles shared by the views: the Okabe–Ito palette, and a
line style per lifecycle so that the views read in greyscale too."""

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}

#: lifecycle -> (fill colour, graphviz style, border width, meaning)
LIFE_STYLE = {
    "live": ("#FFFFFF", "filled,solid", "1", "linked from its parent"),
    "detached": (OKABE_ITO["yellow"], "filled,dashed", "2", "unlinked, memory still valid"),
    "rcu_pending": (OKABE_ITO["sky"], "filled,dotted", "2", "freed after an RCU grace period"),
    "ipi_pending": (OKABE_ITO["orange"], "filled,dashed", "3", "freed once the IPIs in flight are answered"),
    "freed": (OKABE_ITO["vermillion"], "filled,bold", "3", "back in the page allocator"),
    "reused": (OKABE_ITO["purple"], "filled,diagonals", "3", "allocated again for something else"),
}

#: the entry the walker reads next ("◀ next"): a pale tint of Okabe-Ito green,
#: which no lifecycle fills with, inside a double blue frame, which no lifecycle
#: border uses; in greyscale it reads as a near-white row framed by two lines,
#: unlike rcu_pending's mid-grey dotted box.
CURSOR_FILL = "#CDEBE2"
CURSOR_EDGE = OKABE_ITO["blue"]

VERDICT_COLOUR = {
    "safe": OKABE_ITO["green"],
    "safe_but_stale": OKABE_ITO["yellow"],
    "unsafe": OKABE_ITO["vermillion"],
    "deadlock": OKABE_ITO["purple"],
}
VERDICT_HATCH = {"safe": "", "safe_but_stale": "..", "unsafe": "xx", "deadlock": "//"}
#: the hatch lines: dark on every verdict colour, so the pattern shows in greyscale
HATCH_INK = "#333333"


def tint(colour: str, white: float) -> str:
    """`colour` mixed with `white` parts of white (0 to 1), as #RRGGBB."""
    rgb = [int(colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4)]
    return "#" + "".join(f"{round(c + (255 - c) * white):02X}" for c in rgb)


#: the solid patch each verdict word sits on, in a chart: a pale tint of the
#: cell's colour, so the hatching stops at the word and black text reads on it
#: at a contrast far above 4.5:1 however the picture is turned grey (WCAG's
#: linear luminance, or a printer's plain luma: on the full-strength green the
#: two disagree, and black text passes one and fails the other)
VERDICT_LABEL_BACKING = {v: tint(c, 0.72) for v, c in VERDICT_COLOUR.items()}
VERDICT_LABEL_INK = "#000000"


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of a #RRGGBB colour (sRGB, linearised)."""
    channels = [int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_ratio(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours, 1 to 21; 4.5 is the floor for text.
    It depends on luminance only, so it holds in greyscale too."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_colour_on(fill: str) -> str:
    """Black or white, whichever reads better on `fill`."""
    return max(("#000000", "#FFFFFF"), key=lambda c: contrast_ratio(c, fill))
