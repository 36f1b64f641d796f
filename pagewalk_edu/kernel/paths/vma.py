"""The VMA tree changes of munmap() and mremap(): mm/vma.c (__split_vma,
vms_gather_munmap_vmas, copy_vma)."""

from __future__ import annotations

from dataclasses import replace

from ..program import instruction
from ..vma import by_name, replace_vma, split_vma
from .base import go

# The instructions this file runs (kernel/program.py).
SplitVma = instruction("__split_vma", "vma", "at", "new")
VmsGatherMunmapVmas = instruction("vms_gather_munmap_vmas", "vmas")
CopyVma = instruction("copy_vma", "vma", "new_start", "new_name")


def _split_vma(ctx, state, a, op):
    _, name, at, new_name = op
    state = state.but(vmas=split_vma(state.vmas, name, at, new_name))
    return go(state, a, "__split_vma",
              f"__split_vma() cuts VMA {name} at {at:#x}; the new VMA {new_name} is write-locked too",
              "mm/vma.c: __split_vma", f"vma_split:{name}:{new_name}")


def _gather_munmap_vmas(ctx, state, a, op):
    names = op[1]
    vmas = state.vmas
    for name in names:
        vmas = replace_vma(vmas, name, detached=True)
    state = state.but(vmas=vmas)
    return go(state, a, "vms_gather_munmap_vmas",
              (f"vms_gather_munmap_vmas() moves VMA {', '.join(names)} to the detach tree and marks "
                f"{'it' if len(names) == 1 else 'them'} detached (vma_mark_detached()); do_vmi_align_munmap() then clears the "
                "range from the VMA tree (vma_iter_clear_gfp()): lookups no longer find it"),
               "mm/vma.c: vms_gather_munmap_vmas", *(f"vma_detached:{n}" for n in names))


def _copy_vma(ctx, state, a, op):
    _, name, new_start, new_name = op
    old = by_name(state.vmas, name)
    new = replace(old, name=new_name, start=new_start, end=new_start + old.size, readers=frozenset(), writer=a.name)
    state = state.but(vmas=tuple(sorted(state.vmas + (new,), key=lambda v: v.start)))
    return go(state, a, "copy_vma",
              f"copy_vma() creates VMA {new_name} at {new_start:#x} for the moved range; vma_link() write-locks it "
              "(vma_start_write())", "mm/vma.c: copy_vma", f"vma_new:{new_name}")


OPS = {
    SplitVma: _split_vma,
    VmsGatherMunmapVmas: _gather_munmap_vmas,
    CopyVma: _copy_vma,
}
