"""The verdict matrix as a widget: pick a config, see every cell; click one to
open it in an Explorer."""

from __future__ import annotations

import ipywidgets as W

from ..explore.matrix import LABELS, PROTECTIONS, protection_label
from ..kernel.scenario import ACTIONS
from ..viz.style import VERDICT_COLOUR
from .common import ConfigControls, cached_matrix, message
from .explorer import Explorer
from .frontend import KeyHelper, RunThisCell, close_tree, style

#: column headers short enough to fit a 1280-pixel screen; the full name is the tooltip
SHORT = {"munmap_adjacent": "munmap adjacent", "munmap_partial": "munmap partial", "madv_dontneed": "MADV_ DONTNEED",
         "khugepaged_collapse": "khugepaged collapse", "retract_page_tables": "retract page tables"}


class MatrixWidget(RunThisCell, W.VBox):
    """Attributes tests drive: `cfg` (ConfigControls), `cells` {(holds, action): Button},
    read: `explorer` (the Explorer opened by the last click), `message`."""

    def __init__(self, kernel: str = "6.18", walker: str = "local", fault: str | None = None, render: bool = True):
        self._render = render
        self.cfg = ConfigControls(kernel, walker, fault)
        self.grid = W.GridBox(layout=W.Layout(grid_template_columns=f"118px repeat({len(ACTIONS)}, 96px)", grid_gap="3px"))
        self.message = W.HTML(message(""))
        self.explorer_box = W.VBox()
        self.explorer: Explorer | None = None
        self.cells: dict = {}
        for w in self.cfg.widgets:
            w.observe(self._changed, names="value")
        self.frontend = KeyHelper(lambda _cmd: None)
        scroll = W.Box([self.grid])
        scroll.add_class("pw-matrix-scroll")
        super().__init__([style(), self.cfg.box, self.message, self.frontend, scroll, self.explorer_box])
        self.add_class("pw-root")
        self.refresh()

    def _changed(self, _change) -> None:
        if not self.cfg._holding:
            self.refresh()

    def refresh(self) -> None:
        try:
            cfg = self.cfg.config()
            m = cached_matrix(cfg, self.cfg.walker.value, self.cfg.fault_value())
        except (ValueError, TypeError) as err:
            self.message.value = message(str(err).splitlines()[0], "error")
            for b in self.cells.values():  # the grid shown is for the previous config
                b.disabled = True
            return
        self.matrix = m
        children = [W.HTML('<div class="pw-matrix-head">walker holds</div>')] + [
            W.HTML(f'<div class="pw-matrix-head" title="{a}">{SHORT.get(a, a)}</div>') for a in ACTIONS]
        self.cells = {}
        for holds in PROTECTIONS:
            children.append(W.HTML(protection_label(holds)))
            for action in ACTIONS:
                v = m.get(tuple(holds), action)
                b = W.Button(description=LABELS[v.verdict], tooltip=f"{protection_label(holds)} + {action}: {v.verdict}. {v.why[0] if v.why else ''}",
                             layout=W.Layout(width="94px"))
                b.style.button_color = VERDICT_COLOUR[v.verdict]
                b.on_click(lambda _b, h=tuple(holds), a=action: self.open_cell(h, a))
                self.cells[(tuple(holds), action)] = b
                children.append(b)
        old, self.grid.children = self.grid.children, children
        close_tree(*old)  # a dropped cell would stay alive in the kernel and in every reopened page
        self.message.value = message(f"{self.cfg.walker.value} walker; {cfg.describe()}. Click a cell to explore it.")

    def open_cell(self, holds, action) -> None:
        try:
            self.cfg.config()
        except (ValueError, TypeError) as err:
            self.message.value = message(str(err).splitlines()[0], "error")
            return
        old = self.explorer
        self.explorer = Explorer(holds, action, self.cfg.kernel.value, self.cfg.walker.value, self.cfg.fault_value(),
                                 config=self.cfg.values(), render=self._render)
        self.explorer_box.children = [self.explorer]
        if old is not None:
            old.close()  # the one it replaces: a dropped Explorer would stay alive in the kernel
