"""The child process of `pagewalk-edu tables --real` (run as a script, stdlib only).

It reads {"slot": N, "steps": [...]} on stdin, performs each step on its own
address space with ctypes, and prints {"base", "bytes", "va_bits", "notes",
"drift"} on stdout: "bytes" is VmPTE (mm->pgtables_bytes) after each step
minus VmPTE before the first.  On failure it prints one line on stderr and
exits with status 3.

Why a fresh process: the caller's own memory (a notebook kernel, pytest) must
not add tables to the counts, and a crash here must not take the caller down.
Why so little Python between two VmPTE reads: an allocation that reaches the
kernel (a new arena, a larger heap) could add a page table of its own to the
step; the garbage collector is off, buffers are allocated once, and each step
only calls into libc.
"""

import ctypes
import gc
import json
import os
import sys

PAGE = 4096
PROT_NONE, PROT_RW = 0, 3
MAP_PRIVATE, MAP_ANONYMOUS, MAP_FIXED_NOREPLACE = 0x02, 0x20, 0x100000
MADV_DONTNEED, MADV_NOHUGEPAGE = 4, 15
EINVAL = 22


class Failed(Exception):
    pass


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.munmap.restype = ctypes.c_int
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.madvise.restype = ctypes.c_int
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return libc


def _errno() -> str:
    e = ctypes.get_errno()
    return f"{os.strerror(e)} (errno {e})"


def _maps() -> list:
    out = []
    with open("/proc/self/maps") as f:
        for line in f:
            lo, _, hi = line.split()[0].partition("-")
            out.append((int(lo, 16), int(hi, 16)))
    return out


def choose_base(slot: int, maps: list) -> int:
    """A slot-aligned base with no mapping in the slot, nor in the slot on each
    side: nothing can merge with the scenario's VMAs, the process's own new
    mappings (placed top-down near the others) land far away, and the slot's
    PUD table is the scenario's alone."""
    for k in range(32, 224):  # 16 TiB to 112 TiB: inside 47-bit user space
        lo, hi = (k - 1) * slot, (k + 2) * slot
        if all(b <= lo or a >= hi for a, b in maps):
            return k * slot
    raise Failed("no 512 GiB slot of this process is free of mappings with free slots on both sides")


def va_bits(libc) -> int:
    """57 if a hint above 47 bits is honoured (five-level paging in use), else 47."""
    p = libc.mmap(1 << 52, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    if p in (None, ctypes.c_void_p(-1).value):
        return 47
    libc.munmap(p, PAGE)
    return 57 if p >= 1 << 47 else 47


def run(request: dict) -> dict:
    gc.disable()
    slot = int(request["slot"])
    steps = request["steps"]
    libc = _libc()
    memset = ctypes.memset
    failed = ctypes.c_void_p(-1).value
    notes = []
    bits = va_bits(libc)
    base = choose_base(slot, _maps())

    fd = os.open("/proc/self/status", os.O_RDONLY)
    buf = bytearray(1 << 16)

    def vmpte() -> int:
        n = os.preadv(fd, [buf], 0)
        i = buf.find(b"VmPTE:", 0, n)
        if i < 0:
            raise Failed("/proc/self/status has no VmPTE line")
        return int(buf[i + 6:buf.find(b"kB", i, n)]) * 1024

    results = [0] * len(steps)
    scratch = ctypes.create_string_buffer(PAGE)
    for _ in range(3):  # warm every path a step takes before the first measurement
        vmpte()
        memset(ctypes.addressof(scratch), 1, 1)
    first = vmpte()
    try:
        for i, s in enumerate(steps):
            op, start, length = s["op"], base + int(s["start"]), int(s["length"])
            stride = int(s.get("stride", PAGE))
            before = vmpte()
            if op == "mmap":
                got = libc.mmap(start, length, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0)
                if got in (None, failed):
                    raise Failed(f"step {i + 1}: mmap refused: {_errno()}")
                if got != start:  # Linux before 4.17 ignores MAP_FIXED_NOREPLACE and treats it as a hint
                    libc.munmap(got, length)
                    raise Failed(f"step {i + 1}: mmap placed the mapping elsewhere (MAP_FIXED_NOREPLACE needs Linux 4.17)")
                if libc.madvise(start, length, MADV_NOHUGEPAGE) != 0:
                    if ctypes.get_errno() != EINVAL:
                        raise Failed(f"step {i + 1}: madvise(MADV_NOHUGEPAGE) refused: {_errno()}")
                    note = "madvise(MADV_NOHUGEPAGE) is not supported here: this kernel has no THP"
                    if note not in notes:
                        notes.append(note)
            elif op == "touch":
                for addr in range(start, start + length, stride if stride >= PAGE else PAGE):
                    memset(addr, 1, 1)
            elif op == "munmap":
                if libc.munmap(start, length) != 0:
                    raise Failed(f"step {i + 1}: munmap refused: {_errno()}")
            elif op == "madvise":
                if libc.madvise(start, length, MADV_DONTNEED) != 0:
                    raise Failed(f"step {i + 1}: madvise(MADV_DONTNEED) refused: {_errno()}")
            else:
                raise Failed(f"step {i + 1}: unknown op {op!r}")
            results[i] = vmpte() - before
    finally:
        libc.munmap(base, slot)
    drift = vmpte() - first
    total = 0
    for i, delta in enumerate(results):
        total += delta
        results[i] = total
    os.close(fd)
    return {"base": base, "bytes": results, "va_bits": bits, "notes": notes, "drift": drift}


def main() -> int:
    try:
        request = json.loads(sys.stdin.read())
        print(json.dumps(run(request)))
        return 0
    except Failed as err:
        print(str(err), file=sys.stderr)
        return 3
    except Exception as err:  # a one-line report for the parent, never a traceback
        print(f"{type(err).__name__}: {err}".splitlines()[0], file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
