"""The widgets' front-end pieces, shipped as package files (no network):
the style sheet, and the key helper, an anywidget that keeps keystrokes away
from JupyterLab's notebook shortcuts, sends Step/Back keys to Python,
announces each step in a live region and notices a kernel that is gone.
Without the anywidget package the widgets still work, with no key helper."""

from __future__ import annotations

import os
from functools import lru_cache
from importlib import resources

import ipywidgets as W

GONE = ("This widget is not connected to a running Python kernel (the kernel restarted or this is a saved page), "
        "so its buttons do nothing. Run the cell again, or step through the same race in the kernel-free stepper "
        "or the in-browser course.")


@lru_cache(maxsize=None)
def asset(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


def style() -> W.HTML:
    return W.HTML(f"<style>{asset('widgets.css')}</style>", layout=W.Layout(display="none"))


def no_kernel_note() -> str:
    """Shown in a message area until the key helper hears from the kernel:
    visible in a static page and after a restart, hidden while Python answers."""
    return (f'<span class="pw-nokernel">{GONE} Kernel-free stepper: the course site\'s "Steppers" pages; '
            f'in-browser course: the "Lite" link of the course site.</span>')


class LiveRegion(W.HTML):
    """The live region as plain HTML, with no key handling: where anywidget is
    missing, and on a saved page (the docs site), whose widget renderer cannot
    load an anywidget's script and would show a broken-widget icon instead."""

    def __init__(self, on_command, **kw):
        super().__init__(**kw)
        self._on_command = on_command

    @property
    def announce(self) -> str:
        return getattr(self, "_announce", "")

    @announce.setter
    def announce(self, text: str) -> None:
        from html import escape

        self._announce = text
        self.value = f'<div class="pw-live" role="status" aria-live="polite">{escape(text)}</div>'


try:
    import anywidget
    import traitlets

    class _KeyHelper(anywidget.AnyWidget):
        """Front-end helper of one widget (see the module docstring)."""

        _esm = asset("names.js") + asset("keys.js")  # one module: the names, then the keys
        announce = traitlets.Unicode("").tag(sync=True)
        gone_text = traitlets.Unicode(GONE).tag(sync=True)

        def __init__(self, on_command, **kw):
            super().__init__(**kw)
            self._on_command = on_command
            self.on_msg(self._msg)

        def _msg(self, _widget, content, _buffers) -> None:
            cmd = content.get("cmd") if isinstance(content, dict) else None
            if cmd == "ping":
                self.send({"cmd": "pong"})
            elif cmd in ("step", "back"):
                self._on_command(cmd)
                self.send({"cmd": "pong"})

    HAVE_HELPER = True
except ImportError:  # pragma: no cover - anywidget is a dependency; Pyodide may lack it
    HAVE_HELPER = False


def KeyHelper(on_command, **kw):  # noqa: N802 - stands for the class it picks
    """The key helper, or its plain-HTML live region where it cannot run (no
    anywidget; PAGEWALK_SAVED_PAGE=1 when the docs build saves the page)."""
    if HAVE_HELPER and os.environ.get("PAGEWALK_SAVED_PAGE") != "1":
        return _KeyHelper(on_command, **kw)
    return LiveRegion(on_command, **kw)


def close_tree(*roots: W.Widget) -> None:
    """Close widgets and every widget they hold (children, layout, style).  A
    widget only dropped from a box stays alive, in the kernel and in the page's
    widget manager, which restores every live one each time the notebook is
    opened again (and saves it, with JupyterLab's "save widget state" on): a
    Matrix that opened forty cells held forty Explorers."""
    seen: set[int] = set()
    todo = list(roots)
    while todo:
        w = todo.pop()
        if not isinstance(w, W.Widget) or id(w) in seen:
            continue
        seen.add(id(w))
        for name in w.keys:
            v = getattr(w, name, None)
            todo.extend(v if isinstance(v, (list, tuple)) else [v])
        W.Widget.close(w)  # the base close: a widget's own close() calls close_tree


class RunThisCell:
    """text/plain of a widget in a saved notebook: a line, not a Python repr."""

    placeholder = "run this cell to use the widget"

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs)
        if isinstance(data, tuple):
            bundle, meta = data
        else:
            bundle, meta = data, {}
        if isinstance(bundle, dict):
            bundle = dict(bundle)
            bundle["text/plain"] = f"{type(self).__name__}: {self.placeholder} (it needs a running Python kernel)"
        return (bundle, meta) if isinstance(data, tuple) else bundle
