"""Text and JSON output of `pagewalk-edu tables` (pure functions of the results)."""

from __future__ import annotations

from ..console import echo
from ..kernel.geometry import fmt_size
from .kconfig import Resolved, RunningKernel, running_summary
from .spec import TablesScenario


#: How much of a scenario's description the text output shows.
DESCRIPTION_SHOWN = 300


def _bytes(n: int | None) -> str:
    if n is None:
        return "-"
    return fmt_size(n) if n else "0"


def _steps(numbers: list[int]) -> str:
    return ("step " if len(numbers) == 1 else "steps ") + ", ".join(map(str, numbers))


def _off(n: int) -> str:
    return fmt_size(n) if n else "0"


def as_json(results, resolved: Resolved, running: RunningKernel | None = None,
            reasons: list[str] | None = None) -> dict:
    """{"config": {...}, "steps": [{"op", "page_table_bytes", ["real_page_table_bytes", "match"],
    "allocated", "freed"}]}, and "mismatches" (reasons) when the kernel disagreed."""
    config = resolved.as_dict()
    if running is not None:
        config["measured_on"] = running_summary(running)
    doc = {"config": config, "steps": [r.as_dict() for r in results]}
    if reasons:
        doc["mismatches"] = reasons
    return doc


def as_text(results, resolved: Resolved, scenario: TablesScenario, running: RunningKernel | None = None,
            reasons: list[str] | None = None) -> str:
    real = any(r.real_page_table_bytes is not None for r in results)
    lines = []
    # the name and description come from a file that may be shared: no escape
    # sequence of theirs reaches the terminal, and a long one is cut
    title = echo(scenario.name, 80) if scenario.name else "scenario"
    desc = echo(scenario.description, DESCRIPTION_SHOWN)
    lines.append(f"{title}: {desc}" if desc else title)
    lines.append(resolved.line())
    if running is not None:
        lines.append(f"measured on {running_summary(running)}")
    lines.append("")
    width = max([len(r.description) for r in results] + [4])
    head = f"{'#':>3}  {'step':<{width}}  {'page tables':>11}"
    if real:
        head += f"  {'kernel':>8}  match"
    lines.append(head)
    for i, r in enumerate(results, 1):
        row = f"{i:>3}  {r.description:<{width}}  {_bytes(r.page_table_bytes):>11}"
        if real:
            row += f"  {_bytes(r.real_page_table_bytes):>8}  {'ok' if r.match else 'MISMATCH'}"
        lines.append(row)
        for c in r.allocated:
            lines.append(f"{'':5}+ {c.level} table [{_off(c.start)}, {_off(c.end)}) allocated by {c.function}()")
        for c in r.freed:
            via = " → ".join(c.path.split(" → ")[-4:])
            lines.append(f"{'':5}- {c.level} table [{_off(c.start)}, {_off(c.end)}) freed by {c.function}()"
                         + (f" ({via})" if via else ""))
    if scenario.expected is not None:
        differ = [i for i, (r, e) in enumerate(zip(results, scenario.expected), 1) if r.page_table_bytes != e]
        lines.append("")
        lines.append("the file's expected bytes: " + ("all agree with the prediction" if not differ else
                     f"differ from the prediction at {_steps(differ)}"))
    if real:
        bad = [i for i, r in enumerate(results, 1) if r.match is False]
        lines.append("")
        if not bad:
            lines.append(f"the kernel agrees on every step ({len(results)} of {len(results)})")
        else:
            lines.append(f"the kernel disagrees at {_steps(bad)}. What can explain it:")
            lines.extend(f"  - {reason}" for reason in reasons or [])
    return "\n".join(lines)
