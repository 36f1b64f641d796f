"""Where in the kernel a step's function lives, as a link the reader may
follow: every event carries a source reference ("mm/mmu_gather.c:
tlb_remove_table_rcu", kernel/steps.py Event.source).  The link shows the
file name on the page and names it in its title, so nothing needs the
network to read it; its href is an Elixir cross-reference URL, opened only
if the reader follows it (the package itself fetches nothing)."""

from __future__ import annotations

from html import escape

#: the source browser the links point at (a file path is appended)
ELIXIR = "https://elixir.bootlin.com/linux/latest/source/"


def source_ref(e) -> tuple[str, str]:
    """('mm/memory.c', 'free_pgd_range') from an event's 'mm/memory.c: free_pgd_range'."""
    if not e.source:
        return "", ""
    path, _, func = e.source.partition(":")
    return path.strip(), func.strip()


def source_url(path: str) -> str:
    return ELIXIR + path


def function_link_html(e) -> str:
    """`tlb_remove_table_rcu()` with its file beside it, as one link; a plain
    name when the event has no source reference."""
    path, func = source_ref(e)
    name = f"<code>{escape(e.function)}()</code>"
    if not path:
        return name
    where = f"{path}: {func}()" if func and func != e.function else path
    title = f"{where} (kernel source; the link opens elixir.bootlin.com)"
    return (f'<a class="pw-src-link" href="{escape(source_url(path))}" target="_blank" rel="noopener noreferrer" '
            f'title="{escape(title)}">{name} <span class="pw-src">({escape(path)})</span></a>')
