"""Lesson 08's claims about its Matrix widget, pinned: v6.18 and v7.1 agree cell for
cell with the default config; with PT_RECLAIM=n and a failed batch allocation only
the rcu row differs, for munmap, munmap_partial and mremap, and unticking PT_RECLAIM
turns the whole madv_dontneed column safe; the widget steps the lesson gives
(untick PT_RECLAIM, pick the fault, choose the other kernel, untick again) reach
those grids, and choosing a kernel resets the config keys but keeps the fault; the
two hugetlb keys the header shows change no cell of the default grid; and the
quiz asks what no earlier lesson states."""

import re

from lessons import NOTEBOOKS, ROOT, read

LESSON = ROOT / "notebooks" / "08-any-interleaving.ipynb"


def _grid(w):
    return {k: v.verdict for k, v in w.matrix.cells.items()}


def _prose():
    return "\n".join(c.source for c in read(LESSON).cells if c.cell_type == "markdown")


def test_the_two_kernels_differ_only_where_the_lesson_says():
    from pagewalk_edu.widgets import Matrix

    code = "\n".join(c.source for c in read(LESSON).cells if c.cell_type == "code")
    assert 'Matrix(kernel="7.1")' in code
    # the steps also as Python, for a learner without a live widget
    assert 'KernelConfig.for_kernel(k, PT_RECLAIM=False), fault="batch_alloc_fail"' in code
    w = Matrix(kernel="7.1")
    default71 = _grid(w)
    w.cfg.pt_reclaim.value = False
    w.cfg.fault.value = "batch_alloc_fail"
    fallback71 = _grid(w)
    # mm/madvise.c: without CONFIG_PT_RECLAIM, MADV_DONTNEED zaps PTEs and frees no table
    madv = [k for k in fallback71 if k[1] == "madv_dontneed"]
    assert {default71[k] for k in madv} == {"safe_but_stale"} and {fallback71[k] for k in madv} == {"safe"}
    w.cfg.kernel.value = "6.18"
    assert w.cfg.pt_reclaim.value is True, "choosing a kernel puts PT_RECLAIM back to its default, as the lesson says"
    assert w.cfg.fault.value == "batch_alloc_fail", "choosing a kernel keeps the fault, as the lesson says"
    default618 = _grid(Matrix(kernel="6.18"))
    w.cfg.pt_reclaim.value = False
    fallback618 = _grid(w)
    assert default71 == default618
    differ = sorted((k, fallback618[k], fallback71[k]) for k in fallback618 if fallback618[k] != fallback71[k])
    assert differ == [((("rcu",), a), "unsafe", "safe_but_stale") for a in ("mremap", "munmap", "munmap_partial")], differ
    prose = _prose()
    assert "only\nthe `rcu` row changes, for munmap, munmap_partial and mremap" in prose
    assert "The whole `madv_dontneed` column turns\n`safe`" in prose
    assert "keeps *fault* and *walker*" in prose


def test_the_hugetlb_keys_of_the_header_change_no_cell_of_the_default_grid():
    from pagewalk_edu.explore import matrix
    from pagewalk_edu.kernel import KernelConfig

    assert "change no cell of this grid" in _prose() and "what-if, in no release" in _prose()
    base = {k: v.verdict for k, v in matrix(KernelConfig.for_kernel("6.18")).cells.items()}
    for key in ({"TABLE_SYNC": "elide_native"}, {"HUGETLB_UNSHARE_SYNC": "in_unshare"}):
        other = {k: v.verdict for k, v in matrix(KernelConfig.for_kernel("6.18", **key)).cells.items()}
        assert other == base, key
    assert KernelConfig.for_kernel("6.18", TABLE_SYNC="elide_native").what_ifs(), "elide_native is a what-if"


def test_the_counterexample_cell_prints_the_replayed_trace():
    code = "\n".join(c.source for c in read(LESSON).cells if c.cell_type == "code")
    assert "print(trace_text(run(s, v.schedule, then_default=False)))" in code


def test_the_quiz_asks_nothing_an_earlier_lesson_or_this_one_states():
    cells = read(LESSON).cells
    at = next(i for i, c in enumerate(cells) if c.cell_type == "code" and "quiz(" in c.source)
    asked = re.findall(r'"([^"]+)"', cells[at].source)
    assert len(asked) == 5
    earlier = [p for p in NOTEBOOKS if p.name[:2].isdigit() and p.name < LESSON.name]
    text = "\n".join(c.source for p in earlier for c in read(p).cells) + "\n".join(c.source for c in cells[:at])
    for name in asked:
        assert name not in text, f"{name} is stated before the quiz"
