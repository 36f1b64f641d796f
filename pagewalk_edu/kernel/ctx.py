"""What does not change while a scenario runs: the scenario, its setup, and the
actors addressed by role: the walker on CPU0, one racing kernel path per CPU
after it (munmap, madvise, khugepaged, mremap, or the names a scenario file
gives), the IPI handler of each CPU (irq0, irq1, ...), the RCU grace-period
kthread (rcu_gp) and RCU callback invocation (rcu_cb).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from .config import KernelConfig
from .geometry import Geometry
from .roles import RCU_CB, RCU_GP, WALKER, irq_actor
from .scenario import PathSetup, Scenario, Setup, build_setup


@dataclass(frozen=True)
class Ctx:
    scenario: Scenario
    setup: Setup
    actor_order: tuple[str, ...] | None = None  # a permutation of the actors, for tests

    @property
    def config(self) -> KernelConfig:
        return self.scenario.config

    @cached_property
    def geo(self) -> Geometry:
        return self.scenario.geometry

    @property
    def holds(self) -> tuple[str, ...]:
        return self.scenario.holds

    @property
    def fault(self) -> str | None:
        return self.scenario.fault

    @property
    def walk_addr(self) -> int:
        return self.setup.walk_addr

    @property
    def walker_name(self) -> str:
        return WALKER

    @property
    def paths(self) -> tuple[PathSetup, ...]:
        return self.setup.paths

    @cached_property
    def path_names(self) -> tuple[str, ...]:
        """The racing paths' actor names, CPU1 first."""
        return tuple(p.name for p in self.setup.paths)

    @property
    def freer_name(self) -> str:
        """The first racing path (CPU1): the only one of a built-in action."""
        return self.setup.paths[0].name

    @cached_property
    def ncpus(self) -> int:
        return 1 + len(self.setup.paths)

    @cached_property
    def cpumask(self) -> frozenset[int]:
        """mm_cpumask(mm): CPUs running (or lazily holding) the walked mm."""
        cpus = {p.cpu for p in self.setup.paths if p.in_mm}
        if self.scenario.walker == "local":
            cpus.add(0)
        return frozenset(cpus)

    @cached_property
    def actor_names(self) -> tuple[str, ...]:
        names = (WALKER,) + self.path_names + tuple(irq_actor(c) for c in range(self.ncpus)) + (RCU_GP, RCU_CB)
        if self.actor_order is not None:
            if sorted(self.actor_order) != sorted(names):
                raise ValueError(f"actor_order must be a permutation of {', '.join(names)}")
            return tuple(self.actor_order)
        return names

    @cached_property
    def main_actors(self) -> tuple[str, ...]:
        """The walker and the racing paths (the actors that have programs)."""
        return (WALKER,) + self.path_names

    @cached_property
    def actor_index(self) -> dict[str, int]:
        """Where each main actor sits in State.actors."""
        return {name: i for i, name in enumerate(self.main_actors)}

    def cpu_of(self, name: str) -> int | None:
        if name == WALKER:
            return 0
        for p in self.setup.paths:
            if p.name == name:
                return p.cpu
        if name.startswith("irq"):
            return int(name[3:])
        return None

    def lanes(self) -> tuple[tuple[int, str], ...]:
        """(CPU, actor) for every CPU, in CPU order: what a timeline draws."""
        return ((0, WALKER),) + tuple((p.cpu, p.name) for p in self.setup.paths)


def make_ctx(scenario: Scenario, actor_order: tuple[str, ...] | None = None) -> Ctx:
    return Ctx(scenario, build_setup(scenario), actor_order)
