"""The Matrix widget's walk choice: the walkers and the patch `pagewalk-edu
matrix --walk/--patch` takes, checked in the same words; the grid is the CLI's
grid for that walk, every holder row included; a cell opens an Explorer on
that walk."""

from __future__ import annotations

import json

import pytest

from pagewalk_edu.cli import main
from pagewalk_edu.explore.matrix import LABELS, protection_label
from pagewalk_edu.widgets import Matrix


def cli_matrix(capsys, *args) -> dict:
    assert main(["matrix", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def cli_error(capsys, *args) -> str:
    assert main(["matrix", *args]) == 2
    return capsys.readouterr().err.strip().removeprefix("pagewalk-edu: error: ")


def shown(m) -> dict:
    """(row label, action) -> the word on the cell's button."""
    return {(protection_label(h), a): b.description for (h, a), b in m.cells.items()}


def same_as_cli(m, printed: dict) -> None:
    assert [protection_label(h) for h in m.matrix.rows] == printed["rows"]
    assert shown(m) == {(c["holds"], c["action"]): LABELS[c["verdict"]] for c in printed["cells"]}


def test_the_walk_control_has_a_name_and_offers_what_the_cli_offers():
    m = Matrix(render=False)
    assert m.walk.description == "walk" and "--walk" in m.walk.tooltip and "not in a release" in m.walk.tooltip
    assert [v for _, v in m.walk.options] == [("folio_walk_start", None), ("gup_fast", None),
                                               ("folio_walk_start", "fw_vma_locked")]
    assert m.walk.value == ("folio_walk_start", None) and m.matrix.walk == "folio_walk_start"


def test_choosing_gup_fast_recomputes_the_grid_as_the_cli_prints_it(capsys):
    m = Matrix(render=False)
    before = shown(m)
    m.walk.value = ("gup_fast", None)
    assert m.matrix.walk == "gup_fast"
    same_as_cli(m, cli_matrix(capsys, "--walk", "gup_fast"))
    # gup_fast takes no lock itself: every holder row is still shown, a row being what its caller holds
    assert len(m.cells) == len(before) and "caller holds" in m.message.value
    # folio_walk_start() spins on the ptl retract_page_tables() holds while its flush IPI waits for the
    # IRQs-off CPU0; gup_fast takes no ptl, so the same row is no deadlock (named 023 and 109)
    assert before[("irqs_off", "retract_page_tables")] == "DEADLOCK"
    assert shown(m)[("irqs_off", "retract_page_tables")] != "DEADLOCK"


def test_the_patch_choice_is_the_cli_patch_matrix(capsys):
    m = Matrix(kernel="7.1", render=False)
    m.walk.value = ("folio_walk_start", "fw_vma_locked")
    assert m.matrix.patch == "fw_vma_locked" and m.matrix.config.kernel == "7.1"
    printed = cli_matrix(capsys, "--kernel", "7.1", "--patch", "fw_vma_locked")
    assert printed["patch"] == "fw_vma_locked"
    same_as_cli(m, printed)
    assert all(v.scenario.patch == "fw_vma_locked" for v in m.matrix.cells.values())


def test_gup_fast_with_a_remote_walker_is_refused_in_the_cli_words_and_the_widget_keeps_working(capsys):
    m = Matrix(render=False)
    m.walk.value = ("gup_fast", None)
    m.cfg.walker.value = "remote"
    refused = cli_error(capsys, "--walk", "gup_fast", "--walker", "remote")
    assert refused in m.message.value.replace("&gt;", ">")
    assert all(b.disabled for b in m.cells.values())
    m.cfg.walker.value = "local"
    assert not any(b.disabled for b in m.cells.values()) and m.matrix.walk == "gup_fast"
    assert "is a flag of folio_walk_start(); gup_fast does not take it" in cli_error(
        capsys, "--walk", "gup_fast", "--patch", "fw_vma_locked")


def test_a_cell_opens_an_explorer_on_the_chosen_walk():
    m = Matrix(render=False)
    m.walk.value = ("gup_fast", None)
    m.cells[(("irqs_off",), "retract_page_tables")].click()
    s = m.explorer.scenario()
    assert s.effective_walk == "gup_fast" and s.action == "retract_page_tables" and s.holds == ("irqs_off",)
    assert s == m.matrix.get(("irqs_off",), "retract_page_tables").scenario
    m.walk.value = ("folio_walk_start", "fw_vma_locked")
    m.cells[(("vma_lock", "rcu"), "munmap")].click()
    assert m.explorer.scenario().patch == "fw_vma_locked" and m.explorer.scenario().effective_walk == "folio_walk_start"


def test_a_new_kernel_keeps_the_walk():
    m = Matrix(render=False)
    m.walk.value = ("gup_fast", None)
    m.cfg.kernel.value = "7.1"
    assert m.matrix.walk == "gup_fast" and m.matrix.config.kernel == "7.1"


@pytest.mark.parametrize("kwargs, error, words", [
    ({"walk": "nope"}, ValueError, "unknown walk 'nope'"),
    ({"walk": "gup_fast", "walker": "remote"}, ValueError, "always a local walker"),
    ({"walk": "gup_fast", "patch": "fw_vma_locked"}, ValueError, "is a flag of folio_walk_start()"),
    ({"patch": "other"}, ValueError, "unknown patch 'other'; accepted: none, fw_vma_locked"),
    ({"walk": "folio_walk_start,gup_fast"}, ValueError, "one walker at a time"),
    ({"walk": 3}, TypeError, "walk and patch are strings"),
])
def test_bad_walk_arguments_are_one_line_errors(kwargs, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        Matrix(render=False, **kwargs)


def test_the_constructor_opens_on_the_walk_it_is_given():
    m = Matrix(render=False, walk="gup_fast")
    assert m.walk.value == ("gup_fast", None) and m.matrix.walk == "gup_fast"
    assert Matrix(render=False, patch="fw_vma_locked").matrix.patch == "fw_vma_locked"
