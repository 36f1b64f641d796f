"""Predict, then reveal: a seeded quiz over the named scenarios."""

from __future__ import annotations

import random
from html import escape

import ipywidgets as W

from ..explore.verdict import VERDICTS
from ..scenarios import named_scenarios
from ..viz.question import cli_command, question, verdict_words
from .common import cached_verdict, message
from .frontend import KeyHelper, RunThisCell, no_kernel_note, style

MECHANISMS = ("a lock excludes it", "an RCU grace period", "an IPI waits for IRQs", "floor/ceiling keeps the tables",
              "nothing: it is not safe", "no table is freed")


def _pool(groups) -> list:
    """The named scenarios of `groups` (None: all; a string: one group)."""
    known = sorted({x.group for x in named_scenarios()})
    if groups is None:
        return list(named_scenarios())
    if isinstance(groups, str):
        groups = (groups,)
    if not isinstance(groups, (tuple, list, set, frozenset)) or not all(isinstance(g, str) for g in groups):
        raise TypeError(f"groups must be a list of group names ({', '.join(known)}), got {type(groups).__name__}")
    for g in groups:
        if g not in known:
            raise ValueError(f"unknown group {g!r}; accepted: {', '.join(known)}")
    if not groups:
        raise ValueError(f"groups is empty; name at least one of {', '.join(known)}, or leave it out for all")
    return [x for x in named_scenarios() if x.group in groups]


def scenario_line(scenario, open_: bool = False) -> str:
    """The exact question, folded: the CLI command that asks it, and the
    scenario line the CLI prints (every setting), for a learner to paste."""
    command = cli_command(scenario)
    # one argument never breaks across lines (--hugetlb-walk-lock stays whole)
    args = " ".join(f'<span style="white-space:nowrap">{escape(a)}</span>' for a in (command or "").split(" "))
    run = (f'<div>Run it yourself:</div><div class="pw-mono pw-command">{args}</div>' if command else
           "<div>Its layout is a scenario file's own: run that file with "
           '<span class="pw-mono">pagewalk-edu verdict --scenario FILE</span>.</div>')
    return (f'<details class="pw-scenario-line"{" open" if open_ else ""}><summary>as a scenario line</summary>{run}'
            f'<div>Every setting, as the explorer prints it:</div><div class="pw-mono">{escape(scenario.describe())}</div>'
            '</details>')


class Quiz(RunThisCell, W.VBox):
    """Quiz(seed, n, groups): n (at least 1) questions drawn with `seed` from the
    named scenarios of `groups` (None for all).  Attributes tests drive:
    `answer` (RadioButtons), `mechanism`, `reveal_button`, `next_button`; read:
    `question`, `feedback`, `score`, `current`."""

    def __init__(self, seed: int = 0, n: int = 8, groups: tuple[str, ...] | str | None = None):
        pool = _pool(groups)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"n must be a positive integer (the number of questions), got {type(n).__name__}")
        if n < 1:
            raise ValueError(f"n must be at least 1 (the number of questions; at most {len(pool)} are asked), got {n}")
        rng = random.Random(seed)
        self.questions = rng.sample(pool, min(n, len(pool)))
        self.position = 0
        self.right = 0
        self.answered = 0
        self.question = W.HTML()
        self.answer = W.RadioButtons(options=list(VERDICTS), description="verdict")
        self.mechanism = W.Dropdown(options=["(optional)"] + list(MECHANISMS), description="because")
        self.reveal_button = W.Button(description="Reveal", tooltip="show the explorer's answer", button_style="info")
        self.next_button = W.Button(description="Next question", tooltip="go to the next question")
        self.feedback = W.HTML()
        self.score = W.HTML()
        self.reveal_button.on_click(lambda _: self.reveal())
        self.next_button.on_click(lambda _: self.next())
        self.frontend = KeyHelper(lambda _cmd: None)
        self.note = W.HTML(no_kernel_note())
        super().__init__([style(), self.question, self.answer, self.mechanism, W.HBox([self.reveal_button, self.next_button]),
                          self.feedback, self.score, self.note, self.frontend])
        self.add_class("pw-root")
        self._show()

    @property
    def current(self):
        return self.questions[self.position] if self.position < len(self.questions) else None

    def _show(self) -> None:
        q = self.current
        self._revealed = False
        self._answer_html = ""
        self.feedback.value = ""
        if q is None:
            self.question.value = "<b>Done.</b>"
            self.reveal_button.disabled = True
            self.next_button.disabled = True
        else:
            words = question(q.scenario)
            self.question.value = (f"<p><b>Question {self.position + 1} of {len(self.questions)}:</b> "
                                   f"{escape(' '.join(words.walker))}</p>"
                                   "<ul>" + "".join(f"<li>{escape(p)}</li>" for p in words.paths) + "</ul>"
                                   f"<p>{escape(' '.join(words.kernel))}</p>"
                                   "<p>Can the walker read a freed page table, or get stuck? Pick a verdict.</p>"
                                   + scenario_line(q.scenario))
        self.score.value = f"Score: {self.right} / {self.answered}"

    def reveal(self) -> None:
        q = self.current
        if q is None or self._revealed:
            notice = message("Already revealed: press Next question." if q is not None else "No more questions.")
            self.feedback.value = notice + self._answer_html
            return
        v = cached_verdict(q.scenario)
        self._revealed = True
        self.answered += 1
        ok = self.answer.value == v.verdict
        self.right += ok
        verdict_line = (("Right" if ok else "Not quite") + f": the explorer says {v.verdict}: "
                        f"{verdict_words(v.verdict, v.violation)}. It tried every interleaving ({v.states} states).")
        self._answer_html = (message(verdict_line, "ok" if ok else "error")
                             + f"<p><b>Why:</b> {escape(q.reason)}</p><ul>" + "".join(f"<li>{escape(w)}</li>" for w in v.why)
                             + "</ul>" + scenario_line(q.scenario, open_=True))
        self.feedback.value = self._answer_html
        self.score.value = f"Score: {self.right} / {self.answered}"

    def next(self) -> None:
        if self.position < len(self.questions):
            self.position += 1
        self._show()
