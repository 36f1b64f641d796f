"""The simulator: one mm's page tables and the kernel paths that walk and free
them, as deterministic, step-able values.  Imports no UI library.

    >>> from pagewalk_edu.kernel import make_scenario, run
    >>> trace = run(make_scenario("vma_lock", "munmap"))
"""

from .config import CONFIG_KEYS, PROFILES, KernelConfig, parse_config_list
from .geometry import Geometry, Level
from .pgtable import Life
from .scenario import ACTIONS, FAULTS, WALKERS, Scenario, make_scenario, parse_holds
from .sim import Ctx, Trace, blocked, enabled, finished, initial, is_deadlock, make_ctx, run, step, successors
from .state import State
from .steps import Blocked, Event, Moved
from .walker import HOLDS

__all__ = [
    "ACTIONS", "CONFIG_KEYS", "FAULTS", "HOLDS", "PROFILES", "WALKERS",
    "Blocked", "Ctx", "Event", "Geometry", "KernelConfig", "Level", "Life", "Moved",
    "Scenario", "State", "Trace", "blocked", "enabled", "finished", "initial", "is_deadlock",
    "make_ctx", "make_scenario", "parse_config_list", "parse_holds", "run", "step", "successors",
]
