"""What the package prints of values the user gave: file names, fields of a
shared file, option values.  A value from a file may hold a line break or a
terminal escape sequence (ESC [ ... could recolour or clear the learner's
terminal, or hide the rest of a message), and may be a megabyte long; every
echo goes through `echo()` or `quote()`, which escape what cannot be printed
and cut what is too long.  `ascii_spelling()` is the fallback for a terminal
that cannot show the arrows and dashes the text views use.
"""

from __future__ import annotations

import unicodedata

#: How much of one value a message repeats.
ECHO_LIMIT = 80
#: How long one error line may get in all.
LINE_LIMIT = 1000


def _escape(ch: str) -> str:
    if ch.isprintable() or ch == " ":
        return ch
    return repr(ch)[1:-1]  # '\n', '\x1b', '\u202e' (a right-to-left override)


def echo(value: object, limit: int = ECHO_LIMIT) -> str:
    """`value` as text with control and format characters escaped (so that the
    message stays one line and nothing reaches the terminal as a command),
    cut in the middle to about `limit` characters."""
    text = "".join(_escape(ch) for ch in str(value))
    if len(text) <= limit:
        return text
    keep = max(limit - 1, 2)
    head = keep * 2 // 3
    return f"{text[:head]}…{text[len(text) - (keep - head):]}"


def quote(value: object, limit: int = ECHO_LIMIT) -> str:
    """repr()-like for messages ('abc', 5, None), bounded in length; a long
    string also says how long it was."""
    if isinstance(value, str):
        shown = echo(value, limit)
        tail = f" ({len(value)} characters)" if len(shown) < len(value) and "…" in shown else ""
        return f"'{shown}'{tail}"
    return echo(repr(value), limit)


def one_line(message: object, limit: int = LINE_LIMIT) -> str:
    """An error message as one printable line, however it was built."""
    return echo(message, limit) or "failed"


_ASCII = {
    "→": "->", "←": "<-", "↔": "<->", "⇒": "=>", "…": "...", "—": "--", "–": "-", "‘": "'", "’": "'",
    "“": '"', "”": '"', "≤": "<=", "≥": ">=", "≠": "!=", "×": "x", "µ": "u", "·": ".", "•": "*",
    "✓": "ok", "✗": "x", "│": "|", "─": "-", "┌": "+", "┐": "+", "└": "+", "┘": "+", "├": "+", "┤": "+",
    "▶": ">", "◀": "<", "█": "#", "░": ".", "▒": ":", "▓": "#", "\u00a0": " ",
}


def ascii_spelling(text: str) -> str:
    """The same text in ASCII: arrows as '->', dashes as '--', accents
    dropped; anything else left over becomes '?'."""
    out = []
    for ch in text:
        if ch < "\x80":
            out.append(ch)
        elif ch in _ASCII:
            out.append(_ASCII[ch])
        else:
            base = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode("ascii")
            out.append(base or "?")
    return "".join(out)


class OutputFailed(Exception):
    """Standard output is closed (a pipe whose reader left) or full: the
    command stops quietly with a nonzero status."""


class Output:
    """Standard output as the commands use it: text the terminal's encoding
    cannot show (LANG=C, PYTHONIOENCODING=ascii) is written in its ASCII
    spelling instead of failing, and a write error becomes OutputFailed."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        try:
            try:
                return self.stream.write(text)
            except UnicodeEncodeError:
                return self.stream.write(ascii_spelling(text))
        except (OSError, ValueError) as err:  # ValueError: the stream was closed
            raise OutputFailed(str(err)) from None

    def flush(self) -> None:
        try:
            self.stream.flush()
        except (OSError, ValueError) as err:
            raise OutputFailed(str(err)) from None

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


def spelled_for(stream, text: str) -> str:
    """`text` as `stream` can show it: its ASCII spelling when the stream's
    encoding lacks a character (stderr would otherwise print '\\u2192')."""
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        text.encode(encoding)
        return text
    except (UnicodeEncodeError, LookupError):
        return ascii_spelling(text)


def error_line(stream, prog: str, message: object) -> None:
    """Print `prog: error: message` as one line the stream can show."""
    print(spelled_for(stream, f"{prog}: error: {one_line(message)}"), file=stream)
