"""Run a tables scenario on the running kernel and read VmPTE (Linux only).

The scenario runs in a child process (`python -m pagewalk_edu.tables.real`), so
that the caller's own mappings cannot disturb the counts and a failure cannot
take the caller down.  The child finds a 512 GiB-aligned slot with no mapping in
it, performs each step with ctypes (mmap with MAP_FIXED_NOREPLACE then
MADV_NOHUGEPAGE, one-byte writes, munmap, MADV_DONTNEED) and reports how much
VmPTE (mm->pgtables_bytes) changed across each step.
"""

from __future__ import annotations

import gzip
import json
import os
import platform
import subprocess
import sys

from .spec import SLOT, TablesScenario


class RealUnavailable(Exception):
    """This platform cannot run the scenario for real (one line, exit 2)."""


# --- the kernel's configuration ---------------------------------------------------


def kernel_config() -> tuple[str | None, dict[str, str]]:
    """(where it was read, {CONFIG_X: value}) from /proc/config.gz or /boot/config-$(uname -r)."""
    candidates = ["/proc/config.gz", f"/boot/config-{platform.release()}"]
    for path in candidates:
        try:
            if path.endswith(".gz"):
                with gzip.open(path, "rt", errors="replace") as f:
                    text = f.read()
            else:
                with open(path, errors="replace") as f:
                    text = f.read()
        except OSError:
            continue
        values = {}
        for line in text.splitlines():
            if line.startswith("CONFIG_") and "=" in line:
                k, _, v = line.partition("=")
                values[k] = v.strip().strip('"')
            elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
                values[line[2:-len(" is not set")]] = "n"
        return path, values
    return None, {}


def thp_mode() -> str | None:
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            text = f.read()
    except OSError:
        return None
    for word in text.split():
        if word.startswith("["):
            return word.strip("[]")
    return None


def paging_levels() -> int:
    """5 when the CPU has LA57 and the kernel uses it, else 4."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return 4
    if " la57" not in flags:
        return 4
    _, cfg = kernel_config()
    if cfg.get("CONFIG_X86_5LEVEL") == "y" or cfg.get("CONFIG_PGTABLE_LEVELS") == "5":
        return 5
    return 4


def check_platform() -> None:
    if sys.platform != "linux":
        raise RealUnavailable(f"--real needs Linux (this is {sys.platform}); the prediction alone still works")
    try:
        with open("/proc/self/status") as f:
            if "VmPTE:" not in f.read():
                raise RealUnavailable("--real needs VmPTE in /proc/self/status, and this kernel does not report it")
    except OSError:
        raise RealUnavailable("--real needs /proc/self/status, which cannot be read here") from None
    if platform.machine() not in ("x86_64", "AMD64"):
        raise RealUnavailable(f"--real follows the x86-64 page-table geometry; this machine is {platform.machine()}")


def run_real(scenario: TablesScenario, timeout: float = 300) -> list[int]:
    """Cumulative VmPTE bytes after each step, measured in a child process."""
    check_platform()
    payload = json.dumps([{"op": s.op, "start": s.start, "length": s.length, "stride": s.stride} for s in scenario.steps])
    try:
        p = subprocess.run([sys.executable, "-m", "pagewalk_edu.tables.real"], input=payload, capture_output=True,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RealUnavailable(f"the real run took longer than {timeout:.0f} s and was stopped") from None
    if p.returncode != 0:
        last = (p.stderr.strip().splitlines() or [f"exit status {p.returncode}"])[-1]
        raise RealUnavailable(f"the real run failed: {last}")
    return json.loads(p.stdout)


# --- the child ------------------------------------------------------------------


def _child() -> int:
    import ctypes

    steps = json.loads(sys.stdin.read())
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    PROT_RW, MAP_PRIVATE, MAP_ANONYMOUS, MAP_FIXED_NOREPLACE = 3, 0x02, 0x20, 0x100000
    MADV_DONTNEED, MADV_NOHUGEPAGE = 4, 15
    MAP_FAILED = ctypes.c_void_p(-1).value

    def maps():
        out = []
        with open("/proc/self/maps") as f:
            for line in f:
                a, b = line.split()[0].split("-")
                out.append((int(a, 16), int(b, 16)))
        return out

    existing = maps()
    base = None
    for slot in range(0x1000_0000_0000, 0x7000_0000_0000, SLOT):
        if all(b <= slot or a >= slot + SLOT for a, b in existing):
            base = slot
            break
    if base is None:
        print("no empty 512 GiB slot in this process's address space", file=sys.stderr)
        return 3

    status = os.open("/proc/self/status", os.O_RDONLY)

    def vmpte() -> int:
        os.lseek(status, 0, os.SEEK_SET)
        data = os.read(status, 65536)
        i = data.index(b"VmPTE:")
        return int(data[i + 6:data.index(b"kB", i)].strip()) * 1024

    results, total = [], 0
    try:
        for i, s in enumerate(steps, 1):
            start, length = base + s["start"], s["length"]
            before = vmpte()
            if s["op"] == "mmap":
                got = libc.mmap(start, length, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0)
                if got in (None, MAP_FAILED) or got != start:
                    print(f"step {i}: mmap refused ({os.strerror(ctypes.get_errno())})", file=sys.stderr)
                    return 4
                if libc.madvise(start, length, MADV_NOHUGEPAGE) != 0:
                    print(f"step {i}: madvise(MADV_NOHUGEPAGE) refused ({os.strerror(ctypes.get_errno())})", file=sys.stderr)
                    return 4
            elif s["op"] == "touch":
                for addr in range(start, start + length, s["stride"]):
                    ctypes.memset(addr, 1, 1)
            elif s["op"] == "munmap":
                if libc.munmap(start, length) != 0:
                    print(f"step {i}: munmap refused ({os.strerror(ctypes.get_errno())})", file=sys.stderr)
                    return 4
            else:
                if libc.madvise(start, length, MADV_DONTNEED) != 0:
                    print(f"step {i}: madvise(MADV_DONTNEED) refused ({os.strerror(ctypes.get_errno())})", file=sys.stderr)
                    return 4
            total += vmpte() - before
            results.append(total)
    finally:
        libc.munmap(base, SLOT)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(_child())
