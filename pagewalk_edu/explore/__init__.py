"""Exhaustive interleaving search over the simulator: verdicts, reasons and
shortest counterexamples.  Imports only pagewalk_edu.kernel."""

from .matrix import LABELS, PROTECTIONS, Matrix, matrix, protection_label
from .properties import PROPERTIES, Property
from .search import Graph, bfs
from .verdict import VERDICTS, Step, Verdict, verdict

__all__ = ["LABELS", "PROPERTIES", "PROTECTIONS", "VERDICTS", "Graph", "Matrix", "Property", "Step", "Verdict", "bfs",
           "matrix", "protection_label", "verdict"]
