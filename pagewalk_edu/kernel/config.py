"""Kernel configurations and release profiles: mm/Kconfig, mm/mmu_gather.c, arch/x86/Kconfig.

A verdict depends on the kernel: whether page tables are freed through RCU
(CONFIG_MMU_GATHER_RCU_TABLE_FREE), whether MADV_DONTNEED reclaims empty PTE
tables (CONFIG_PT_RECLAIM), how TLBs are flushed (IPIs to the mm's CPUs, or a
broadcast instruction such as AMD INVLPGB that sends no IPI), and what
tlb_remove_table_one() does when mmu_gather cannot allocate its batch page,
and whether tlb_remove_table_sync_one() may skip its IPI (TABLE_SYNC).

Some settings are what-ifs that no released x86 kernel has; what_ifs() names
them, and describe() (which every verdict, trace and matrix prints) says so.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, fields, replace

#: The releases the model knows, newest last.
PROFILES: dict[str, dict[str, object]] = {
    # v6.18 (LTS): every x86 kernel since v6.15 has MMU_GATHER_RCU_TABLE_FREE=y
    # (commit a37259732a7d made it unconditional; before it, 718b13861d22 had moved
    # native x86's PT_RECLAIM single-table fallback to tlb_remove_table(), v6.14).
    # The batch-allocation fallback without PT_RECLAIM is tlb_remove_table_sync_one(),
    # an IPI to every other CPU, then an immediate free.
    "6.18": {
        "MMU_GATHER_RCU_TABLE_FREE": True,
        "PT_RECLAIM": True,
        "TLB_FLUSH": "ipi",
        "TABLE_FREE_FALLBACK": "ipi",
        "PGTABLE_LEVELS": 4,
        "TABLE_SYNC": "ipi",
        "HUGETLB_UNSHARE_SYNC": "after_flush",
    },
    # v7.1: commit 1fb3d8c20bfa replaced that IPI with tlb_remove_table_sync_rcu(),
    # i.e. synchronize_rcu(), then the free.
    "7.1": {
        "MMU_GATHER_RCU_TABLE_FREE": True,
        "PT_RECLAIM": True,
        "TLB_FLUSH": "ipi",
        "TABLE_FREE_FALLBACK": "synchronize_rcu",
        "PGTABLE_LEVELS": 4,
        "TABLE_SYNC": "ipi",
        "HUGETLB_UNSHARE_SYNC": "after_flush",
    },
}
DEFAULT_KERNEL = "6.18"

_BOOL_KEYS = ("MMU_GATHER_RCU_TABLE_FREE", "PT_RECLAIM")
_CHOICES: dict[str, tuple[object, ...]] = {
    "TLB_FLUSH": ("ipi", "broadcast"),
    "TABLE_FREE_FALLBACK": ("ipi", "synchronize_rcu"),
    "PGTABLE_LEVELS": (4, 5),
    # Lance Yang's "skip redundant sync IPIs" series (mm-unstable, 2026):
    # tlb_table_flush_implies_ipi_broadcast() lets tlb_remove_table_sync_one() and
    # tlb_remove_table_sync_rcu() return at once on native x86 without INVLPGB.
    "TABLE_SYNC": ("ipi", "elide_native"),
    # Where huge_pmd_unshare()'s sync IPI is sent: after the TLB flush in
    # huge_pmd_unshare_flush() (David Hildenbrand's fix: v7.0, 6.18.y, 6.12.y, 6.6.y, 6.1.y), or inside
    # huge_pmd_unshare() with the PMD table's lock held (1013af4f585f: v6.16 to v6.18.0, and the
    # stable kernels it was backported to, until David Hildenbrand's fix reached them).
    "HUGETLB_UNSHARE_SYNC": ("after_flush", "in_unshare"),
}
CONFIG_KEYS = _BOOL_KEYS + tuple(_CHOICES)


@dataclass(frozen=True, slots=True)
class KernelConfig:
    """One kernel's configuration as the simulator uses it."""

    kernel: str = DEFAULT_KERNEL
    MMU_GATHER_RCU_TABLE_FREE: bool = True
    PT_RECLAIM: bool = True
    TLB_FLUSH: str = "ipi"
    TABLE_FREE_FALLBACK: str = "ipi"
    PGTABLE_LEVELS: int = 4
    TABLE_SYNC: str = "ipi"
    HUGETLB_UNSHARE_SYNC: str = "after_flush"

    def __post_init__(self) -> None:
        self._normalise()
        if self.kernel not in PROFILES:
            raise ValueError(
                f"unknown kernel profile {self.kernel!r}; accepted: {', '.join(PROFILES)}"
            )
        for key in _BOOL_KEYS:
            if not isinstance(getattr(self, key), bool):
                raise TypeError(f"{key} must be a bool, got {getattr(self, key)!r}")
        for key, allowed in _CHOICES.items():
            if getattr(self, key) not in allowed:
                raise ValueError(
                    f"{key} must be one of {', '.join(map(str, allowed))}, got {getattr(self, key)!r}"
                )
        # mm/Kconfig: PT_RECLAIM depends on MMU_GATHER_RCU_TABLE_FREE (it selected
        # it when introduced); PT_RECLAIM=y implies RCU table free, never the reverse.
        if self.PT_RECLAIM and not self.MMU_GATHER_RCU_TABLE_FREE:
            raise ValueError(
                "PT_RECLAIM=y needs MMU_GATHER_RCU_TABLE_FREE=y (mm/Kconfig: PT_RECLAIM "
                "depends on it); set PT_RECLAIM=n too"
            )

    def _normalise(self) -> None:
        """What the files can write back: a numpy integer becomes an int, a str
        subclass a str; a float level (5.0) is refused rather than saved as a
        number a loaded file would not accept."""
        for key in ("kernel", "TLB_FLUSH", "TABLE_FREE_FALLBACK"):
            value = getattr(self, key)
            if not isinstance(value, str):
                accepted = ", ".join(PROFILES) if key == "kernel" else ", ".join(map(str, _CHOICES[key]))
                raise TypeError(f"{key} must be a string ({accepted}), got {type(value).__name__}")
            if type(value) is not str:
                object.__setattr__(self, key, str(value))
        levels = self.PGTABLE_LEVELS
        if isinstance(levels, bool) or isinstance(levels, float) or not isinstance(levels, numbers.Integral):
            if isinstance(levels, (bool, float)):
                raise TypeError(f"PGTABLE_LEVELS must be the integer 4 or 5, got {levels!r} "
                                f"(a {type(levels).__name__})")
            return  # the choice check below names what is accepted
        object.__setattr__(self, "PGTABLE_LEVELS", int(levels))

    @classmethod
    def for_kernel(cls, kernel: str = DEFAULT_KERNEL, **overrides: object) -> "KernelConfig":
        """The profile of `kernel`, with explicit keys overriding it.

        Turning MMU_GATHER_RCU_TABLE_FREE off without naming PT_RECLAIM also turns
        PT_RECLAIM off, as Kconfig's `depends on` would.
        """
        if kernel not in PROFILES:
            raise ValueError(
                f"unknown kernel profile {kernel!r}; accepted: {', '.join(PROFILES)}"
            )
        unknown = [k for k in overrides if k not in CONFIG_KEYS]
        if unknown:
            raise ValueError(
                f"unknown config key {unknown[0]!r}; accepted: {', '.join(CONFIG_KEYS)}"
            )
        values = dict(PROFILES[kernel])
        values.update(overrides)
        if overrides.get("MMU_GATHER_RCU_TABLE_FREE") is False and "PT_RECLAIM" not in overrides:
            values["PT_RECLAIM"] = False
        return cls(kernel=kernel, **values)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def what_ifs(self) -> tuple[str, ...]:
        """The settings of this config that no released x86 kernel of this
        profile has, one sentence each (kernel-facts: mm/Kconfig, arch/x86/Kconfig)."""
        out = []
        if not self.MMU_GATHER_RCU_TABLE_FREE:
            out.append("what-if: MMU_GATHER_RCU_TABLE_FREE=n is no x86 kernel since v6.15 (commit a37259732a7d made it "
                       "unconditional); it stands for other architectures or older x86")
        if not self.PT_RECLAIM and self.kernel != "6.18" and self.MMU_GATHER_RCU_TABLE_FREE:
            out.append(f"what-if: PT_RECLAIM=n on {self.kernel} is a powerpc/sparc case (HAVE_ARCH_TLB_REMOVE_TABLE); "
                       "on x86 since v7.0 PT_RECLAIM is def_bool y with RCU table freeing")
        if self.HUGETLB_UNSHARE_SYNC == "in_unshare" and self.kernel != "6.18":
            out.append(f"what-if: HUGETLB_UNSHARE_SYNC=in_unshare is huge_pmd_unshare() of v6.16 to v6.18.0, not {self.kernel}'s "
                       "(David Hildenbrand's fix moved the sync IPI after the flush in v7.0)")
        if self.TABLE_FREE_FALLBACK == "synchronize_rcu" and self.kernel == "6.18":
            out.append("what-if: TABLE_FREE_FALLBACK=synchronize_rcu is not 6.18's tlb_remove_table_one() "
                       "(commit 1fb3d8c20bfa replaced the IPI with synchronize_rcu() in v7.1)")
        if self.TABLE_FREE_FALLBACK == "ipi" and self.kernel != "6.18":
            out.append(f"what-if: TABLE_FREE_FALLBACK=ipi is the fallback before v7.1, not {self.kernel}'s "
                       "(commit 1fb3d8c20bfa waits in synchronize_rcu() instead)")
        if self.TABLE_SYNC == "elide_native":
            out.append("what-if: TABLE_SYNC=elide_native (Lance Yang's series skipping the sync IPI on native x86) "
                       "is not in a release")
        return tuple(out)

    def describe(self) -> str:
        """One line naming the profile and every key, as verdicts print it, and
        each what-if setting (what_ifs())."""
        parts = []
        for key in CONFIG_KEYS:
            value = getattr(self, key)
            if isinstance(value, bool):
                value = "y" if value else "n"
            parts.append(f"{key}={value}")
        line = f"kernel {self.kernel}: " + ", ".join(parts)
        for w in self.what_ifs():
            line += f" [{w}]"
        return line

    def with_(self, **changes: object) -> "KernelConfig":
        return replace(self, **changes)


def parse_config_value(key: str, text: str) -> object:
    """Parse the VAL of one KEY=VAL pair (y/n for booleans; choices in any case,
    returned as the canonical value: IPI gives 'ipi')."""
    if key not in CONFIG_KEYS:
        raise ValueError(f"unknown config key {key!r}; accepted: {', '.join(CONFIG_KEYS)}")
    if key in _BOOL_KEYS:
        low = text.strip().lower()
        if low in ("y", "yes", "1", "true", "on"):
            return True
        if low in ("n", "no", "0", "false", "off"):
            return False
        raise ValueError(f"{key} takes y or n, got {text!r}")
    allowed = _CHOICES[key]
    for choice in allowed:
        if str(choice).lower() == text.strip().lower():  # TLB_FLUSH=IPI is ipi
            return choice
    raise ValueError(f"{key} takes {' or '.join(map(str, allowed))}, got {text!r}")


def parse_config_list(text: str | None) -> dict[str, object]:
    """Parse `KEY=VAL,KEY=VAL` (the CLI's --config); empty or None gives {}."""
    if text is None or not text.strip():
        return {}
    result: dict[str, object] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            raise ValueError(f"empty item in --config {text!r}; expected KEY=VAL,KEY=VAL")
        if "=" not in item:
            raise ValueError(f"malformed config item {item!r}; expected KEY=VAL")
        key, _, value = item.partition("=")
        key = key.strip().upper().removeprefix("CONFIG_")
        if key in result:
            raise ValueError(f"config key {key} given twice")
        result[key] = parse_config_value(key, value)
    return result
