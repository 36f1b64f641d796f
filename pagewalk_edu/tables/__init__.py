"""`pagewalk-edu tables`: the simulator's page-table bytes per step of a
scenario, side by side with the running kernel's VmPTE."""

from .spec import Op, TablesScenario, load_tables_scenario, parse_size, parse_tables_scenario
from .predict import StepResult, predict

__all__ = ["Op", "StepResult", "TablesScenario", "load_tables_scenario", "parse_size", "parse_tables_scenario", "predict"]
