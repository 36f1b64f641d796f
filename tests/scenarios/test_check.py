"""`pagewalk-edu check FILE...`: verdict, why, counterexample and PASS/FAIL per
file; exit 0 when all pass, 1 when a verdict or state count differs, 2 on a bad
file; `--json` prints one object per file."""

import json

from pagewalk_edu.cli import main
from pagewalk_edu.kernel.sim import run
from pagewalk_edu.scenarios import named_files
from pagewalk_edu.scenarios.files import load

from scenario_texts import THREE_CPUS

# Without MMU_GATHER_RCU_TABLE_FREE (a what-if on x86 since v6.15) a walker that
# holds nothing reads the PTE table munmap() of its own VMA freed.
UNSAFE = (THREE_CPUS.replace('holds = ["vma_lock"]', "holds = []")
          .replace('op = "munmap"\nvma = "B"', 'op = "munmap"\nvma = "A"')
          .replace('expect = "safe"', 'expect = "unsafe"')
          .replace('kernel = "6.18"\n', 'kernel = "6.18"\nconfig = { MMU_GATHER_RCU_TABLE_FREE = false }\n'))


def cli(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_check_passes_the_three_cpu_question(capsys, write):
    p = write(THREE_CPUS)
    rc, out, err = cli(capsys, "check", str(p))
    assert rc == 0 and err == ""
    assert "verdict: safe" in out
    assert "khugepaged waited in vma_start_write() for CPU0 (walker)'s read lock of VMA A." in out
    assert "PASS (expect safe)" in out


def test_check_fails_on_a_different_verdict_or_state_count(capsys, write):
    wrong = write(THREE_CPUS.replace('expect = "safe"', 'expect = "unsafe"'), "wrong.toml")
    rc, out, _ = cli(capsys, "check", str(wrong))
    assert rc == 1 and "FAIL: verdict safe, expected unsafe" in out
    pinned = write(THREE_CPUS.replace('expect = "safe"', 'expect = "safe"\nstates = 7'), "pinned.toml")
    rc, out, _ = cli(capsys, "check", str(pinned))
    assert rc == 1 and "states explored, the file pins 7" in out


def test_a_bad_file_is_exit_2_and_the_others_are_still_checked(capsys, write):
    good = write(THREE_CPUS, "good.toml")
    bad = write(THREE_CPUS.replace('op = "munmap"', 'op = "mprotect"'), "bad.toml")
    rc, out, err = cli(capsys, "check", str(bad), str(good))
    assert rc == 2
    assert err.strip().splitlines() == [f"pagewalk-edu: error: {bad}: path[0].op: unknown path 'mprotect'; accepted: munmap, "
                                        "madvise, khugepaged_collapse, retract_page_tables, mremap"]
    assert "PASS" in out
    rc, _, err = cli(capsys, "check")
    assert rc == 2 and "check needs at least one scenario file" in err


def test_json_is_one_object_per_file_and_the_counterexample_replays(capsys, write):
    good, bad = write(THREE_CPUS, "good.toml"), write(UNSAFE, "unsafe.toml")
    rc, out, _ = cli(capsys, "check", "--json", str(good), str(bad))
    rows = [json.loads(line) for line in out.splitlines()]
    assert rc == 0 and [r["verdict"] for r in rows] == ["safe", "unsafe"] and all(r["pass"] for r in rows)
    r = rows[1]
    assert r["counterexample"] and len(r["counterexample"]) == len(r["schedule"])
    assert any("tlb_batch_pages_flush" in w or "MMU_GATHER_RCU_TABLE_FREE" in w for w in r["why"])
    # The schedule replays to the use-after-free, through the same step functions.
    trace = run(load(bad).scenario, r["schedule"], then_default=False)
    assert trace.last.uaf


def test_trace_and_verdict_take_a_scenario_file(capsys, write):
    p = write(UNSAFE)
    rc, out, _ = cli(capsys, "verdict", "--scenario", str(p), "--json")
    v = json.loads(out)
    assert rc == 0 and v["verdict"] == "unsafe"
    rc, out, _ = cli(capsys, "trace", "--scenario", str(p), "--schedule", ",".join(v["schedule"]), "--no-continue")
    assert rc == 0 and "USE-AFTER-FREE" in out and "khugepaged: khugepaged_collapse [0x7f0000200000" in out


def test_address_option_moves_the_walk_inside_the_walked_vma(capsys):
    rc, out, _ = cli(capsys, "verdict", "--holds", "none", "--action", "munmap", "--address", "A+0x1000", "--json")
    assert rc == 0
    rc2, out2, _ = cli(capsys, "trace", "--holds", "none", "--action", "munmap", "--address", "0x7f0000001000")
    assert rc2 == 0 and "the walker reads 0x7f0000001000" in out2
    rc, _, err = cli(capsys, "verdict", "--holds", "none", "--action", "munmap", "--address", "A+4M")
    assert rc == 2
    assert err.strip() == ("pagewalk-edu: error: address 0x7f0000400000 is outside the walked VMA A "
                           "[0x7f0000000000, 0x7f0000400000) of munmap")
    rc, _, err = cli(capsys, "verdict", "--holds", "none", "--action", "munmap", "--address", "C+1")
    assert rc == 2 and "--address: 'C+1' names VMA 'C'" in err


def test_every_shipped_named_file_checks(capsys):
    files = [str(p) for p in named_files()]
    assert len(files) >= 97  # the scenarios the course quoted before they were files, and any added since
    rc, out, _ = cli(capsys, "check", "--json", *files)
    rows = [json.loads(line) for line in out.splitlines()]
    assert rc == 0 and len(rows) == len(files) and all(r["pass"] and r["expect"] and r["expect_states"] for r in rows)
