"""Command-line option kinds shared by every `pagewalk-edu` command (cli.py and
tables/cli.py import them from here, so neither imports the other)."""

from __future__ import annotations

import argparse

from .console import echo, one_line

PROG = "pagewalk-edu"


class UsageError(Exception):
    """Bad input: one line, exit 2; `prog` starts the line."""

    def __init__(self, message: str, prog: str = PROG) -> None:
        super().__init__(one_line(message))
        self.prog = prog


class Once(argparse.Action):
    """An option that takes one value: giving it twice is an error, not a silent override."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        given = given_options(namespace)
        if self.dest in given:
            parser.error(f"{self.option_strings[-1]} given twice; give it once")
        given.add(self.dest)
        setattr(namespace, self.dest, values)


class ConfigList(argparse.Action):
    """--config KEY=VAL,...: repeated flags combine into one list (a key given
    twice across them is still an error, reported when the list is parsed)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        given_options(namespace).add(self.dest)
        old = getattr(namespace, self.dest, None)
        parts = [x for x in (old, values) if x is not None and x.strip()]
        setattr(namespace, self.dest, ",".join(parts) if parts else values)


def given_options(namespace: argparse.Namespace) -> set[str]:
    """The dests of the options given on the command line (not defaults)."""
    given = getattr(namespace, "_given", None)
    if given is None:
        given = set()
        setattr(namespace, "_given", given)
    return given


def file_to_read(text: str) -> str:
    """An option naming a file to read: not empty."""
    from .files import user_path  # only when a file is named (files.py is a start-up cost the others skip)

    try:
        return user_path(text, "file")
    except (ValueError, TypeError) as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def file_to_write(text: str) -> str:
    """An option naming a file to write: not empty, and not ending in '/' (that
    names a folder, which must not silently become a file of that name)."""
    from .files import user_path

    try:
        name = user_path(text, "file")
    except (ValueError, TypeError) as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    if name.endswith("/"):
        raise argparse.ArgumentTypeError(f"{echo(name)} ends with '/', so it names a folder; give a file name")
    return name


def matrix_walks(walk: str | None, walker: str, patch: str | None = None) -> list[str]:
    """The walkers `matrix --walk` names (comma-separated; None is
    folio_walk_start), checked against --walker and --patch: a one-line
    ValueError naming what is accepted.  The Matrix widget checks its walk
    choice with it too, so both refuse the same settings in the same words."""
    from .kernel.layout import WALKS
    from .kernel.walkers.assertions import PATCHES

    walks = [w.strip() for w in (walk or WALKS[0]).split(",")]
    for w in walks:
        if w not in WALKS:
            raise ValueError(f"unknown walk {w!r} in --walk; accepted: {', '.join(WALKS)}, or both comma-separated")
    if len(set(walks)) != len(walks):
        raise ValueError("--walk names a walker twice")
    if "gup_fast" in walks and walker != "local":
        # mm/gup.c gup_fast_pgd_range(): pgd_offset(current->mm, ...)
        raise ValueError("gup_fast walks current->mm, so it is always a local walker; drop --walker remote "
                         "(set the walker to local)")
    if patch is not None:
        if patch not in PATCHES:
            raise ValueError(f"unknown patch {patch!r}; accepted: none, {', '.join(PATCHES)}")
        others = [w for w in walks if w != WALKS[0]]
        if others:
            raise ValueError(f"--patch {patch} is a flag of folio_walk_start(); {', '.join(others)} does not take it")
    return walks
