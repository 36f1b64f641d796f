"""What the running kernel is built and booted with, as far as page-table bytes
care: CONFIG_PT_RECLAIM (mm/Kconfig), the paging depth (CONFIG_PGTABLE_LEVELS,
and whether LA57 is in use: arch/x86/Kconfig, arch/x86/kernel/head64.c) and
the THP mode (/sys/kernel/mm/transparent_hugepage/enabled).  Also: which
config the prediction uses, said in words, and why a kernel may disagree.
"""

from __future__ import annotations

import gzip
import os
import platform
import re
from dataclasses import dataclass, field

from ..kernel.config import KernelConfig, parse_config_list

PROFILE = "6.18"
#: The release whose mm/Kconfig introduced PT_RECLAIM (x86-64 first).
PT_RECLAIM_SINCE = (6, 14)


@dataclass(frozen=True)
class RunningKernel:
    release: str
    config_path: str | None  # where the kernel config was read, if anywhere
    config: dict[str, str] = field(default_factory=dict)  # CONFIG_X -> "y", "n", "5" ...
    thp: str | None = None  # always / madvise / never; None: no THP in this kernel
    la57: bool = False  # the CPU flag (the kernel clears it when it does not use 5-level paging)
    virtual_bits: int | None = None  # from /proc/cpuinfo "address sizes"

    @property
    def levels(self) -> int:
        """Paging levels in use at run time: 5 only with LA57 on.  A kernel built
        with CONFIG_PGTABLE_LEVELS=5 still runs 4-level on a CPU without LA57 (or
        with no5lvl), and then clears the la57 flag that /proc/cpuinfo shows."""
        return 5 if self.la57 else 4

    @property
    def pt_reclaim(self) -> bool | None:
        """CONFIG_PT_RECLAIM, or None when no config could be read."""
        if self.config_path is None:
            return None
        return self.config.get("CONFIG_PT_RECLAIM") == "y"

    @property
    def version(self) -> tuple[int, int] | None:
        m = re.match(r"(\d+)\.(\d+)", self.release)
        return (int(m.group(1)), int(m.group(2))) if m else None


def parse_kconfig(text: str) -> dict[str, str]:
    """`CONFIG_X=y` lines and `# CONFIG_X is not set` lines (as "n")."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("CONFIG_") and "=" in line:
            key, _, value = line.partition("=")
            values[key] = value.strip().strip('"')
        elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
            values[line[2:-len(" is not set")]] = "n"
    return values


def read_kernel_config(release: str | None = None) -> tuple[str | None, dict[str, str]]:
    """(where it was read, values) from /proc/config.gz or /boot/config-<release>."""
    release = release or platform.release()
    for path in ("/proc/config.gz", f"/boot/config-{release}"):
        try:
            if path.endswith(".gz"):
                with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
                    text = f.read()
            else:
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
        except (OSError, EOFError, gzip.BadGzipFile):
            continue
        return path, parse_kconfig(text)
    return None, {}


def thp_mode(path: str = "/sys/kernel/mm/transparent_hugepage/enabled") -> str | None:
    """The bracketed word of `always [madvise] never`; None if absent."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None
    m = re.search(r"\[(\w+)\]", text)
    return m.group(1) if m else None


def cpu_paging(path: str = "/proc/cpuinfo") -> tuple[bool, int | None]:
    """(la57 flag present, virtual address bits) from the first CPU listed."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read(1 << 16)
    except OSError:
        return False, None
    la57 = False
    m = re.search(r"^flags\s*:(.*)$", text, re.MULTILINE)
    if m:
        la57 = "la57" in m.group(1).split()
    bits = re.search(r"address sizes\s*:.*?(\d+) bits virtual", text)
    return la57, int(bits.group(1)) if bits else None


def running_kernel() -> RunningKernel:
    release = platform.release()
    where, values = read_kernel_config(release)
    la57, bits = cpu_paging()
    return RunningKernel(release, where, values, thp_mode(), la57, bits)


# --- the config the prediction uses ----------------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    config: KernelConfig
    notes: tuple[str, ...]  # where each value came from, in words

    def as_dict(self) -> dict:
        return {
            "kernel_profile": self.config.kernel,
            "PT_RECLAIM": self.config.PT_RECLAIM,
            "PGTABLE_LEVELS": self.config.PGTABLE_LEVELS,
            "MMU_GATHER_RCU_TABLE_FREE": self.config.MMU_GATHER_RCU_TABLE_FREE,
            "source": "; ".join(self.notes),
        }

    def line(self) -> str:
        c = self.config
        return (f"config: PT_RECLAIM={'y' if c.PT_RECLAIM else 'n'}, PGTABLE_LEVELS={c.PGTABLE_LEVELS}; "
                + "; ".join(self.notes))


def resolve_config(config_text: str | None, running: RunningKernel | None) -> Resolved:
    """The KernelConfig for the prediction: the 6.18 profile, then what the
    running kernel says (with --real), then --config KEY=VAL (which wins)."""
    overrides = parse_config_list(config_text)
    # What --config says on its own must be a possible kernel: the same
    # refusal (PT_RECLAIM=y needs MMU_GATHER_RCU_TABLE_FREE=y) as every command
    KernelConfig.for_kernel(PROFILE, **overrides)
    values: dict[str, object] = {}
    notes: list[str] = []
    if running is None:
        notes.append(f"the {PROFILE} profile; the running kernel is read only with --real")
    else:
        reclaim = running.pt_reclaim
        if reclaim is not None:
            values["PT_RECLAIM"] = reclaim
            notes.append(f"PT_RECLAIM from {running.config_path}")
            rcu = running.config.get("CONFIG_MMU_GATHER_RCU_TABLE_FREE")
            values["MMU_GATHER_RCU_TABLE_FREE"] = True if reclaim else rcu != "n"
        else:
            version = running.version
            reclaim = version is None or version >= PT_RECLAIM_SINCE
            values["PT_RECLAIM"] = reclaim
            if not reclaim:
                values["MMU_GATHER_RCU_TABLE_FREE"] = True
            notes.append("no kernel config found (/proc/config.gz, /boot/config-"
                         f"{running.release}); PT_RECLAIM={'y' if reclaim else 'n'} assumed from the release "
                         f"{running.release} (the option exists since {PT_RECLAIM_SINCE[0]}.{PT_RECLAIM_SINCE[1]})")
        values["PGTABLE_LEVELS"] = running.levels
        built = running.config.get("CONFIG_PGTABLE_LEVELS")
        why = "la57 in /proc/cpuinfo" if running.levels == 5 else "no la57 in /proc/cpuinfo"
        built_txt = f", built with CONFIG_PGTABLE_LEVELS={built}" if built else ""
        notes.append(f"{running.levels}-level paging at run time ({why}{built_txt})")
    for key, value in overrides.items():
        old = values.get(key)
        values[key] = value
        shown = {True: "y", False: "n"}.get(value, value)  # type: ignore[call-overload]
        if running is not None and old is not None and old != value:
            was = {True: "y", False: "n"}.get(old, old)  # type: ignore[call-overload]
            notes.append(f"{key}={shown} from --config (the running kernel has {was})")
        else:
            notes.append(f"{key}={shown} from --config")
    if values.get("PT_RECLAIM") and values.get("MMU_GATHER_RCU_TABLE_FREE") is False:
        if "MMU_GATHER_RCU_TABLE_FREE" in overrides and "PT_RECLAIM" not in overrides:
            values["PT_RECLAIM"] = False  # Kconfig: PT_RECLAIM depends on it
        else:
            values["MMU_GATHER_RCU_TABLE_FREE"] = True
    return Resolved(KernelConfig.for_kernel(PROFILE, **values), tuple(notes))


# --- why the kernel may disagree --------------------------------------------------------------


def explain_mismatch(results, resolved: Resolved, running: RunningKernel, notes: tuple[str, ...] = ()) -> list[str]:
    """Reasons, most specific first, for steps where VmPTE and the model differ."""
    bad = [r for r in results if r.match is False]
    if not bad:
        return []
    cfg = resolved.config
    out: list[str] = []
    kernel_reclaim = running.pt_reclaim
    if any(r.op == "madvise" for r in bad):
        if kernel_reclaim is not None and kernel_reclaim != cfg.PT_RECLAIM:
            out.append(f"The prediction used PT_RECLAIM={'y' if cfg.PT_RECLAIM else 'n'}, but this kernel has "
                       f"PT_RECLAIM={'y' if kernel_reclaim else 'n'}: MADV_DONTNEED "
                       f"{'reclaims' if kernel_reclaim else 'does not reclaim'} empty PTE tables here.")
        elif not cfg.PT_RECLAIM:
            out.append("PT_RECLAIM is off in the prediction: MADV_DONTNEED frees no page table "
                       "(mm/pt_reclaim.c is not built). If this kernel reclaimed one, it has PT_RECLAIM after all.")
    if running.thp is not None:
        if any(r.op == "touch" and r.real_page_table_bytes < r.page_table_bytes for r in bad):
            out.append(f"THP is '{running.thp}' here. A fault that installs a huge PMD needs no PTE table, so the "
                       "kernel shows fewer bytes; the runner asks MADV_NOHUGEPAGE for every mapping, so a huge "
                       "page here means that request did not hold.")
        elif running.thp == "always":
            out.append("THP is 'always' here; the runner asks MADV_NOHUGEPAGE for every mapping, which should keep "
                       "huge pages (and khugepaged) away from the scenario.")
    if running.levels != cfg.PGTABLE_LEVELS:
        out.append(f"The prediction used {cfg.PGTABLE_LEVELS}-level paging and this kernel runs "
                   f"{running.levels}-level; VmPTE counts PTE, PMD and PUD tables only (no P4D), so the depth "
                   "alone should not change the bytes.")
    specific = bool(out)
    out.extend(notes)
    if specific:
        return out
    out.append("The measuring process may have allocated a page table of its own during the step (a new "
               "malloc arena, a grown stack); run it again to see whether the mismatch repeats. If it does, "
               "the model or this page is wrong: please report the scenario and `uname -r`.")
    return out


def running_summary(running: RunningKernel) -> str:
    thp = running.thp or "not built"
    where = running.config_path or "no kernel config found"
    return (f"Linux {running.release} ({os.uname().machine}), {running.levels}-level paging, THP {thp}, "
            f"config from {where}")
