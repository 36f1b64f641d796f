"""The racing kernel paths (munmap, MADV_DONTNEED, khugepaged, mremap) live in
kernel/paths/, one module per kernel source file; this name stays for imports."""

from .paths import OPS, freer_step, initial_freer

__all__ = ["OPS", "freer_step", "initial_freer"]
