"""Shared pieces of the widgets: the config controls and cached explorer calls."""

from __future__ import annotations

from functools import cached_property, lru_cache
from html import escape

import ipywidgets as W

from ..explore.matrix import matrix
from ..explore.verdict import verdict
from ..kernel.config import CONFIG_KEYS, PROFILES, KernelConfig, parse_config_list
from ..kernel.scenario import FAULTS, WALKERS, Scenario


@lru_cache(maxsize=256)
def cached_verdict(scenario: Scenario):
    return verdict(scenario)


@lru_cache(maxsize=32)
def cached_matrix(config: KernelConfig, walker: str, fault: str | None, walk: str = "folio_walk_start",
                  patch: str | None = None):
    return matrix(config, walker, fault, walk=walk, patch=patch)


def message(text: str, kind: str = "info") -> str:
    """A message area's HTML: the text, and the note a page shows when no
    kernel answers (hidden by the front end while one does)."""
    from .frontend import no_kernel_note

    colour = {"info": "#0072B2", "error": "#9E3A00", "ok": "#00694D"}[kind]
    return f'<div role="status" style="color:{colour};min-height:1.4em">{escape(text)}{no_kernel_note()}</div>'


def choice(name: str, value, accepted) -> None:
    """A constructor argument that must be one of `accepted` strings: one-line TypeError/ValueError otherwise."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {', '.join(accepted)}; got {type(value).__name__}")
    if value not in accepted:
        raise ValueError(f"unknown {name} {value!r}; accepted: {', '.join(accepted)}")


class ConfigControls:
    """Kernel profile, config keys, fault and walker placement, as widgets."""

    def __init__(self, kernel: str = "6.18", walker: str = "local", fault: str | None = None,
                 overrides: dict | str | None = None):
        choice("kernel profile", kernel, tuple(PROFILES))
        choice("walker", walker, WALKERS)
        if fault is not None:
            choice("fault", fault, ("none", *FAULTS))
        if isinstance(overrides, str):
            overrides = parse_config_list(overrides)
        elif overrides is not None and not isinstance(overrides, dict):
            raise TypeError(f"config must be a dict such as {{'PT_RECLAIM': False}} or a string 'KEY=VAL,...', "
                            f"got {type(overrides).__name__}")
        cfg = KernelConfig.for_kernel(kernel, **(overrides or {}))
        short = {"description_width": "initial"}
        auto = W.Layout(width="auto")
        self.kernel = W.Dropdown(options=list(PROFILES), value=kernel, description="kernel", tooltip="kernel profile",
                                 style=short, layout=W.Layout(width="140px"))
        self.rcu_free = W.Checkbox(value=cfg.MMU_GATHER_RCU_TABLE_FREE, description="MMU_GATHER_RCU_TABLE_FREE", indent=False,
                                   layout=auto)
        self.pt_reclaim = W.Checkbox(value=cfg.PT_RECLAIM, description="PT_RECLAIM", indent=False, layout=auto)
        self.flush = W.Dropdown(options=["ipi", "broadcast"], value=cfg.TLB_FLUSH, description="TLB flush", style=short,
                                layout=W.Layout(width="190px"))
        self.fallback = W.Dropdown(options=["ipi", "synchronize_rcu"], value=cfg.TABLE_FREE_FALLBACK, description="fallback",
                                   tooltip="TABLE_FREE_FALLBACK: tlb_remove_table_one() without PT_RECLAIM", style=short,
                                   layout=W.Layout(width="230px"))
        self.levels = W.Dropdown(options=[4, 5], value=cfg.PGTABLE_LEVELS, description="levels", style=short,
                                 layout=W.Layout(width="120px"))
        # the two hugetlb keys of issue 12's sharing race; both non-default values are what-ifs or one release
        self.table_sync = W.Dropdown(options=["ipi", "elide_native"], value=cfg.TABLE_SYNC, description="TABLE_SYNC",
                                     tooltip="TABLE_SYNC: elide_native skips tlb_remove_table_sync_one()'s IPI on native "
                                             "x86 (Lance Yang's series: not in a release)", style=short,
                                     layout=W.Layout(width="230px"))
        self.unshare_sync = W.Dropdown(options=["after_flush", "in_unshare"], value=cfg.HUGETLB_UNSHARE_SYNC,
                                       description="HUGETLB_UNSHARE_SYNC",
                                       tooltip="where huge_pmd_unshare()'s sync IPI is sent: after the flush (6.18.y, 7.x) "
                                               "or inside huge_pmd_unshare() under the table's lock (v6.16 to v6.18.0 and stable kernels before the fix)",
                                       style=short, layout=W.Layout(width="290px"))
        self.fault = W.Dropdown(options=["none", *FAULTS], value=fault or "none", description="fault", style=short,
                                tooltip="an injected kernel event, not a page fault: batch_alloc_fail, tlb_remove_table() "
                                        "gets no batch page; gather_batch_full, the mmu_gather page batch is full (after "
                                        "~9,700 small pages on x86-64), so zap_pte_range() flushes under the ptl",
                                layout=W.Layout(width="250px"))
        self.walker = W.ToggleButtons(options=["local", "remote"], value=walker, description="walker", style={
                                          "description_width": "initial", "button_width": "72px"}, layout=auto,
                                      tooltips=["its CPU is in the walked mm's mm_cpumask: the mm's TLB-flush IPIs reach it",
                                                "its CPU is not in the walked mm's mm_cpumask: no flush IPI reaches it "
                                                "(like __access_remote_vm() on a CPU that has not run that mm lately)"])
        self.kernel.observe(self._profile, names="value")

    @cached_property
    def box(self) -> W.VBox:
        """The controls in rows, built when a widget shows them so (the Matrix; the
        Explorer groups them its own way): rows never shown would still be saved
        with a page's widget state."""
        return W.VBox([W.HBox([self.kernel, self.walker, self.fault]),
                       W.HBox([self.rcu_free, self.pt_reclaim, self.levels, self.flush, self.fallback]),
                       W.HBox([self.table_sync, self.unshare_sync])])

    def _profile(self, change) -> None:
        """A new profile sets every key to that release's default."""
        cfg = KernelConfig.for_kernel(change["new"])
        with self.hold():
            self.rcu_free.value = cfg.MMU_GATHER_RCU_TABLE_FREE
            self.pt_reclaim.value = cfg.PT_RECLAIM
            self.flush.value = cfg.TLB_FLUSH
            self.fallback.value = cfg.TABLE_FREE_FALLBACK
            self.levels.value = cfg.PGTABLE_LEVELS
            self.table_sync.value = cfg.TABLE_SYNC
            self.unshare_sync.value = cfg.HUGETLB_UNSHARE_SYNC

    _holding = False

    def hold(self):
        outer = self

        class _Hold:
            def __enter__(self):
                outer._holding = True

            def __exit__(self, *exc):
                outer._holding = False

        return _Hold()

    @property
    def widgets(self):
        return [self.kernel, self.rcu_free, self.pt_reclaim, self.flush, self.fallback, self.levels, self.table_sync, self.unshare_sync,
                self.fault, self.walker]

    def config(self) -> KernelConfig:
        """Raises ValueError (one line) on an impossible combination."""
        return KernelConfig(kernel=self.kernel.value, MMU_GATHER_RCU_TABLE_FREE=self.rcu_free.value,
                            PT_RECLAIM=self.pt_reclaim.value, TLB_FLUSH=self.flush.value,
                            TABLE_FREE_FALLBACK=self.fallback.value, PGTABLE_LEVELS=self.levels.value,
                            TABLE_SYNC=self.table_sync.value, HUGETLB_UNSHARE_SYNC=self.unshare_sync.value)

    def values(self) -> dict:
        """The config keys as the controls show them (KEY: value), for a widget that builds another."""
        c = self.config()
        return {k: getattr(c, k) for k in CONFIG_KEYS}

    def fault_value(self) -> str | None:
        return None if self.fault.value == "none" else self.fault.value
