"""What the lessons call besides the simulator: honest predictions (an answer is
shown only once a prediction is made), quizzes over named scenarios, the
auto-checked exercises of the last lesson, and putting a lesson back to a clean
copy (`python -m pagewalk_edu.course reset 03`).

Exercises: each asks for a set of protections; the check runs the explorer on
every case the exercise names and answers with what failed, the mechanism, and
a hint: the one for that failure where the exercise has one (a sleeping lock
taken in atomic context: the order of the holds), else the next of its general
hints, counted per failing case, so a new kind of mistake starts again from the
first. answer_key() shows, once an answer is set, which answers pass and why."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .explore.verdict import VERDICTS, verdict
from .files import write_atomic
from .kernel.scenario import ACTIONS, make_scenario, parse_holds
from .scenarios import named

# ---------------------------------------------------------------- predictions

#: What a reveal prints while the learner's prediction is still None.
NOT_YET = "Make a prediction first: set my_prediction in the cell above to one of {choices}, run that cell, then this one."


def _check_prediction(prediction, choices) -> str | None:
    """None if `prediction` is acceptable, else the one line saying what is accepted."""
    if prediction is None:
        return NOT_YET.format(choices=", ".join(map(repr, choices)))
    if prediction not in choices or isinstance(prediction, bool):
        return f"Not one of the choices: my_prediction must be one of {', '.join(map(repr, choices))}; got {prediction!r}."
    return None


def reveal_verdict(prediction, name: str) -> None:
    """Print the explorer's verdict on named scenario `name` (see
    pagewalk_edu/scenarios/verdicts.json) next to the learner's prediction, one of
    VERDICTS; until a prediction is made, print only that one is needed."""
    n = named(name)  # an unknown name fails here, prediction or not
    problem = _check_prediction(prediction, VERDICTS)
    if problem:
        print(problem)
        return
    v = verdict(n.scenario)
    print(f"You predicted {prediction!r}. The explorer says {v.verdict!r} for {name} ({v.states} states)."
          + ("  Right." if prediction == v.verdict else "  Not right: why is below."))
    for w in v.why:
        print(" -", w)


def reveal_answer(prediction, choices, answer) -> None:
    """Print `answer()` (a pair: the right choice and lines explaining it) next to
    the learner's prediction, one of `choices`; until a prediction is made, print
    only that one is needed (answer() is not even called)."""
    problem = _check_prediction(prediction, tuple(choices))
    if problem:
        print(problem)
        return
    right, lines = answer()
    print(f"You predicted {prediction!r}. The answer is {right!r}." + ("  Right." if prediction == right else "  Not right: why is below."))
    for line in lines:
        print(" -", line)


def uaf_reachable(name: str) -> tuple[str, list[str]]:
    """For reveal_answer(): 'yes' if the explorer reaches a use-after-free in named scenario `name`."""
    v = verdict(named(name).scenario)
    return ("yes" if v.verdict == "unsafe" else "no"), [f"the explorer says {v.verdict} for {name}"] + list(v.why)


def quiz(*names: str):
    """A Quiz widget over the named scenarios `names`, in that order, with no
    answer pre-selected; Reveal asks for a pick first."""
    from .widgets.quiz import Quiz
    from .widgets.common import message

    class LessonQuiz(Quiz):
        def reveal(self) -> None:
            if self.current is not None and not self._revealed and self.answer.value is None:
                self.feedback.value = message("Make a prediction first: pick a verdict, then press Reveal.")
                return
            super().reveal()

        def _show(self) -> None:
            super()._show()
            self.answer.value = None  # a prediction starts empty

    if not names:
        raise ValueError("quiz() needs at least one named scenario")
    questions = [named(x) for x in names]
    q = LessonQuiz(seed=0, n=1)
    q.questions = questions
    q._show()
    return q

# ---------------------------------------------------------------- exercises


@dataclass(frozen=True)
class Exercise:
    key: str
    prompt: str
    walker: str
    cases: tuple[tuple[str, str, str | None, str | None], ...]  # (action, kernel, config, fault)
    accept: tuple[str, ...]  # verdicts that count as a pass
    forbid: tuple[str, ...] = ()  # holders the exercise rules out
    hints: tuple[str, ...] = ()
    #: (words in a failure line, the hint for that failure): shown instead of the general hints
    advice: tuple[tuple[str, str], ...] = ()
    #: answers the answer key checks and shows, passing or failing, in this order
    answers: tuple[str, ...] = ()

#: Why the order of the holds matters, as the model has it (kernel/walkers/caller.py) and the kernel does:
#: holds are taken in the order written; vma_lock is lock_vma_under_rcu(), which never sleeps (it fails
#: instead of waiting), but when it fails (munmap or mremap has write-locked the VMA) the caller falls back
#: to mmap_read_lock(), a sleeping lock: after rcu_read_lock() or local_irq_disable() that is a sleep in
#: atomic context, which might_sleep() reports as "BUG: sleeping function called from invalid context".
ORDER_MATTERS = ("Order matters: the walker takes what it holds in the order you write it. vma_lock is "
                 "lock_vma_under_rcu(), which never sleeps, but when munmap or mremap has write-locked the VMA it "
                 "fails and the caller falls back to mmap_read_lock(), which sleeps. Inside rcu_read_lock() or with "
                 "IRQs off that is a sleep in atomic context: 'BUG: sleeping function called from invalid context'. "
                 "Take the sleeping lock first, then rcu or irqs_off.")
SLEEPING = "sleeping function called from invalid context"


EXERCISES = {
    "remote-walker": Exercise(
        "remote-walker",
        "A new walker reads another process's memory, like __access_remote_vm(): it runs on a CPU that is not in the "
        "target mm's cpumask. Choose what it holds so that no interleaving gives a use-after-free or a deadlock, "
        "against every action, on both kernels, with the default config and with PT_RECLAIM=n plus a failed "
        "batch allocation.",
        "remote",
        tuple((a, k, c, f) for a in ACTIONS for k in ("6.18", "7.1") for c, f in ((None, None), ("PT_RECLAIM=n", "batch_alloc_fail"))),
        ("safe", "safe_but_stale"),
        hints=("Which actions free tables that the walk uses? munmap, munmap_partial and mremap write-lock the VMA first.",
               "retract_page_tables() takes no VMA lock: its pte_free_defer() waits for a grace period.",
               "On 6.18 without PT_RECLAIM a failed batch allocation frees after an IPI: rcu_read_lock() does not stop it."),
        advice=((SLEEPING, ORDER_MATTERS),
                ("with PT_RECLAIM=n and batch_alloc_fail: unsafe",
                 "Look at the failing case: on 6.18 without PT_RECLAIM a failed batch allocation frees the table right "
                 "after an IPI, and rcu_read_lock() does not block IPIs. What could the walker hold so that munmap "
                 "and mremap cannot free its tables at all while it walks?")),
        answers=("vma_lock", "vma_lock,rcu", "vma_lock,irqs_off", "rcu", "rcu,vma_lock"),
    ),
    "atomic-walker": Exercise(
        "atomic-walker",
        "A local walker runs in atomic context (under a spinlock, or with IRQs already off): it may not sleep. That "
        "rules out mmap_lock (mmap_read_lock() sleeps) and, as this course models it, vma_lock: lock_vma_under_rcu() "
        "itself never sleeps (vma_start_read() only tries, and returns NULL while munmap or mremap has the VMA "
        "write-locked), but its caller then falls back to mmap_read_lock(). Make it safe (no use-after-free) against "
        "munmap and mremap on v6.18 with PT_RECLAIM=n and a failed batch allocation.",
        "local",
        tuple((a, "6.18", "PT_RECLAIM=n", "batch_alloc_fail") for a in ("munmap", "munmap_partial", "mremap")),
        ("safe", "safe_but_stale"),
        forbid=("mmap_lock", "vma_lock"),
        hints=("tlb_remove_table_sync_one() sends an IPI and frees as soon as it is answered.",
               "What keeps a CPU from answering an IPI?"),
    ),
    "no-stale": Exercise(
        "no-stale",
        "A local walker must never even see an unlinked table while munmap() and mremap() of its own VMA run. "
        "What must it hold?",
        "local",
        tuple((a, "6.18", None, None) for a in ("munmap", "munmap_partial", "mremap")),
        ("safe",),
        hints=("RCU and IRQs off keep a table from being freed, not from being unlinked.",
               "munmap() write-locks the VMA and takes mmap_lock for write before unlinking anything."),
    ),
}


@lru_cache(maxsize=1024)
def _case_verdict(holds: tuple[str, ...], action: str, kernel: str, walker: str, config, fault):
    """One case of an exercise (cached: the answer key and a learner's retries ask the same cases again)."""
    return verdict(make_scenario(list(holds) if holds != ("none",) else "none", action, kernel, walker, config, fault))


@dataclass
class Feedback:
    passed: bool
    lines: list[str]

    def __str__(self) -> str:
        return "\n".join(self.lines)


def check(key: str, holds) -> Feedback:
    """Check a proposed protection set for exercise `key`.  A wrong answer comes
    with a hint: the first, then the next at each further wrong answer to the
    same exercise, staying on the last (reset_hints() starts over)."""
    if key not in EXERCISES:
        raise ValueError(f"no exercise {key!r}; accepted: {', '.join(EXERCISES)}")
    ex = EXERCISES[key]
    if holds is None:  # the exercise cell as shipped: no answer yet, so no verdict either
        return Feedback(False, ["Write your answer first: set answer to what the walker holds, "
                                "e.g. 'rcu' or 'vma_lock,irqs_off', then run the cell."])
    try:
        chosen = parse_holds(holds)
    except (ValueError, TypeError) as err:  # a typo such as "vma-lock": one line, no traceback in the notebook
        return Feedback(False, [f"Not an answer: {err}. Write e.g. 'vma_lock,rcu'."])
    bad = [h for h in chosen if h in ex.forbid]
    if bad:
        return Feedback(False, [f"Not allowed here: {', '.join(bad)} (the exercise rules out {', '.join(ex.forbid)})."])
    failures = []
    for action, kernel, config, fault in ex.cases:
        v = _case_verdict(tuple(chosen) or ("none",), action, kernel, ex.walker, config, fault)
        if v.verdict not in ex.accept or v.bugs:
            where = f"{action} on {kernel}" + (f" with {config}" if config else "") + (f" and {fault}" if fault else "")
            if v.bugs:  # the bug is the failure; the verdict's why is about another interleaving, so it is left out
                failures.append(f"{where}: {v.bugs[0].rstrip('.')}.")
            else:
                failures.append(f"{where}: {v.verdict}. {v.why[0] if v.why else ''}".rstrip())
    if not failures:
        return Feedback(True, [f"Passed: {'+'.join(chosen) or 'none'} works for all {len(ex.cases)} cases."])
    lines = [f"{len(failures)} of {len(ex.cases)} cases fail, for example:"] + [f"  - {f}" for f in failures[:3]]
    advice = [text for words, text in ex.advice if words in failures[0]]
    if advice:  # a hint for this very mistake
        lines.append("Hint: " + advice[0])
    elif ex.hints:  # the next general hint for this failing case, then stays on the last
        case = (key, failures[0].split(". ", 1)[0])  # where it failed and how: "munmap on 6.18: unsafe"
        n = _wrong.get(case, 0)
        _wrong[case] = n + 1
        lines.append("Hint: " + hint(key, n))
    return Feedback(False, lines)


#: Other answers that pass an exercise, found by checking every order of every subset of the holds
#: (the exercise's own key list aside, and leaving out answers that only add holds to one of these): the
#: answer key checks each again and says why it passes.
ALSO_PASS = {
    "remote-walker": (
        ("mmap_lock", "excludes munmap, munmap_partial and mremap as vma_lock does (they write-lock the mmap_lock "
                      "first); MADV_DONTNEED and retract_page_tables() free only the PTE table, through RCU, which "
                      "pte_offset_map_lock()'s own RCU section holds off."),
        ("irqs_off", "IRQs off holds off grace periods as rcu_read_lock() does, so every RCU free waits; v6.18's "
                     "fallback IPI, tlb_remove_table_sync_one(), goes to all other CPUs and waits for this one too; "
                     "and a remote walker's CPU is not in the target mm's cpumask, so no TLB-flush IPI waits for it "
                     "(no Part 4 deadlock). What the model does not check: how this walker found its VMA. It walks "
                     "with a VMA pointer looked up earlier; in the kernel nothing but mmap_lock or the VMA lock stops "
                     "munmap from removing that VMA meanwhile, so a real caller takes one of them. (rcu,irqs_off "
                     "passes too: irqs_off does the work.)"),
    ),
}


def answer_key(key: str, answer) -> None:
    """The answer key of exercise `key`, once the learner has set `answer`: each
    answer of the exercise's key list checked now, passing or with its first
    failure; then the other answers that pass, checked too, with why; and why
    the order of the holds matters."""
    if key not in EXERCISES:
        raise ValueError(f"no exercise {key!r}; accepted: {', '.join(EXERCISES)}")
    if answer is None:
        print("Try the exercise first: the answer key appears once answer above is set.")
        return
    ex = EXERCISES[key]
    saved = dict(_wrong)  # checking the key's answers must not move the learner's hints on
    try:
        for holds in ex.answers or (REFERENCE[key],):
            f = check(key, holds)
            if f.passed:
                print(f"{holds:20s} passes all {len(ex.cases)} cases")
            else:
                print(f"{holds:20s} {f.lines[0].replace(', for example:', '')}: {f.lines[1].strip().removeprefix('- ')}")
        also = ALSO_PASS.get(key, ())
        if also:
            print("Also passing:")
        for holds, why in also:
            f = check(key, holds)
            print(f"{holds:20s} {'passes all %d cases' % len(ex.cases) if f.passed else f.lines[0]}: {why}")
    finally:
        _wrong.clear()
        _wrong.update(saved)
    if any(SLEEPING in text for text, _ in ex.advice):
        print(ORDER_MATTERS)


#: The reference answer of each exercise (one of possibly several that pass).
REFERENCE = {"remote-walker": "vma_lock,rcu", "atomic-walker": "irqs_off", "no-stale": "vma_lock"}

#: Why each reference answer passes, and what the cases do not test (the kernel reasons are the
#: explorer's: mm/pgtable-generic.c __pte_offset_map() takes rcu_read_lock() of its own; mm/mmu_gather.c
#: tlb_remove_table_sync_one() IPIs every CPU; with MMU_GATHER_RCU_TABLE_FREE=n the free waits only for
#: the flush IPI to mm_cpumask()).
REFERENCE_WHY = {
    "remote-walker": (
        "It is the reviewer's design of lesson 06: rcu_read_lock() where the patch had IRQs off. These cases do not "
        "need the rcu: the VMA lock keeps munmap, munmap_partial and mremap from freeing any table under the walk, "
        "and what it does not exclude (retract_page_tables(), MADV_DONTNEED with PT_RECLAIM) frees only PTE tables, "
        "after a grace period that pte_offset_map()'s own rcu_read_lock() holds open. So vma_lock alone passes too.",
        "irqs_off passes because every case frees tables by RCU (MMU_GATHER_RCU_TABLE_FREE=y), or, after a failed "
        "batch allocation, after tlb_remove_table_sync_one()'s IPI to every CPU: a CPU with IRQs off holds back "
        "both. With MMU_GATHER_RCU_TABLE_FREE=n the free waits only for the TLB flush's IPI to the mm's cpumask, "
        "which a remote walker is not in: irqs_off+munmap/no_rcu_table_free/remote is unsafe (lesson 06)."),
    "atomic-walker": (
        "On 6.18 with PT_RECLAIM=n a failed batch allocation frees the table as soon as "
        "tlb_remove_table_sync_one()'s IPI is answered, and a CPU with IRQs off answers it only after the walk; "
        "rcu_read_lock() does not hold the IPI back.",
        "irqs_off passes these cases only because none of them flushes the TLB under the ptl the walker spins on: "
        "folio_walk_start() with IRQs off deadlocks against retract_page_tables() (lesson 05) and against a zap "
        "whose gather batch is full (lesson 06). Exercise 4 asks which walker avoids that."),
    "no-stale": (
        "munmap() and mremap() write-lock the VMA (vma_start_write()) before they unlink anything, so a walker "
        "holding its read lock never meets an unlinked table. rcu and irqs_off only delay the free: the walker "
        "can still read the unlinked table (safe_but_stale).",),
}

#: The holds the answers to exercises 1-3 are made of, sleeping locks first (the order that never sleeps
#: in atomic context: see ORDER_MATTERS).
ANSWER_HOLDS = ("mmap_lock", "vma_lock", "rcu", "irqs_off")


def passing_answers(key: str) -> tuple[list[str], list[str]]:
    """Every set of ANSWER_HOLDS (written sleeping locks first) that passes exercise
    `key`, checked now, and the smallest of them (no passing set inside them)."""
    from itertools import combinations

    ex = EXERCISES[key]
    allowed = [h for h in ANSWER_HOLDS if h not in ex.forbid]
    sets = [c for n in range(1, len(allowed) + 1) for c in combinations(allowed, n)]
    saved = dict(_wrong)  # checking these must not move the learner's hints on
    try:
        passing = [c for c in sets if check(key, ",".join(c)).passed]
    finally:
        _wrong.clear()
        _wrong.update(saved)
    smallest = [c for c in passing if not any(set(o) < set(c) for o in passing)]
    return [",".join(c) for c in passing], [",".join(c) for c in smallest]


def _passing_in_words(key: str) -> str:
    passing, smallest = passing_answers(key)
    ex = EXERCISES[key]
    allowed = [h for h in ANSWER_HOLDS if h not in ex.forbid]
    supersets = {",".join(h for h in allowed if h in set(m.split(",")) | extra)
                 for m in smallest for extra in _subsets(allowed)}
    if set(passing) == supersets:  # every set holding one of the smallest passes
        return ("every set of holds that includes " + " or ".join(smallest)
                + f" ({len(passing)} of the {2 ** len(allowed) - 1} sets of {', '.join(allowed)})")
    return ", ".join(passing)


def _subsets(items):
    from itertools import combinations

    return [set(c) for n in range(len(items) + 1) for c in combinations(items, n)]


def reference_answers(*answers) -> None:
    """For each of exercises 1-3, once the learner has tried every one (each of
    `answers` is no longer None): the reference answer, checked, and why it passes;
    every answer that passes, checked now; and what the learner's own answer gets."""
    if not answers or any(a is None for a in answers):
        print("Try each exercise first: the reference answers appear once every answer above is set.")
        return
    from textwrap import fill

    def say(text: str) -> None:
        print(fill(text, width=112, initial_indent="  ", subsequent_indent="    "))

    for n, ((key, holds), mine) in enumerate(zip(REFERENCE.items(), answers), start=1):
        ex = EXERCISES[key]
        print(f"Exercise {n} ({key})")
        say(f"Reference answer: {holds}, which {'passes' if check(key, holds).passed else 'FAILS'} all "
            f"{len(ex.cases)} cases.")
        for why in REFERENCE_WHY[key]:
            say(why)
        say(f"Every answer that passes (checked now, sleeping locks written first): {_passing_in_words(key)}.")
        saved = dict(_wrong)
        try:
            f = check(key, mine)
        except (TypeError, ValueError) as err:
            say(f"Your answer, {mine!r}: {err}")
            continue
        finally:
            _wrong.clear()
            _wrong.update(saved)
        if f.passed:
            got = "passes too."
        elif len(f.lines) > 1:
            got = f"{f.lines[0].replace(', for example:', '')}, e.g. {f.lines[1].strip().removeprefix('- ').split('. ', 1)[0]}."
        else:
            got = f.lines[0].removeprefix("Not an answer: ")  # "Your answer, 'x': unknown holder 'x'; ..."
        say(f"Your answer, {mine!r}: {got}")


#: How many wrong answers each (exercise, first failing case) has had this session: which hint comes next.
_wrong: dict[tuple[str, str], int] = {}


def reset_hints(key: str | None = None) -> None:
    """Start the hints of exercise `key` (or of every exercise) from the first again."""
    if key is None:
        _wrong.clear()
    else:
        for case in [c for c in _wrong if c[0] == key]:
            del _wrong[case]


def hint(key: str, n: int = 0) -> str:
    """Hint `n` (from 0) of exercise `key`; past the last, the last."""
    if key not in EXERCISES:
        raise ValueError(f"no exercise {key!r}; accepted: {', '.join(EXERCISES)}")
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"n must be a hint number (an integer from 0), got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"n must be a hint number from 0, got {n}")
    ex = EXERCISES[key]
    return ex.hints[min(n, len(ex.hints) - 1)] if ex.hints else "No hint for this one."

# ---------------------------------------------------------------- reset a lesson

LESSONS = Path(__file__).resolve().parents[1] / "notebooks"
KEPT = "my-copies"  # where reset_lesson() keeps the learner's own copy


def _lesson_files(folder: Path, lesson: str) -> list[Path]:
    files = sorted(folder.glob("*.ipynb"))
    if lesson == "all":
        return files
    hits = [f for f in files if f.name == lesson or f.stem == lesson or f.name.startswith(f"{lesson}-")]
    if not hits:
        raise ValueError(f"no lesson {lesson!r} in {folder.name}/; accepted: all, "
                         + ", ".join(f.name.split("-")[0] for f in files))
    return hits


def _clean_copy(path: Path, source: Path | None) -> bytes:
    """The lesson as shipped: from `source` (a folder of clean lessons) or from the git checkout's HEAD."""
    if source is not None:
        clean = source / path.name
        if not clean.is_file():
            raise ValueError(f"{path.name} is not in {source}; give the folder that holds the clean lessons")
        return clean.read_bytes()
    try:
        top = subprocess.run(["git", "-C", str(path.parent), "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True).stdout.strip()
        rel = path.resolve().relative_to(Path(top).resolve()).as_posix()
        return subprocess.run(["git", "-C", top, "show", f"HEAD:{rel}"], capture_output=True, check=True).stdout
    except (OSError, ValueError, subprocess.CalledProcessError):
        raise ValueError(f"no clean copy of {path.name}: {path.parent} is not a git checkout of the course; "
                         "pass source=FOLDER (or --source FOLDER) holding the clean lessons") from None


class Lines(list):
    """What reset_lesson() returns: a list of lines that a notebook shows as
    lines, one a row, not as a list's repr."""

    def __repr__(self) -> str:
        return "\n".join(self)

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(repr(self))


def reset_lesson(lesson: str, folder: str | Path | None = None, *, source: str | Path | None = None) -> list[str]:
    """Put lesson `lesson` ('03', '03-munmap-free-pgtables.ipynb' or 'all') in
    `folder` (default: the course's notebooks/) back to the clean copy as
    shipped.  The learner's own copy is never lost: it moves to
    folder/my-copies/NAME-YYYYmmdd-HHMMSS.ipynb first.  Returns one line per
    lesson (Lines: a list, shown as lines)."""
    if not isinstance(lesson, str):
        raise TypeError(f"lesson must be a string such as '03' or 'all', got {type(lesson).__name__}")
    if in_browser() and source is None:
        return _reset_in_browser(lesson, Path(folder) if folder is not None else Path.cwd())
    folder = Path(folder) if folder is not None else LESSONS
    if not folder.is_dir():
        raise ValueError(f"no folder {folder}; give the folder that holds the lessons")
    src = Path(source) if source is not None else None
    if src is not None and not src.is_dir():
        raise ValueError(f"no folder {src}; give the folder that holds the clean lessons")
    lines = Lines()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for path in _lesson_files(folder, lesson):
        clean = _clean_copy(path, src)
        if path.read_bytes() == clean:
            lines.append(f"{path.name}: already clean")
            continue
        kept = _kept_path(folder, path, stamp)
        # both through the one atomic writer: the learner's copy is kept (never over
        # another kept copy) before the lesson is replaced, and a kill or a full disk
        # leaves the old lesson or the clean one, never half of either
        write_atomic(kept, path.read_bytes())
        write_atomic(path, clean, overwrite=True)
        lines.append(f"{path.name}: reset to the clean copy; the previous one is {KEPT}/{kept.name} "
                     "(in JupyterLab, close the lesson's tab first, or choose File > Reload Notebook from Disk)")
    return lines


def _kept_path(folder: Path, path: Path, stamp: str) -> Path:
    """A name in folder/my-copies/ for the learner's copy of `path` that no kept copy has:
    two resets within one second must not collide (the second would fail on the first's copy)."""
    (folder / KEPT).mkdir(exist_ok=True)
    kept = folder / KEPT / f"{path.stem}-{stamp}.ipynb"
    n = 2
    while kept.exists():
        kept = folder / KEPT / f"{path.stem}-{stamp}-{n}.ipynb"
        n += 1
    return kept


def in_browser() -> bool:
    """True in the in-browser course (JupyterLite runs Python in WebAssembly: sys.platform 'emscripten')."""
    return sys.platform == "emscripten"


def _reset_in_browser(lesson: str, folder: Path) -> list[str]:
    """The in-browser course keeps a lesson the learner changed in the browser's
    own storage, over the copy the site ships; the kernel sees both through its
    drive folder (the current folder, /drive). Deleting the stored copy brings
    the shipped one back, so: keep the learner's copy in my-copies/, read it
    back, then delete the lesson. A lesson that was never changed comes back
    byte for byte: it was already clean, and no copy is kept."""
    if not folder.is_dir():
        raise ValueError(f"no folder {folder}; give the folder that holds the lessons")
    lines = Lines()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for path in _lesson_files(folder, lesson):
        mine = path.read_bytes()
        kept = _kept_path(folder, path, stamp)
        write_atomic(kept, mine)
        if kept.read_bytes() != mine:
            raise OSError(f"could not keep a copy of {path.name} in {KEPT}/; {path.name} left as it is")
        path.unlink()
        if not path.exists():  # not a notebook the site ships: put it back as it was
            write_atomic(path, mine)
            kept.unlink()
            lines.append(f"{path.name}: not a lesson of the course; left as it is")
        elif path.read_bytes() == mine:
            kept.unlink()
            lines.append(f"{path.name}: already clean")
        else:
            lines.append(f"{path.name}: reset to the copy the site ships; the previous one is {KEPT}/{kept.name} "
                         "(close the lesson's tab first, or choose File > Reload Notebook from Disk)")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pagewalk_edu.course", description="Course tools.")
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("reset", help="put a lesson back to its clean copy (the learner's copy is kept in my-copies/)")
    r.add_argument("lesson", help="a lesson number such as 03, a file name, or 'all'")
    r.add_argument("--folder", help="the folder holding the lessons (default: the course's notebooks/)")
    r.add_argument("--source", help="a folder of clean lessons (default: the git checkout's HEAD)")
    args = ap.parse_args(argv)
    try:
        for line in reset_lesson(args.lesson, args.folder, source=args.source):
            print(line)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
