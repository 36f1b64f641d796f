"""Prediction and, where the platform allows, measurement of one scenario, with
the reasons for any disagreement: what `pagewalk-edu tables` and the lessons'
"Check the model against your kernel" sections both run.

    >>> c = check(load_tables_scenario(path), real=True)   # doctest: +SKIP
    >>> c.unavailable or c.reasons                         # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .kconfig import Resolved, RunningKernel, explain_mismatch, resolve_config, running_kernel
from .predict import StepResult, predict
from .real import RealUnavailable, check_platform, measure
from .spec import TablesScenario


@dataclass
class Check:
    results: list[StepResult]
    resolved: Resolved
    running: RunningKernel | None = None  # set when the kernel was measured
    reasons: list[str] = field(default_factory=list)  # why steps disagree, most specific first
    unavailable: str | None = None  # why the kernel could not be measured, in one line

    @property
    def agrees(self) -> bool | None:
        """None if not measured; else whether the kernel agreed on every step."""
        if self.running is None:
            return None
        return all(r.match for r in self.results)


def check(scenario: TablesScenario, config: str | None = None, real: bool = True, strict: bool = False) -> Check:
    """Predict `scenario` (with `config` KEY=VAL overrides) and, if `real`, run it
    on this kernel.  When the platform cannot run it, `unavailable` says why;
    with `strict` a RealUnavailable is raised instead (the CLI's exit status 2)."""
    running = None
    unavailable = None
    if real:
        try:
            check_platform()
            running = running_kernel()
        except RealUnavailable as err:
            if strict:
                raise
            unavailable = str(err)
    resolved = resolve_config(config, running)
    results = predict(scenario, resolved.config)
    out = Check(results, resolved, None, [], unavailable)
    if running is None:
        return out
    try:
        measured = measure(scenario)
    except RealUnavailable as err:
        if strict:
            raise
        out.unavailable = str(err)
        return out
    for r, b in zip(results, measured.bytes):
        r.real_page_table_bytes = b
    if measured.va_bits == 57 and resolved.config.PGTABLE_LEVELS == 4:
        measured.notes.append("a hint above 47 bits was honoured: this process can use five-level paging")
    out.running = running
    out.reasons = explain_mismatch(results, resolved, running, tuple(measured.notes))
    return out
