"""Widgets a learner's clicks replace are closed, not only dropped: a dropped
widget stays alive in the kernel, and JupyterLab restores every live one each
time the notebook is opened again (a Matrix whose forty cells were opened held
forty Explorers, six thousand models)."""

from ipywidgets.widgets import widget as ipywidget

from pagewalk_edu.widgets import Explorer, Matrix


def _alive() -> set[str]:
    # ipywidgets' registry of open widgets (those with a comm to the front end)
    return set(ipywidget._instances)


def test_opening_matrix_cells_keeps_one_explorer_alive():
    m = Matrix(render=False)
    m.open_cell(("rcu",), "munmap")
    after_one = _alive()
    first, first_id = m.explorer, m.explorer.model_id
    for holds, action in [((), "munmap"), (("vma_lock",), "mremap"), (("irqs_off",), "madv_dontneed")]:
        m.open_cell(holds, action)
    assert len(_alive()) == len(after_one), "each opened cell replaces the Explorer before it"
    assert first_id not in _alive() and first.step_button.comm is None, "the replaced Explorer is closed"
    assert m.explorer.model_id in _alive() and m.explorer_box.children == (m.explorer,)
    m.explorer.step_button.click()
    assert m.explorer.index == 1, "the Explorer shown still works"


def test_a_new_config_replaces_the_grid_without_keeping_the_old_cells():
    m = Matrix(render=False)
    before = _alive()
    old = dict(m.cells)
    m.cfg.pt_reclaim.value = not m.cfg.pt_reclaim.value
    assert len(_alive()) == len(before)
    assert all(b.comm is None and b.layout.comm is None for b in old.values()), "the old cells and their layouts are closed"
    assert all(b.model_id in _alive() for b in m.cells.values())
    assert m.message.value and "Click a cell" in m.message.value


def test_an_explorer_closes_every_widget_it_built():
    before = _alive()
    e = Explorer(("rcu",), "munmap", config={"PT_RECLAIM": False})
    assert len(_alive()) > len(before) + 100
    e.close()
    assert _alive() == before
