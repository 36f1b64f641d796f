"""`pagewalk-edu tables`: the simulator's page-table bytes per step of a
scenario (kernel/syscalls.py), side by side with the running kernel's VmPTE.

    >>> from pagewalk_edu.tables import parse_tables_scenario, predict
    >>> from pagewalk_edu.kernel import KernelConfig
    >>> s = parse_tables_scenario({"steps": [{"op": "mmap", "start": 0, "length": "2M"},
    ...                                      {"op": "touch", "start": 0, "length": "4K"}]})
    >>> [r.page_table_bytes for r in predict(s, KernelConfig.for_kernel("6.18"))]
    [0, 12288]
"""

from .check import Check, check
from .predict import SIM_BASE, StepResult, predict
from .spec import Op, TablesScenario, load_tables_scenario, parse_size, parse_tables_scenario, parse_tables_text

__all__ = [
    "Check", "Op", "SIM_BASE", "StepResult", "TablesScenario", "load_tables_scenario", "parse_size",
    "check", "parse_tables_scenario", "parse_tables_text", "predict",
]
