"""View models: what each view draws, as plain frozen data computed from a
state or trace.  Only these builders read the simulator's state; every
renderer (graphviz DOT, pure-Python SVG, matplotlib, text) reads a model."""

from .charts import MatrixModel, TablesModel, matrix_model, tables_model
from .timeline import TimelineModel, timeline_model
from .tree import TreeModel, tree_model

__all__ = ["MatrixModel", "TablesModel", "TimelineModel", "TreeModel", "matrix_model", "tables_model", "timeline_model",
           "tree_model"]
