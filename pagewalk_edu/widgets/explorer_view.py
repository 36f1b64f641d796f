"""What the Explorer shows besides its controls, as HTML strings: the event log
(each line linking the kernel function to its source file), the current-step
line, and the sentence the live region announces.  Pure functions of a trace
and a step index."""

from __future__ import annotations

from html import escape

from ..viz.kernel_source import function_link_html, source_ref
from ..viz.model.timeline import step_line


def source_file(e) -> str:
    """'mm/memory.c' from an event's 'mm/memory.c: free_pgd_range' reference."""
    return source_ref(e)[0]


def said(e) -> str:
    """The event's sentence without the function name it may start with
    (the log shows that name already)."""
    text = e.text
    for head in (f"{e.function}(): ", f"{e.function}() ", f"{e.function}: "):
        if text.startswith(head):
            return text[len(head):]
    return text


def event_log_html(trace, index: int, waits: dict) -> str:
    items = []
    for i, e in enumerate(trace.events, start=1):
        cur = ' class="pw-current" aria-current="step"' if i == index else ""
        who = f"CPU{e.cpu}" if e.cpu is not None else "RCU"
        items.append(f"<li{cur}>{i}. {who} {escape(e.actor)} {function_link_html(e)}: {escape(said(e))}</li>")
    if not items:
        items.append("<li>No step yet: press Step (or the n key) to move one CPU one step.</li>")
    blocked = "".join(f"<li><i>{escape(n)} is blocked: {escape(b.reason)}</i></li>" for n, b in waits.items())
    return (f'<div class="pw-log-scroll" role="region" aria-label="event log" tabindex="0"><b>Event log</b>'
            f'<ol>{"".join(items)}</ol>{"<ul>" + blocked + "</ul>" if blocked else ""}</div>')


def now_html(trace, index: int) -> str:
    """The current step: who, which kernel function, which source file."""
    if index == 0:
        ctx = trace.ctx
        return (f'<div class="pw-now"><b>Step 0 of {len(trace)}</b>: the initial state. {escape(ctx.setup.summary)}. '
                f'The walker (CPU0) reads {ctx.walk_addr:#x}.</div>')
    e = trace.events[index - 1]
    who = f"CPU{e.cpu}" if e.cpu is not None else "RCU"
    return (f'<div class="pw-now"><b>Step {index} of {len(trace)}</b>: {who} {escape(e.actor)} '
            f'{function_link_html(e)}: '
            f"{escape(said(e))}</div>")


def announcement(trace, index: int) -> str:
    """'step 17, CPU1 munmap: tlb_remove_table_rcu() frees PUD table #1'."""
    if index == 0:
        return f"step 0 of {len(trace)}, the initial state: {trace.ctx.setup.summary}"
    return f"step {index} of {len(trace)}, " + step_line(trace.events[index - 1])
