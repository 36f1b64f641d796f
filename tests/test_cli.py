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
