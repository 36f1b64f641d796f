"""The Quiz asks each question as plain sentences built from the scenario
(viz/question.py): what the walker holds, where it runs, which kernel path
races with it, the kernel and only the settings changed from its defaults;
the exact line stays one click away, as a CLI command that asks the same."""

from __future__ import annotations

import re
import shlex
from dataclasses import replace

import pytest

from pagewalk_edu.cli import _scenario, build_parser
from pagewalk_edu.kernel.scenario import make_scenario
from pagewalk_edu.scenarios import Named, named_scenarios
from pagewalk_edu.viz.question import cli_command, question_text
from pagewalk_edu.widgets import Quiz

SETTING = re.compile(r"\b(?:CONFIG_)?([A-Z][A-Z_0-9]{3,})=(\w+)")


def asked(*scenarios) -> Quiz:
    """A Quiz over scenarios of the test's own (the widget draws from named ones)."""
    q = Quiz(seed=0, n=1)
    q.questions = [Named(f"q{i}", "test", s, "", "the reason") for i, s in enumerate(scenarios)]
    q.position = 0
    q._show()
    return q


def visible(html: str) -> str:
    """The question as shown before the learner opens the folded scenario line."""
    html = re.sub(r"<details.*?</details>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", "", html).replace("&#x27;", "'")


def test_a_default_question_names_no_setting_and_says_what_is_held_in_words():
    q = asked(make_scenario("vma_lock,rcu", "munmap_partial", "6.18"))
    text = visible(q.question.value)
    assert "holds the VMA read lock and rcu_read_lock() (taken in that order)" in text
    assert "local walker" in text and "remote" not in text
    assert "munmap()" in text and "[1 GiB, 2 GiB) of the walked VMA A" in text  # which part is unmapped
    assert "Kernel 6.18, with its default settings." in text
    assert SETTING.findall(text) == [], "a default config needs no KEY=value"
    assert "vma_lock" not in text and "munmap_partial" not in text  # identifiers stay in the folded line


def test_a_walker_that_holds_nothing_says_so():
    text = question_text(make_scenario("none", "madv_dontneed", "7.1"))
    assert "holds nothing" in text and "madvise(MADV_DONTNEED)" in text and "Kernel 7.1" in text


def test_only_the_changed_settings_are_named_each_in_words():
    s = make_scenario("irqs_off", "munmap", "6.18", config="TLB_FLUSH=broadcast,PGTABLE_LEVELS=5")
    text = visible(asked(s).question.value)
    assert {k for k, _ in SETTING.findall(text)} == {"TLB_FLUSH", "PGTABLE_LEVELS"}
    assert "broadcast instruction" in text and "sends no IPI" in text and "5-level page tables" in text
    assert "what-if" not in text  # both are real x86 configurations
    assert "holds IRQs off" in text


@pytest.mark.parametrize("kernel, config, key, what_if", [
    ("6.18", "MMU_GATHER_RCU_TABLE_FREE=n", "MMU_GATHER_RCU_TABLE_FREE", True),  # no x86 kernel since v6.15
    ("6.18", "PT_RECLAIM=n", "PT_RECLAIM", False),  # a user option on v6.18
    ("7.1", "PT_RECLAIM=n", "PT_RECLAIM", True),  # def_bool y on x86 since v7.0
    ("7.1", "TABLE_SYNC=elide_native", "TABLE_SYNC", True),  # not in a release
    ("7.1", "HUGETLB_UNSHARE_SYNC=in_unshare", "HUGETLB_UNSHARE_SYNC", True),  # v6.18.0's placement
    ("6.18", "HUGETLB_UNSHARE_SYNC=in_unshare", "HUGETLB_UNSHARE_SYNC", False),
    ("7.1", "TABLE_FREE_FALLBACK=ipi", "TABLE_FREE_FALLBACK", True),  # v7.1 waits in synchronize_rcu() (1fb3d8c20bfa)
    ("6.18", "TABLE_FREE_FALLBACK=synchronize_rcu", "TABLE_FREE_FALLBACK", True),  # not before v7.1
])
def test_a_changed_setting_is_marked_what_if_exactly_when_the_config_says_so(kernel, config, key, what_if):
    s = make_scenario("rcu", "munmap", kernel, config=config, fault="batch_alloc_fail")
    text = question_text(s)
    settings = text.split("changed from its defaults: ", 1)[1].split(". Injected fault")[0]
    clause = next(c for c in settings.split("; ") if key in c)
    assert ("a what-if" in clause) is what_if, clause
    assert bool(s.config.what_ifs()) is ("what-if" in text)
    assert "cannot allocate its batch page" in text  # the injected fault, in words


def test_without_rcu_table_free_the_question_does_not_promise_a_sync_ipi():
    """include/asm-generic/tlb.h: without MMU_GATHER_RCU_TABLE_FREE tlb_remove_table_sync_one() is empty."""
    text = question_text(make_scenario("irqs_off", "munmap", "6.18", config="MMU_GATHER_RCU_TABLE_FREE=n"))
    assert "no RCU grace period" in text and "tlb_remove_table_sync_one()" not in text


def test_a_remote_walker_and_a_khugepaged_path():
    text = question_text(make_scenario("irqs_off", "retract_page_tables", "6.18", walker="remote"))
    assert "remote walker" in text and "another process" in text
    assert "khugepaged kernel thread runs retract_page_tables()" in text and "a file mapping" in text


def test_a_hugetlb_question_names_both_processes_and_both_paths():
    s = make_scenario("vma_lock", "hugetlb_punch_hole", "7.1", hugetlb_walk_lock="skip")
    text = question_text(s)
    assert "fallocate(FALLOC_FL_PUNCH_HOLE)" in text and "On CPU2, process Q" in text
    assert "share one PMD table" in text and "skips hugetlb_vma_lock_read() (a what-if" in text
    taken = question_text(make_scenario("vma_lock", "hugetlb_dontneed", "6.18"))
    assert "takes the hugetlb VMA lock" in taken and "madvise(MADV_DONTNEED)" in taken


def test_gup_fast_and_the_patch_are_named():
    assert "GUP-fast" in question_text(make_scenario("none", "madv_dontneed", walk="gup_fast"))
    patched = question_text(make_scenario("vma_lock,irqs_off", "munmap", patch="fw_vma_locked"))
    assert "FW_VMA_LOCKED" in patched and "not in a release" in patched


def test_the_quiz_pool_questions_read_as_sentences():
    """Every shipped question: no raw scenario line in view, and any KEY=value
    is a setting that differs from its kernel's default."""
    for n in named_scenarios():
        text = visible(asked(n.scenario).question.value)
        assert n.scenario.describe() not in text
        changed = {k for k in ("MMU_GATHER_RCU_TABLE_FREE", "PT_RECLAIM", "TLB_FLUSH", "TABLE_FREE_FALLBACK",
                               "PGTABLE_LEVELS", "TABLE_SYNC", "HUGETLB_UNSHARE_SYNC")
                   if getattr(n.scenario.config, k) != getattr(type(n.scenario.config).for_kernel(n.scenario.config.kernel), k)}
        assert {k for k, _ in SETTING.findall(text)} == changed, (n.name, text)
        assert f"Kernel {n.scenario.config.kernel}" in text


def _from_cli(command: str):
    argv = shlex.split(command)
    assert argv[0] == "pagewalk-edu"
    return _scenario(build_parser().parse_args(argv[1:]))


def test_the_folded_line_is_a_command_that_asks_the_same_question():
    for n in named_scenarios():
        command = cli_command(n.scenario)
        assert command is not None, n.name
        s = n.scenario
        if s.layout is None and s.vma_kind is not None:  # the action's own kind, said by the file
            s = replace(s, vma_kind=None)
        assert _from_cli(command) == s, (n.name, command)
    own = make_scenario("rcu", "munmap", "7.1", walker="remote", config="PT_RECLAIM=n,TLB_FLUSH=broadcast",
                        fault="gather_batch_full", address=0x7f0000201000)
    assert _from_cli(cli_command(own)) == own


def test_the_question_keeps_the_exact_line_and_the_feedback_reads_as_sentences():
    from pagewalk_edu.explore.verdict import verdict

    s = make_scenario("none", "munmap", "6.18")
    q = asked(s)
    shown = re.sub(r"<[^>]+>", "", q.question.value).replace("&#x27;", "'")
    assert "as a scenario line" in shown
    assert "pagewalk-edu verdict --holds none --action munmap --kernel 6.18" in shown
    assert s.describe() in shown
    q.answer.value = verdict(s).verdict
    q.reveal_button.click()
    fb = re.sub(r"<[^>]+>", "", q.feedback.value)
    assert "Right: the explorer says unsafe: in some interleaving the walker reads a page table that was freed" in fb
    assert "It tried every interleaving" in fb and "the reason" in fb
    assert "pagewalk-edu verdict --holds none --action munmap" in fb


def test_a_scenario_file_with_its_own_layout_reads_as_sentences_too():
    from importlib import resources

    from pagewalk_edu.scenarios.files import load

    path = resources.files("pagewalk_edu.scenarios").joinpath("examples", "vma_lock+munmap-neighbour+collapse.toml")
    s = load(str(path)).scenario
    text = question_text(s)
    assert "On CPU1, a thread of the walked process runs munmap(): it unmaps all of VMA B" in text
    assert "On CPU2, the khugepaged kernel thread runs collapse_huge_page()" in text
    assert cli_command(s) is None  # the CLI's options cannot say a layout of the file's own
    assert "--scenario FILE" in asked(s).question.value
