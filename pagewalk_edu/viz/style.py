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
