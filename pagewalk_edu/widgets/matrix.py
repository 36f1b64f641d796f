"""The verdict matrix as a widget: pick a config and a walker, see every cell;
click one to open it in an Explorer."""

from __future__ import annotations

import ipywidgets as W

from ..explore.matrix import LABELS, PROTECTIONS, protection_label
from ..kernel.layout import WALKS
from ..kernel.scenario import ACTIONS
from ..kernel.walkers.assertions import PATCHES
from ..options import matrix_walks
from ..viz.style import VERDICT_COLOUR, text_colour_on
from .common import ConfigControls, cached_matrix, message
from .explorer import Explorer
from .frontend import KeyHelper, RunThisCell, close_tree, style

#: column headers short enough to fit a 1280-pixel screen; the full name is the tooltip
SHORT = {"munmap_adjacent": "munmap adjacent", "munmap_partial": "munmap partial", "madv_dontneed": "MADV_ DONTNEED",
         "khugepaged_collapse": "khugepaged collapse", "retract_page_tables": "retract page tables"}

#: The walk choice: each of `pagewalk-edu matrix --walk`'s walkers, then
#: folio_walk_start() with each `--patch` (label, (walk, patch)).
WALK_CHOICES = tuple((w, (w, None)) for w in WALKS) + tuple((f"{WALKS[0]}, patch {p}", (WALKS[0], p)) for p in PATCHES)
WALK_TOOLTIP = ("which walker the grid is for, as pagewalk-edu matrix --walk / --patch: folio_walk_start (mm/pagewalk.c), "
                "gup_fast (mm/gup.c: IRQs off, no lock of its own), or folio_walk_start(FW_VMA_LOCKED) of the "
                "June 2026 patch (not in a release)")


class MatrixWidget(RunThisCell, W.VBox):
    """Matrix(kernel, walker, fault, walk="folio_walk_start", patch=None): the
    verdict of every holder set against every action.  Attributes tests drive:
    `cfg` (ConfigControls), `walk` (the walk Dropdown, values (walk, patch)),
    `cells` {(holds, action): Button}; read: `matrix`, `explorer` (the Explorer
    opened by the last click), `message`."""

    def __init__(self, kernel: str = "6.18", walker: str = "local", fault: str | None = None, render: bool = True,
                 walk: str = "folio_walk_start", patch: str | None = None):
        self._render = render
        self.cfg = ConfigControls(kernel, walker, fault)
        if not isinstance(walk, str) or (patch is not None and not isinstance(patch, str)):
            raise TypeError(f"walk and patch are strings ({', '.join(WALKS)}; none or {', '.join(PATCHES)}), "
                            f"got {type(walk).__name__} and {type(patch).__name__}")
        patch = None if patch in ("", "none") else patch
        if "," in walk:
            raise ValueError(f"the Matrix shows one walker at a time; choose one of {', '.join(WALKS)}")
        matrix_walks(walk, walker, patch)  # the CLI's checks and words
        self.walk = W.Dropdown(options=list(WALK_CHOICES), value=(walk, patch), description="walk", tooltip=WALK_TOOLTIP,
                               style={"description_width": "initial"}, layout=W.Layout(width="330px"))
        self.grid = W.GridBox(layout=W.Layout(grid_template_columns=f"118px repeat({len(ACTIONS)}, 96px)", grid_gap="3px"))
        self.message = W.HTML(message(""))
        self.explorer_box = W.VBox()
        self.explorer: Explorer | None = None
        self.cells: dict = {}
        for w in self.cfg.widgets + [self.walk]:
            w.observe(self._changed, names="value")
        self.frontend = KeyHelper(lambda _cmd: None)
        scroll = W.Box([self.grid])
        scroll.add_class("pw-matrix-scroll")
        super().__init__([style(), W.HBox([self.walk]), self.cfg.box, self.message, self.frontend, scroll,
                          self.explorer_box])
        self.add_class("pw-root")
        self.refresh()

    def _changed(self, _change) -> None:
        if not self.cfg._holding:
            self.refresh()

    def _settings(self):
        """(config, walker, fault, walk, patch) as shown; ValueError/TypeError (one line) when impossible."""
        walk, patch = self.walk.value
        cfg = self.cfg.config()
        walker = self.cfg.walker.value
        matrix_walks(walk, walker, patch)
        return cfg, walker, self.cfg.fault_value(), walk, patch

    def refresh(self) -> None:
        try:
            cfg, walker, fault, walk, patch = self._settings()
            m = cached_matrix(cfg, walker, fault, walk, patch)
        except (ValueError, TypeError) as err:
            self.message.value = message(str(err).splitlines()[0], "error")
            for b in self.cells.values():  # the grid shown is for the previous settings
                b.disabled = True
            return
        self.matrix = m
        children = [W.HTML('<div class="pw-matrix-head">walker holds</div>')] + [
            W.HTML(f'<div class="pw-matrix-head" title="{a}">{SHORT.get(a, a)}</div>') for a in ACTIONS]
        self.cells = {}
        # every holder row, for every walker, as `pagewalk-edu matrix --walk` prints it: a row is
        # what the walker's caller holds around the walk (kernel/walkers/caller.py), gup_fast too
        for holds in PROTECTIONS:
            children.append(W.HTML(protection_label(holds)))
            for action in ACTIONS:
                v = m.get(tuple(holds), action)
                b = W.Button(description=LABELS[v.verdict], tooltip=f"{protection_label(holds)} + {action}: {v.verdict}. {v.why[0] if v.why else ''}",
                             layout=W.Layout(width="94px"))
                b.style.button_color = VERDICT_COLOUR[v.verdict]
                b.style.text_color = text_colour_on(VERDICT_COLOUR[v.verdict])
                b.on_click(lambda _b, h=tuple(holds), a=action: self.open_cell(h, a))
                self.cells[(tuple(holds), action)] = b
                children.append(b)
        old, self.grid.children = self.grid.children, children
        close_tree(*old)  # a dropped cell would stay alive in the kernel and in every reopened page
        name = next(label for label, value in WALK_CHOICES if value == (walk, patch))
        note = (" gup_fast takes no lock of its own (local_irq_save() only): a row is what its caller holds around it."
                if walk == "gup_fast" else "")
        self.message.value = message(f"{name}; {walker} walker; {cfg.describe()}.{note} Click a cell to explore it.")

    def open_cell(self, holds, action) -> None:
        """An Explorer on the cell's own scenario: its holders, action, config and walk."""
        try:
            settings = self._settings()
        except (ValueError, TypeError) as err:
            self.message.value = message(str(err).splitlines()[0], "error")
            return
        del settings  # valid, so the grid shown (refreshed on every change) is for them
        old = self.explorer
        self.explorer = Explorer(scenario=self.matrix.get(tuple(holds), action).scenario, render=self._render)
        self.explorer_box.children = [self.explorer]
        if old is not None:
            old.close()  # the one it replaces: a dropped Explorer would stay alive in the kernel
