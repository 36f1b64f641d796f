"""Charts and views, run in a real kernel as a lesson runs them, leave image
outputs (image/png or image/svg+xml) with a text alternative, never a
`<Figure ...>` line; widgets leave a 'run this cell' line as text/plain."""

import nbformat
from nbclient import NotebookClient

CELLS = {
    "matrix": "from pagewalk_edu.explore import matrix\nfrom pagewalk_edu.kernel import KernelConfig\n"
              "from pagewalk_edu.viz.matrix import matrix_figure\n"
              "matrix_figure(matrix(KernelConfig.for_kernel('6.18'), rows=((), ('rcu',)), actions=('munmap',)))",
    "timeline": "from pagewalk_edu.kernel import make_scenario, run\nfrom pagewalk_edu.viz.timeline import timeline\n"
                "t = run(make_scenario('rcu', 'munmap'))\ntimeline(t, 3)",
    "tables": "from importlib import resources\nfrom pagewalk_edu.tables import load_tables_scenario\n"
              "from pagewalk_edu.tables.check import check\nfrom pagewalk_edu.viz.tables_chart import tables_chart\n"
              "c = check(load_tables_scenario(resources.files('pagewalk_edu') / 'scenarios' / 'tables' / 'sparse.json'))\n"
              "tables_chart(c.results)",
    "tree_image": "from pagewalk_edu.viz.tree import tree_image\ntree_image(t.ctx, t.last, trace=t, index=len(t.states) - 1)",
    "timeline_image": "from pagewalk_edu.viz import timeline_image\ntimeline_image(t, 5)",
    "explorer": "from pagewalk_edu.widgets import Explorer\nExplorer(scenario='vma_lock+munmap', controls=('holds', 'action'))",
}


def test_every_chart_leaves_an_image_output_with_alt_text():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS.values()]
    NotebookClient(nb, timeout=240, kernel_name="python3").execute()
    for name, cell in zip(CELLS, nb.cells):
        data = [o["data"] for o in cell.outputs if o.get("output_type") == "execute_result"]
        assert data, (name, cell.outputs)
        bundle = data[-1]
        assert "<Figure" not in bundle.get("text/plain", ""), name
        if name == "explorer":
            assert "run this cell" in bundle["text/plain"]
            continue
        assert "image/png" in bundle or "image/svg+xml" in bundle, (name, list(bundle))
        assert len(bundle.get("text/plain", "")) > 40, f"{name}: the text alternative says what the image shows"
