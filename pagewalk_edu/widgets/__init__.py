"""ipywidgets front ends: thin shells that hold a trace and call the simulator,
the explorer and the views.  No kernel rule lives here."""

from .explorer import Explorer
from .matrix import MatrixWidget
from .quiz import Quiz

Matrix = MatrixWidget

__all__ = ["Explorer", "Matrix", "MatrixWidget", "Quiz"]
