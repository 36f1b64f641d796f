"""Views of the simulator.  model/ computes what each view draws (pure data);
the renderers read only those models: svg/ (pure Python, used by the widgets
and wherever `dot` or matplotlib is absent), tree.tree(ctx, state) (graphviz
DOT), timeline.timeline(trace, current) and matrix.matrix_figure(m)
(matplotlib), text.trace_text / state_text / verdict_text.

matrix_figure and the text forms can also be imported from here; they load on
first use, so that importing pagewalk_edu.viz loads neither matplotlib nor
graphviz.  (tree and timeline are the names of modules here, so import those
two functions from their modules.)"""

from importlib import import_module

_WHERE = {"matrix_figure": "matrix", "matrix_chart": "matrix", "trace_text": "text", "state_text": "text",
          "verdict_text": "text", "tree_image": "tree", "timeline_image": "images"}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
