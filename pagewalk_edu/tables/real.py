"""Run a tables scenario on the running kernel and read VmPTE (Linux, x86-64).

The scenario runs in a child process (`_child.py`, a stdlib-only script run
with `python -I -S`), so the caller's own mappings cannot disturb the counts
and a crash cannot take the caller down.  The child picks a 512 GiB-aligned
slot with no mapping in it or in the slots beside it (/proc/self/maps), does
each step with ctypes (mmap(MAP_FIXED_NOREPLACE) then
madvise(MADV_NOHUGEPAGE); one-byte writes; munmap; madvise(MADV_DONTNEED)),
reads VmPTE (mm->pgtables_bytes) from /proc/self/status before and after each
step, and unmaps the whole slot at the end.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..console import echo
from ..kernel.geometry import PAGE_SIZE, fmt_size
from .kconfig import read_kernel_config
from .spec import SLOT, TablesScenario, touched_page_count

CHILD = Path(__file__).with_name("_child.py")
#: What the child needs besides the pages it writes: the interpreter and its page tables.
CHILD_OVERHEAD = 32 << 20


class RealUnavailable(Exception):
    """This platform cannot run the scenario for real: one line, exit status 2."""


@dataclass
class RealRun:
    bytes: list[int]  # VmPTE after each step, minus VmPTE before the first
    base: int  # where the child put the slot
    va_bits: int  # 57 if five-level paging is in use, else 47
    notes: list[str] = field(default_factory=list)
    drift: int = 0  # VmPTE after the slot was unmapped, minus before the first step


def kernel_config() -> tuple[str | None, dict[str, str]]:
    """(where it was read, {CONFIG_X: value}) from /proc/config.gz or /boot/config-$(uname -r)."""
    return read_kernel_config()


def check_platform() -> None:
    """Raise RealUnavailable, in one line, unless this machine can run --real."""
    if sys.platform == "emscripten":  # Pyodide: the in-browser course (tools/build_lite.py)
        raise RealUnavailable("--real measures a Linux kernel in a child process; this Python runs in a web browser, "
                              "which has neither, so here is the prediction alone")
    if sys.platform != "linux":
        raise RealUnavailable(f"--real needs Linux (this is {sys.platform}); the prediction alone works anywhere")
    machine = platform.machine()
    if machine not in ("x86_64", "amd64"):
        raise RealUnavailable(f"--real follows x86-64 page tables and this machine is {machine}; "
                              "the prediction alone still works")
    try:
        page = os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        page = PAGE_SIZE
    if page != PAGE_SIZE:
        raise RealUnavailable(f"--real needs 4K pages and this kernel uses {page}-byte pages")
    try:
        with open("/proc/self/status", encoding="utf-8") as f:
            status = f.read()
    except OSError:
        raise RealUnavailable("--real reads /proc/self/status, which cannot be read here (is /proc mounted?)") from None
    if "VmPTE:" not in status:
        raise RealUnavailable("--real needs VmPTE in /proc/self/status, and this kernel does not report it")
    if not sys.executable or not os.path.exists(sys.executable):
        raise RealUnavailable("--real starts a Python child process, and this Python does not know its own executable")
    if not CHILD.exists():
        raise RealUnavailable(f"--real needs {CHILD.name} beside this module, and it is missing")


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _read_number(path: Path) -> int | None:
    """A cgroup file holding one number ('max', or v1's near-2^63: no limit)."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not text.isdigit():
        return None
    n = int(text)
    return None if n >= 1 << 62 else n


def cgroup_headroom(proc_cgroup: str | None = None, root: str = "/sys/fs/cgroup") -> int | None:
    """How much more memory this process's cgroup lets it use: the smallest
    limit minus usage over the cgroup and its ancestors (cgroup v2
    memory.max/memory.current; v1 memory.limit_in_bytes/usage_in_bytes);
    None when no limit applies or none can be read.

    Past that limit the kernel's OOM killer sends SIGKILL
    (mm/memcontrol.c: mem_cgroup_out_of_memory()), however much MemAvailable
    says is free."""
    if proc_cgroup is None:
        try:
            proc_cgroup = Path("/proc/self/cgroup").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    best: int | None = None
    for line in proc_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":  # v2: one unified hierarchy
            base, limit_name, usage_name = Path(root), "memory.max", "memory.current"
        elif "memory" in controllers.split(","):
            base, limit_name, usage_name = Path(root) / "memory", "memory.limit_in_bytes", "memory.usage_in_bytes"
        else:
            continue
        # In a container the cgroup's own folder is the mount's root, and the
        # path /proc shows (from the host's view) does not exist under it.
        rel = path.strip("/")
        folders = [base / rel] if rel else []
        while rel:
            rel = rel.rpartition("/")[0]
            folders.append(base / rel if rel else base)
        if not folders:
            folders = [base]
        for folder in folders:
            limit, usage = _read_number(folder / limit_name), _read_number(folder / usage_name)
            if limit is not None and usage is not None:
                room = max(limit - usage, 0)
                best = room if best is None else min(best, room)
    return best


def measure(scenario: TablesScenario, timeout: float | None = None) -> RealRun:
    """Run the scenario in a child process; RealUnavailable (one line) if it cannot."""
    check_platform()
    pages = sum(touched_page_count(s.start, s.length, s.stride) for s in scenario.steps if s.op == "touch")
    wanted = pages * PAGE_SIZE
    avail = _available_memory()
    if avail is not None and wanted > avail * 0.8:
        raise RealUnavailable(f"the scenario writes up to {fmt_size(wanted)} of memory and only "
                              f"{fmt_size(avail // PAGE_SIZE * PAGE_SIZE)} is available here (MemAvailable)")
    room = cgroup_headroom()
    if room is not None and wanted + CHILD_OVERHEAD > room * 0.8:
        raise RealUnavailable(f"the scenario writes up to {fmt_size(wanted)} of memory and this process's cgroup "
                              f"lets it use only {fmt_size(room // PAGE_SIZE * PAGE_SIZE)} more (its memory limit); "
                              "touch fewer pages (a larger stride) or raise the limit")
    if timeout is None:
        timeout = 120 + pages / 20_000  # a few µs a write, with a wide margin
    request = json.dumps({"slot": SLOT, "steps": [s.as_dict() for s in scenario.steps]})
    try:
        proc = subprocess.run([sys.executable, "-I", "-S", str(CHILD)], input=request, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RealUnavailable(f"the real run took longer than {timeout:.0f} s and was stopped") from None
    except OSError as err:
        raise RealUnavailable(f"cannot start the child process: {err.strerror or err}") from None
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        if proc.returncode < 0:
            raise RealUnavailable(killed_message(-proc.returncode, wanted, lines[-1] if lines else ""))
        raise RealUnavailable(f"the real run failed: {lines[-1] if lines else f'exit status {proc.returncode}'}")
    try:
        out = json.loads(proc.stdout)
        run = RealRun([int(b) for b in out["bytes"]], int(out["base"]), int(out["va_bits"]),
                      [str(n) for n in out.get("notes", [])], int(out.get("drift", 0)))
    except (ValueError, KeyError, TypeError):
        raise RealUnavailable("the real run printed something that is not its JSON report") from None
    if len(run.bytes) != len(scenario.steps):
        raise RealUnavailable(f"the real run reported {len(run.bytes)} steps for {len(scenario.steps)}")
    if run.drift:
        run.notes.append(f"VmPTE of the measuring process ended {run.drift:+d} bytes away from where it began "
                         "once the slot was unmapped: something else in that process allocated or freed page "
                         "tables during the run")
    return run


def killed_message(signum: int, wanted: int, last_line: str = "") -> str:
    """Why the child died from a signal, in words, and what to reduce."""
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    tail = f" ({echo(last_line)})" if last_line else ""
    if signum == signal.SIGKILL:
        return (f"the real run was killed by SIGKILL{tail}, most likely by the out-of-memory killer (a cgroup "
                f"memory limit, or the whole machine); the scenario writes up to {fmt_size(wanted)}: touch fewer "
                "pages (a larger stride or shorter ranges) and try again")
    if signum == signal.SIGSEGV:
        return f"the real run was killed by SIGSEGV{tail}: a write hit unmapped memory; please report the scenario"
    return f"the real run was killed by {name}{tail}; nothing was measured"


def run_real(scenario: TablesScenario, timeout: float | None = None) -> list[int]:
    """VmPTE bytes after each step (cumulative), measured in a child process."""
    return measure(scenario, timeout).bytes
