"""Lesson 08's claims about its Matrix widget, pinned: v6.18 and v7.1 agree cell for
cell with the default config; with PT_RECLAIM=n and a failed batch allocation only
the rcu row differs, for munmap, munmap_partial and mremap; and the widget steps
the lesson gives (untick PT_RECLAIM, pick the fault, choose the other kernel, untick
again) reach those grids."""

from lessons import ROOT, read

LESSON = ROOT / "notebooks" / "08-any-interleaving.ipynb"


def _grid(w):
    return {k: v.verdict for k, v in w.matrix.cells.items()}


def test_the_two_kernels_differ_only_where_the_lesson_says():
    from pagewalk_edu.widgets import Matrix

    code = "\n".join(c.source for c in read(LESSON).cells if c.cell_type == "code")
    assert 'Matrix(kernel="7.1")' in code
    w = Matrix(kernel="7.1")
    default71 = _grid(w)
    w.cfg.pt_reclaim.value = False
    w.cfg.fault.value = "batch_alloc_fail"
    fallback71 = _grid(w)
    w.cfg.kernel.value = "6.18"
    assert w.cfg.pt_reclaim.value is True, "choosing a kernel puts PT_RECLAIM back to its default, as the lesson says"
    default618 = _grid(Matrix(kernel="6.18"))
    w.cfg.pt_reclaim.value = False
    fallback618 = _grid(w)
    assert default71 == default618
    differ = sorted((k, fallback618[k], fallback71[k]) for k in fallback618 if fallback618[k] != fallback71[k])
    assert differ == [((("rcu",), a), "unsafe", "safe_but_stale") for a in ("mremap", "munmap", "munmap_partial")], differ
    prose = "\n".join(c.source for c in read(LESSON).cells if c.cell_type == "markdown")
    assert "only\nthe `rcu` row changes, for munmap, munmap_partial and mremap" in prose
