"""The CLI contract: trace, verdict, matrix; exit 0 on any verdict, 2 with one line on bad input."""

import json
import subprocess
import sys

import pytest


def cli(*args):
    p = subprocess.run([sys.executable, "-m", "pagewalk_edu", *args], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def test_trace_shows_munmap_blocked_in_vma_start_write_when_walker_holds_vma_lock():
    rc, out, err = cli("trace", "--holds", "vma_lock", "--action", "munmap")
    assert rc == 0, err
    assert "waits in vma_start_write()" in out
    assert "USE-AFTER-FREE" not in out


def test_trace_shows_use_after_free_when_walker_holds_nothing():
    rc, out, _ = cli("trace", "--holds", "none", "--action", "munmap")
    assert rc == 0
    assert "USE-AFTER-FREE" in out


def test_verdict_json_contract():
    rc, out, _ = cli("verdict", "--holds", "rcu", "--action", "munmap", "--config", "PT_RECLAIM=n", "--fault", "batch_alloc_fail", "--json")
    assert rc == 0
    obj = json.loads(out)
    assert obj["verdict"] == "unsafe"
    assert isinstance(obj["states"], int) and obj["states"] > 0
    assert obj["why"] and all(isinstance(w, str) for w in obj["why"])
    first = obj["counterexample"][0]
    assert set(first) == {"step", "cpu", "actor", "function", "text"}
    assert "PT_RECLAIM=n" in obj["assumed"] and "6.18" in obj["assumed"]


def test_verdict_safe_has_null_counterexample():
    rc, out, _ = cli("verdict", "--holds", "vma_lock", "--action", "munmap", "--json")
    obj = json.loads(out)
    assert rc == 0 and obj["verdict"] == "safe" and obj["counterexample"] is None


def test_kernel_profile_changes_the_answer():
    args = ("verdict", "--holds", "rcu", "--action", "munmap", "--config", "PT_RECLAIM=n", "--fault", "batch_alloc_fail", "--json")
    assert json.loads(cli(*args, "--kernel", "6.18")[1])["verdict"] == "unsafe"
    assert json.loads(cli(*args, "--kernel", "7.1")[1])["verdict"] == "safe_but_stale"
    # an explicit key overrides the profile
    rc, out, _ = cli("verdict", "--holds", "rcu", "--action", "munmap", "--kernel", "7.1", "--config",
                     "PT_RECLAIM=n,TABLE_FREE_FALLBACK=ipi", "--fault", "batch_alloc_fail", "--json")
    assert json.loads(out)["verdict"] == "unsafe"


def test_matrix_text_and_json():
    rc, out, _ = cli("matrix")
    assert rc == 0 and "UNSAFE" in out and "munmap_adjacent" in out and "kernel 6.18" in out
    rc, out, _ = cli("matrix", "--json", "--kernel", "7.1", "--walker", "remote")
    obj = json.loads(out)
    assert rc == 0 and len(obj["cells"]) == 42


@pytest.mark.parametrize("args,needle", [
    (("verdict", "--holds", "bogus", "--action", "munmap"), "unknown holder"),
    (("verdict", "--holds", "none,rcu", "--action", "munmap"), "'none' cannot be combined"),
    (("verdict", "--holds", "rcu,rcu", "--action", "munmap"), "given twice"),
    (("verdict", "--holds", "rcu", "--action", "fork"), "unknown action"),
    (("verdict", "--holds", "rcu", "--action", "munmap", "--config", "FOO=y"), "unknown config key"),
    (("verdict", "--holds", "rcu", "--action", "munmap", "--config", "PT_RECLAIM"), "expected KEY=VAL"),
    (("verdict", "--holds", "rcu", "--action", "munmap", "--config", "PT_RECLAIM=maybe"), "takes y or n"),
    (("verdict", "--holds", "rcu", "--action", "munmap", "--config", "PGTABLE_LEVELS=3"), "PGTABLE_LEVELS takes 4 or 5"),
    (("verdict", "--holds", "rcu", "--action", "munmap", "--kernel", "5.4"), "unknown kernel profile"),
    (("verdict", "--holds", "rcu", "--action", "munmap", "--walker", "far"), "unknown walker"),
    (("verdict", "--holds", "rcu", "--action", "munmap", "--fault", "oom"), "unknown fault"),
    (("verdict", "--holds", "rcu", "--action", "munmap", "--config", "MMU_GATHER_RCU_TABLE_FREE=n,PT_RECLAIM=y"), "PT_RECLAIM=y needs"),
    (("trace", "--holds", "rcu", "--action", "munmap", "--schedule", "munmap,walker,nobody"), "unknown actor"),
    (("trace", "--holds", "vma_lock", "--action", "munmap", "--schedule", "walker,munmap,munmap"), "cannot move now"),
    (("verdict", "--action", "munmap"), "--holds is required"),
    (("frobnicate",), "invalid choice"),
])
def test_bad_input_exits_2_with_one_line(args, needle):
    rc, out, err = cli(*args)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err
    assert "Traceback" not in err


def test_no_command_is_one_line_on_stderr_and_help_still_prints():
    rc, out, err = cli()
    assert rc == 2 and out == ""
    assert err.strip() == "pagewalk-edu: error: a command is required: trace, verdict, matrix, check or tables"
    rc, out, err = cli("--help")
    assert rc == 0 and out.startswith("usage: pagewalk-edu") and err == ""


def test_repeated_config_flags_combine():
    rc, out, err = cli("verdict", "--holds", "rcu", "--action", "munmap", "--config", "PT_RECLAIM=n",
                       "--config", "TLB_FLUSH=broadcast", "--json")
    assert rc == 0, err
    assumed = json.loads(out)["assumed"]
    assert "PT_RECLAIM=n" in assumed and "TLB_FLUSH=broadcast" in assumed
    rc, out, err = cli("matrix", "--json", "--config", "PT_RECLAIM=n", "--config", "PGTABLE_LEVELS=5")
    assert rc == 0, err
    cfg = json.loads(out)["config"]
    assert cfg["PT_RECLAIM"] is False and cfg["PGTABLE_LEVELS"] == 5


def test_tables_config_flags_combine_and_its_errors_say_tables():
    example = "pagewalk_edu/scenarios/tables/dontneed-whole.json"
    rc, out, err = cli("tables", example, "--json", "--config", "PT_RECLAIM=n", "--config", "PGTABLE_LEVELS=5")
    assert rc == 0, err
    cfg = json.loads(out)["config"]
    assert cfg["PT_RECLAIM"] is False and cfg["PGTABLE_LEVELS"] == 5
    rc, out, err = cli("tables", example, "--kernel", "7.1")
    assert rc == 2 and err.strip() == "pagewalk-edu tables: error: unrecognized arguments: --kernel 7.1"


@pytest.mark.parametrize("flag,values", [
    ("--holds", ("none",)), ("--action", ("mremap",)), ("--kernel", ("7.1", "6.18")), ("--walker", ("remote", "local")),
    ("--fault", ("batch_alloc_fail", "gather_batch_full")), ("--schedule", ("walker", "munmap")), ("--save", ("a.json", "b.json")),
    ("--svg", ("a", "b")), ("--png", ("a", "b")),
])
def test_a_single_value_option_given_twice_exits_2(tmp_path, flag, values):
    base = ["trace", "--holds", "rcu", "--action", "munmap"]
    args = base + [x for v in values for x in (flag, str(tmp_path / v) if flag in ("--save", "--svg", "--png") else v)]
    rc, out, err = cli(*args)
    assert rc == 2 and out == ""
    assert err.strip() == f"pagewalk-edu: error: {flag} given twice; give it once"
    assert list(tmp_path.iterdir()) == [], "nothing is written"


def test_svg_and_png_refuse_to_replace_files_without_force(tmp_path):
    base = ("trace", "--holds", "rcu", "--action", "munmap")
    target = str(tmp_path / "step")
    rc, _, err = cli(*base, "--svg", target + ".svg")
    assert rc == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-timeline.svg", "step-tree.svg"]
    before = (tmp_path / "step-tree.svg").read_bytes()
    (tmp_path / "step-tree.svg").write_text("mine")
    rc, out, err = cli(*base, "--svg", target)
    assert rc == 2 and out == "" and err.strip() == f"pagewalk-edu: error: {target}-tree.svg exists; add --force to replace it"
    assert (tmp_path / "step-tree.svg").read_text() == "mine"
    rc, _, err = cli(*base, "--svg", target, "--force")
    assert rc == 0, err
    assert (tmp_path / "step-tree.svg").read_bytes() == before
    (tmp_path / "d-tree.png").mkdir()
    rc, _, err = cli(*base, "--png", str(tmp_path / "d"), "--force")
    assert rc == 2 and "d-tree.png: is a directory" in err


def test_save_onto_a_directory_says_so_at_once(tmp_path):
    for extra in ((), ("--force",)):
        rc, out, err = cli("trace", "--holds", "rcu", "--action", "munmap", "--save", str(tmp_path), *extra)
        assert rc == 2 and out == ""
        assert err.strip() == f"pagewalk-edu: error: --save {tmp_path}: is a directory; give the name of a file to save to"


def test_help_says_which_two_files_svg_and_png_write():
    rc, out, _ = cli("trace", "--help")
    text = " ".join(out.split())
    assert rc == 0
    assert "FILE-tree.svg and FILE-timeline.svg" in text and "FILE-tree.png and FILE-timeline.png" in text
