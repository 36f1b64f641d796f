"""`pagewalk-edu tables`: every shipped scenario's prediction equals its expected
bytes; on Linux x86-64 the running kernel agrees on every step (skipped, with
the reason, elsewhere); every validation error is one line naming the step and
the field; the command exits 0 or 2 and never prints a traceback."""

import argparse
import importlib
import json
import os
import subprocess
import sys
import textwrap
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pagewalk_edu.kernel.config import KernelConfig
from pagewalk_edu.tables import load_tables_scenario, parse_tables_scenario, parse_tables_text, predict
from pagewalk_edu.tables import cli as tables_cli
from pagewalk_edu.tables import kconfig, real
from pagewalk_edu.tables.kconfig import RunningKernel, explain_mismatch, resolve_config
from pagewalk_edu.tables.real import RealUnavailable, check_platform, measure, run_real
from pagewalk_edu.tables.spec import MAX_STEPS, SLOT

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(Path(str(resources.files("pagewalk_edu") / "scenarios" / "tables")).glob("*.json"))
K, M, G = 1 << 10, 1 << 20, 1 << 30
PROFILE = KernelConfig.for_kernel("6.18")


def _real_reason() -> str | None:
    try:
        check_platform()
    except RealUnavailable as err:
        return str(err)
    return None


REAL_SKIP = _real_reason()
needs_real = pytest.mark.skipif(REAL_SKIP is not None, reason=f"--real cannot run here: {REAL_SKIP}")


def kernel_cfg() -> KernelConfig:
    """The config --real predicts with on this machine."""
    return resolve_config(None, kconfig.running_kernel()).config


def tables(*args, timeout=600):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    p = subprocess.run([sys.executable, "-m", "pagewalk_edu.tables", *args], capture_output=True, text=True,
                       env=env, timeout=timeout, cwd=str(ROOT))
    return p.returncode, p.stdout, p.stderr


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("pagewalk-edu tables: error: "), err
    assert "Traceback" not in err
    return lines[0]


# --- shipped scenarios ------------------------------------------------------------------------


def test_the_issue_scenarios_are_shipped():
    names = {p.stem for p in SHIPPED}
    assert {"public-example", "dontneed-halves", "dontneed-whole", "multi-gib-ends", "hole-in-the-middle",
            "cross-pud-partial", "sparse"} <= names
    for p in SHIPPED:
        s = load_tables_scenario(p)
        assert s.expected is not None and s.description, p.name


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_prediction_matches_expected_bytes(path):
    s = load_tables_scenario(path)
    assert [r.page_table_bytes for r in predict(s, PROFILE)] == list(s.expected)


def test_public_example_bytes_and_functions():
    """The worked example's numbers: 12K, 16K, 24K, 16K, 12K, 0; and who allocated/freed."""
    s = load_tables_scenario(ROOT / "pagewalk_edu/scenarios/tables/public-example.json")
    r = predict(s, PROFILE)
    assert [x.page_table_bytes // K for x in r] == [0, 12, 16, 16, 24, 16, 12, 0]
    assert [(c.level, c.function) for c in r[1].allocated] == [("PUD", "__pud_alloc"), ("PMD", "__pmd_alloc"),
                                                             ("PTE", "__pte_alloc")]
    assert [(c.level, c.start, c.end) for c in r[4].allocated] == [("PMD", G, 2 * G), ("PTE", G, G + 2 * M)]
    assert {c.function for c in r[7].freed} == {"free_pgd_range"}
    assert [c.level for c in r[7].freed] == ["PTE", "PMD", "PUD"]


def test_dontneed_names_the_reclaim_path_and_pt_reclaim_off_reclaims_nothing():
    s = load_tables_scenario(ROOT / "pagewalk_edu/scenarios/tables/dontneed-whole.json")
    on = predict(s, PROFILE)
    assert on[2].freed[0].function == "free_pte" and "try_get_and_clear_pmd" in on[2].freed[0].path
    off = predict(s, KernelConfig.for_kernel("6.18", PT_RECLAIM=False))
    assert [r.page_table_bytes // K for r in off] == [0, 16, 16, 16, 0]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_five_levels_find_the_p4d_table_already_there(path):
    """With LA57 one PGD entry maps 256 TiB, so the rest of the process already has
    the slot's P4D table: no step allocates or frees it, and since VmPTE does not
    count P4D tables the bytes are those of four levels."""
    s = load_tables_scenario(path)
    five = predict(s, KernelConfig.for_kernel("6.18", PGTABLE_LEVELS=5))
    assert all(c.level != "P4D" for r in five for c in r.allocated + r.freed)
    assert [r.page_table_bytes for r in five] == list(s.expected)


@needs_real
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_real_kernel_agrees_on_every_step(path):
    s = load_tables_scenario(path)
    predicted = [r.page_table_bytes for r in predict(s, kernel_cfg())]
    assert run_real(s) == predicted


@needs_real
def test_real_run_reports_base_and_no_drift():
    s = load_tables_scenario(ROOT / "pagewalk_edu/scenarios/tables/public-example.json")
    run = measure(s)
    assert run.base % SLOT == 0 and run.va_bits in (47, 57)
    assert run.drift == 0, run.notes


# --- validation -------------------------------------------------------------------------------

MAPPED = [{"op": "mmap", "start": 0, "length": "4M"}]
BAD = [
    ({"steps": [{"op": "map", "start": 0, "length": "4K"}]}, "step 1: field 'op' must be one of mmap, touch"),
    ({"steps": [{"op": 3, "start": 0, "length": "4K"}]}, "step 1: field 'op' must be one of"),
    ({"steps": [{"start": 0, "length": "4K"}]}, "step 1: field 'op' is missing"),
    ({"steps": [{"op": "mmap", "start": 1, "length": "4K"}]}, "step 1: field 'start' must be page aligned"),
    ({"steps": [{"op": "mmap", "start": "6K", "length": "4K"}]}, "step 1: field 'start' must be page aligned"),
    ({"steps": [{"op": "mmap", "start": 0, "length": "3K"}]}, "step 1: field 'length' must be page aligned"),
    ({"steps": [{"op": "mmap", "start": 0, "length": 0}]}, "step 1: field 'length' must be positive"),
    ({"steps": [{"op": "mmap", "start": -4096, "length": "4K"}]}, "step 1: field 'start' must not be negative"),
    ({"steps": [{"op": "mmap", "start": "-4K", "length": "4K"}]}, "step 1: field 'start' must not be negative"),
    ({"steps": [{"op": "mmap", "start": 0, "length": "1T"}]}, "step 1: field 'length' takes the range past the end"),
    ({"steps": [{"op": "mmap", "start": "512G", "length": "4K"}]}, "step 1: field 'start' must lie inside the 512G"),
    ({"steps": [{"op": "mmap", "start": "511G", "length": "2G"}]}, "step 1: field 'length' takes the range past"),
    ({"steps": [{"op": "mmap", "start": 0, "length": "4Q"}]}, "step 1: field 'length' must be an integer number"),
    ({"steps": [{"op": "mmap", "start": 0, "length": "1.5G"}]}, "step 1: field 'length' must be an integer number"),
    ({"steps": [{"op": "mmap", "start": 0, "length": [4096]}]}, "step 1: field 'length' must be an integer number"),
    ({"steps": [{"op": "mmap", "start": 0, "length": 4096.0}]}, "got the number 4096.0"),
    ({"steps": [{"op": "mmap", "start": True, "length": "4K"}]}, "step 1: field 'start' must be an integer number of bytes or a size like '4K', '2M', '1G', got a boolean"),
    ({"steps": [{"op": "mmap", "start": None, "length": "4K"}]}, "got null"),
    ({"steps": [{"op": "mmap", "length": "4K"}]}, "step 1: field 'start' is missing"),
    ({"steps": [{"op": "mmap", "start": 0}]}, "step 1: field 'length' is missing"),
    ({"steps": MAPPED + [{"op": "mmap", "start": "2M", "length": "4M"}]}, "step 2: field 'start': mmap [2M, 6M) overlaps [0, 4M) still mapped from step 1"),
    ({"steps": [{"op": "touch", "start": 0, "length": "4K"}]}, "step 1: field 'start': touch [0, 4K) covers [0, 4K), which is not mapped"),
    ({"steps": MAPPED + [{"op": "touch", "start": "2M", "length": "4M"}]}, "step 2: field 'start': touch [2M, 6M) covers [4M, 6M)"),
    ({"steps": MAPPED + [{"op": "munmap", "start": 0, "length": "4M"}, {"op": "madvise", "start": 0, "length": "4K", "advice": "dontneed"}]}, "step 3: field 'start': madvise"),
    ({"steps": MAPPED + [{"op": "madvise", "start": 0, "length": "4M", "advice": "free"}]}, "step 2: field 'advice' must be one of dontneed, got 'free'"),
    ({"steps": MAPPED + [{"op": "madvise", "start": 0, "length": "4M"}]}, "step 2: field 'advice' is missing"),
    ({"steps": MAPPED + [{"op": "madvise", "start": 0, "length": "4M", "advice": 4}]}, "step 2: field 'advice' must be one of dontneed, got 4"),
    ({"steps": [{"op": "mmap", "start": 0, "length": "4M", "stride": "4K"}]}, "step 1: field 'stride' is not accepted for mmap; accepted: op, start, length"),
    ({"steps": [{"op": "mmap", "start": 0, "length": "4M", "advice": "dontneed"}]}, "step 1: field 'advice' is not accepted for mmap"),
    ({"steps": MAPPED + [{"op": "touch", "start": 0, "length": "4M", "stride": 0}]}, "step 2: field 'stride' must be positive"),
    ({"steps": MAPPED + [{"op": "touch", "start": 0, "length": "4M", "stride": "x"}]}, "step 2: field 'stride' must be an integer number"),
    ({"steps": [{"op": "mmap", "start": 0, "length": "3G"}, {"op": "touch", "start": 0, "length": "3G"}]}, "step 2: field 'stride' makes this step write more than 524288 pages"),
    ({"steps": [{"op": "mmap", "start": 0, "length": "6G"}, {"op": "touch", "start": 0, "length": "2G"},
                {"op": "touch", "start": "2G", "length": "2G"}, {"op": "touch", "start": "4G", "length": "8K"}]}, "step 4: field 'length': the scenario writes more than"),
    ({"steps": ["mmap"]}, "step 1 must be an object"),
    ({"steps": []}, "scenario: field 'steps' is empty"),
    ({"steps": "mmap"}, "scenario: field 'steps' must be a list of steps, got the string 'mmap'"),
    ({"steps": [{"op": "mmap", "start": 0, "length": "4K"}] * (MAX_STEPS + 1)}, "more than the 1000 accepted"),
    ({}, "scenario: field 'steps' is missing"),
    ({"step": []}, "scenario: unknown field 'step'; accepted: steps, expected, description"),
    ([1, 2], "scenario: expected a JSON object with 'steps', got an array"),
    ({"steps": MAPPED, "expected": [0, 0]}, "field 'expected' must give one byte count per step (1), got 2"),
    ({"steps": MAPPED, "expected": 0}, "field 'expected' must be a list of byte counts, got the number 0"),
    ({"steps": MAPPED, "expected": [-1]}, "field 'expected' item 1 must not be negative"),
    ({"steps": MAPPED, "description": 5}, "field 'description' must be a string, got the number 5"),
]


@pytest.mark.parametrize("doc,needle", BAD, ids=[n[:40] for _, n in BAD])
def test_validation_error_names_step_and_field_in_one_line(doc, needle):
    with pytest.raises((ValueError, TypeError)) as info:
        parse_tables_scenario(doc)
    message = str(info.value)
    assert needle in message
    assert "\n" not in message


@pytest.mark.parametrize("doc", [
    {"steps": MAPPED + [{"op": "touch", "start": 0, "length": "4M", "stride": 1}]},  # sub-page stride: every page
    {"steps": [{"op": "mmap", "start": "511G", "length": "1G"}]},  # the very end of the slot
    {"steps": [{"op": "mmap", "start": "4KiB", "length": "2MB"}]},
    {"steps": MAPPED + [{"op": "munmap", "start": "100G", "length": "4K"}]},  # unmapping nothing is fine
    {"steps": MAPPED + [{"op": "madvise", "start": 0, "length": "4M", "advice": "DONTNEED"}]},
    {"steps": MAPPED, "expected": ["0"], "description": "words"},
])
def test_validation_accepts(doc):
    parse_tables_scenario(doc)


def test_duplicate_keys_are_refused():
    with pytest.raises(ValueError, match=r"step 1: field 'start' is given twice"):
        parse_tables_text('{"steps": [{"op": "mmap", "start": 0, "start": 4096, "length": 4096}]}')
    with pytest.raises(ValueError, match=r"scenario: field 'steps' is given twice"):
        parse_tables_text('{"steps": [], "steps": []}')


@pytest.mark.parametrize("content,needle", [
    ("", "the file is empty"),
    ("not json", "not valid JSON"),
    ('{"steps": [{"op": "mmap", "start": 0, "length": "4M"}, {"op": "munmap"', "truncated"),
    ("[1, 2, 3]", "expected a JSON object"),
    (b"\xff\xfe{}", "not UTF-8"),
    ("{" + " " * (1 << 20) + "}", "larger than the 1048576 bytes (1 MiB) accepted"),
])
def test_file_errors_are_one_line(tmp_path, content, needle):
    path = tmp_path / "s.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises((ValueError, TypeError)) as info:
        load_tables_scenario(path)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        load_tables_scenario(tmp_path / "nope.json")
    with pytest.raises(ValueError, match="is a directory"):
        load_tables_scenario(tmp_path)


@settings(max_examples=300, deadline=None)
@given(doc=st.recursive(
    st.none() | st.booleans() | st.integers(-(1 << 70), 1 << 70) | st.floats() | st.text(max_size=8)
    | st.sampled_from(["mmap", "touch", "munmap", "madvise", "dontneed", "4K", "2M", "1G", "512G", "-1"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["steps", "op", "start", "length", "stride", "advice", "expected", "description", "x"]),
        inner, max_size=5),
    max_leaves=20))
def test_fuzzed_documents_fail_only_with_one_line_errors(doc):
    try:
        s = parse_tables_scenario(doc)
    except (ValueError, TypeError) as err:
        assert str(err) and "\n" not in str(err)
        return
    predict(s, PROFILE)  # whatever validates, the model can run


# --- the running kernel's config ---------------------------------------------------------------


def test_parse_kconfig_reads_set_and_unset_options():
    values = kconfig.parse_kconfig("CONFIG_PT_RECLAIM=y\n# CONFIG_X86_5LEVEL is not set\nCONFIG_PGTABLE_LEVELS=5\n"
                                   'CONFIG_LOCALVERSION=""\n# comment\n')
    assert values == {"CONFIG_PT_RECLAIM": "y", "CONFIG_X86_5LEVEL": "n", "CONFIG_PGTABLE_LEVELS": "5",
                      "CONFIG_LOCALVERSION": ""}


def test_cpu_paging_and_thp_mode_from_files(tmp_path):
    cpu = tmp_path / "cpuinfo"
    cpu.write_text("processor : 0\nflags : fpu vme la57 pse\naddress sizes : 46 bits physical, 57 bits virtual\n")
    assert kconfig.cpu_paging(str(cpu)) == (True, 57)
    cpu.write_text("processor : 0\nflags : fpu vme pse\naddress sizes : 46 bits physical, 48 bits virtual\n")
    assert kconfig.cpu_paging(str(cpu)) == (False, 48)
    thp = tmp_path / "enabled"
    thp.write_text("always [madvise] never\n")
    assert kconfig.thp_mode(str(thp)) == "madvise"
    assert kconfig.thp_mode(str(tmp_path / "missing")) is None


def rk(**kw) -> RunningKernel:
    base = dict(release="6.18.0", config_path="/proc/config.gz", config={"CONFIG_PT_RECLAIM": "y"}, thp="madvise")
    base.update(kw)
    return RunningKernel(**base)


def test_resolve_config_profile_without_real():
    r = resolve_config(None, None)
    assert r.config.PT_RECLAIM and r.config.PGTABLE_LEVELS == 4
    assert "6.18 profile" in r.as_dict()["source"]


def test_resolve_config_reads_pt_reclaim_and_says_where():
    r = resolve_config(None, rk(config={"CONFIG_PT_RECLAIM": "n", "CONFIG_PGTABLE_LEVELS": "5"}))
    assert not r.config.PT_RECLAIM and r.config.PGTABLE_LEVELS == 4
    assert "PT_RECLAIM from /proc/config.gz" in r.line()
    assert "no la57" in r.line() and "CONFIG_PGTABLE_LEVELS=5" in r.line()
    assert resolve_config(None, rk(la57=True)).config.PGTABLE_LEVELS == 5


def test_resolve_config_without_a_config_file_goes_by_release():
    old = resolve_config(None, rk(config_path=None, config={}, release="6.6.30"))
    assert not old.config.PT_RECLAIM and "assumed from the release 6.6.30" in old.line()
    new = resolve_config(None, rk(config_path=None, config={}, release="6.18.2"))
    assert new.config.PT_RECLAIM


def test_resolve_config_override_wins_and_is_reported():
    r = resolve_config("PT_RECLAIM=n", rk())
    assert not r.config.PT_RECLAIM
    assert "PT_RECLAIM=n from --config (the running kernel has y)" in r.line()
    with pytest.raises(ValueError, match="unknown config key"):
        resolve_config("NOPE=1", None)


def test_explain_mismatch_names_pt_reclaim_and_thp():
    s = load_tables_scenario(ROOT / "pagewalk_edu/scenarios/tables/dontneed-whole.json")
    resolved = resolve_config("PT_RECLAIM=n", rk())
    results = predict(s, resolved.config)
    for r, b in zip(results, [0, 16 * K, 12 * K, 8 * K, 0]):
        r.real_page_table_bytes = b
    reasons = explain_mismatch(results, resolved, rk())
    assert "but this kernel has PT_RECLAIM=y" in reasons[0]
    assert not any("run it again" in x for x in reasons)  # explained: no guessing
    results[2].real_page_table_bytes = results[2].page_table_bytes
    results[3].real_page_table_bytes = results[3].page_table_bytes
    results[4].real_page_table_bytes = 4 * K  # unexplained by the config: say what else it can be
    assert any("run it again" in x for x in explain_mismatch(results, resolved, rk()))
    results[1].real_page_table_bytes = 12 * K  # a touch with fewer bytes than predicted: a huge page?
    assert any("THP is 'madvise'" in x for x in explain_mismatch(results, resolved, rk()))
    for r in results:
        r.real_page_table_bytes = r.page_table_bytes
    assert explain_mismatch(results, resolved, rk()) == []


# --- the real runner ------------------------------------------------------------------------------


def test_real_refuses_other_platforms_in_one_line(monkeypatch, capsys):
    monkeypatch.setattr(sys, "platform", "darwin")
    with pytest.raises(RealUnavailable, match="--real needs Linux"):
        check_platform()
    args = argparse.Namespace(file=str(SHIPPED[0]), scenario=None, json=False, real=True, config=None)
    assert tables_cli.run(args) == 2
    one_error_line(capsys.readouterr().err)


def test_real_refuses_other_machines_and_missing_vmpte(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(real.platform, "machine", lambda: "aarch64")
    with pytest.raises(RealUnavailable, match="this machine is aarch64"):
        check_platform()
    monkeypatch.setattr(real.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(real.os, "sysconf", lambda name: 4096)
    status = tmp_path / "status"
    status.write_text("Name: x\nVmRSS: 4 kB\n")
    real_open = open
    monkeypatch.setattr(real, "open", lambda p, *a, **k: real_open(status if p == "/proc/self/status" else p, *a, **k),
                        raising=False)
    with pytest.raises(RealUnavailable, match="does not report it"):
        check_platform()


@needs_real
@pytest.mark.parametrize("script,needle", [
    ("import sys; print('step 2: mmap refused: File exists (errno 17)', file=sys.stderr); sys.exit(3)",
     "the real run failed: step 2: mmap refused"),
    ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "killed by SIGKILL"),
    ("print('hello')", "not its JSON report"),
    ("import json; print(json.dumps({'base': 0, 'bytes': [0], 'va_bits': 47}))", "reported 1 steps"),
])
def test_child_failures_become_one_line(monkeypatch, tmp_path, script, needle):
    child = tmp_path / "child.py"
    child.write_text(script)
    monkeypatch.setattr(real, "CHILD", child)
    s = load_tables_scenario(ROOT / "pagewalk_edu/scenarios/tables/dontneed-whole.json")
    with pytest.raises(RealUnavailable) as info:
        measure(s)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_child_chooses_a_slot_with_free_neighbours():
    child = importlib.import_module("pagewalk_edu.tables._child")
    busy = [(32 * SLOT + 4096, 32 * SLOT + 8192), (35 * SLOT - 4096, 35 * SLOT)]
    # slot 32 is used, 33 neighbours it, 34 neighbours the mapping ending at 35*SLOT
    assert child.choose_base(SLOT, busy) == 36 * SLOT
    with pytest.raises(child.Failed, match="no 512 GiB slot"):
        child.choose_base(SLOT, [(0, 1 << 47)])


def test_real_refuses_a_scenario_larger_than_free_memory(monkeypatch):
    if REAL_SKIP is not None:
        pytest.skip(f"--real cannot run here: {REAL_SKIP}")
    monkeypatch.setattr(real, "_available_memory", lambda: 64 * M)
    s = parse_tables_scenario({"steps": [{"op": "mmap", "start": 0, "length": "1G"},
                                         {"op": "touch", "start": 0, "length": "1G"}]})
    with pytest.raises(RealUnavailable, match="writes up to 1G of memory and only 64M is available"):
        measure(s)


# --- the command ---------------------------------------------------------------------------------


def test_cli_prediction_text():
    rc, out, err = tables(str(ROOT / "pagewalk_edu/scenarios/tables/public-example.json"))
    assert rc == 0, err
    assert "config: PT_RECLAIM=y, PGTABLE_LEVELS=4; the 6.18 profile" in out
    assert "+ PUD table [0, 512G) allocated by __pud_alloc()" in out
    assert "- PMD table [1G, 2G) freed by free_pgd_range()" in out
    assert "the file's expected bytes: all agree with the prediction" in out
    assert "kernel" not in out.splitlines()[3]  # no kernel column without --real


def test_cli_json_shape():
    rc, out, err = tables(str(ROOT / "pagewalk_edu/scenarios/tables/public-example.json"), "--json")
    assert rc == 0, err
    doc = json.loads(out)
    assert set(doc) == {"config", "steps"}
    assert {"PT_RECLAIM", "PGTABLE_LEVELS", "source"} <= set(doc["config"])
    for step in doc["steps"]:
        assert set(step) == {"op", "page_table_bytes", "allocated", "freed"}
    touch = doc["steps"][1]
    assert touch["op"] == "touch" and touch["page_table_bytes"] == 12 * K
    assert touch["allocated"][0] == {"level": "PUD", "start": 0, "end": 512 * G, "function": "__pud_alloc",
                                     "path": "handle_mm_fault → __handle_mm_fault → pud_alloc → __pud_alloc"}
    assert doc["steps"][5]["freed"][0]["function"] == "free_pgd_range"


def test_cli_scenario_alias_and_config():
    path = str(ROOT / "pagewalk_edu/scenarios/tables/dontneed-whole.json")
    rc, out, err = tables("--scenario", path, "--json", "--config", "PT_RECLAIM=n")
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["config"]["PT_RECLAIM"] is False
    assert [s["page_table_bytes"] // K for s in doc["steps"]] == [0, 16, 16, 16, 0]


@pytest.mark.parametrize("args,needle", [
    ([], "a scenario FILE is required"),
    (["missing.json"], "missing.json: no such file"),
    (["pagewalk_edu/scenarios/tables/sparse.json", "--config", "PT_RECLAIM=maybe"], "PT_RECLAIM takes y or n"),
    (["pagewalk_edu/scenarios/tables/sparse.json", "--scenario", "pagewalk_edu/scenarios/tables/public-example.json"],
     "give the scenario once"),
])
def test_cli_errors_exit_2_in_one_line(args, needle):
    rc, out, err = tables(*args)
    assert rc == 2 and out == ""
    assert needle in one_error_line(err)


def test_cli_bad_file_exit_2_names_step_and_field(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"steps": [{"op": "mmap", "start": 0, "length": "4M"},
                                         {"op": "touch", "start": "1M", "length": "3K"}]}))
    rc, _, err = tables(str(bad))
    assert rc == 2
    assert "step 2: field 'length' must be page aligned (a multiple of 4K), got '3K'" in one_error_line(err)
    bad.write_text('{"steps": [{"op": "mmap", "start": 0, "length": "4M"}, {"op": "munmap"')
    rc, _, err = tables(str(bad))
    assert rc == 2 and "truncated" in one_error_line(err)


def test_run_in_process_returns_exit_codes(capsys):
    parser = argparse.ArgumentParser(prog="pagewalk-edu")
    tables_cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["tables", str(SHIPPED[0]), "--json"])
    assert tables_cli.run(args) == 0
    assert json.loads(capsys.readouterr().out)["steps"]
    args = parser.parse_args(["tables", "--scenario", str(SHIPPED[0])])
    assert tables_cli.run(args) == 0
    args = parser.parse_args(["tables", "nope.json"])
    assert tables_cli.run(args) == 2
    one_error_line(capsys.readouterr().err)


def test_main_command_dispatches_to_tables():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "pagewalk_edu", "tables", str(SHIPPED[0]), "--json"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["steps"]


@needs_real
def test_cli_real_agrees_and_reports_the_config_used():
    rc, out, err = tables(str(ROOT / "pagewalk_edu/scenarios/tables/public-example.json"), "--real")
    assert rc == 0, err
    assert "measured on Linux" in out and "config: PT_RECLAIM=" in out
    assert "the kernel agrees on every step (8 of 8)" in out
    assert "MISMATCH" not in out
    rc, out, err = tables(str(ROOT / "pagewalk_edu/scenarios/tables/public-example.json"), "--real", "--json")
    doc = json.loads(out)
    assert set(doc) == {"config", "steps"}
    assert "measured_on" in doc["config"]
    assert all(s["match"] and s["real_page_table_bytes"] == s["page_table_bytes"] for s in doc["steps"])


@needs_real
def test_cli_real_explains_a_mismatch_instead_of_hiding_it():
    """Predict with PT_RECLAIM=n on a kernel that has it (or the reverse): the
    DONTNEED step disagrees and the output says why."""
    has = kconfig.running_kernel().pt_reclaim
    flag = "n" if has in (True, None) else "y"
    rc, out, err = tables(str(ROOT / "pagewalk_edu/scenarios/tables/dontneed-whole.json"), "--real",
                          "--config", f"PT_RECLAIM={flag}")
    assert rc == 0, err
    assert "MISMATCH" in out and "the kernel disagrees at steps 3, 4" in out
    assert "PT_RECLAIM" in out.split("What can explain it:")[1]


# --- the model against the kernel on random layouts ------------------------------------------------

ANCHORS = [0, 2 * M, G - 4 * M, G - 2 * M, G, 2 * G - M, 3 * G, 7 * G + M, 100 * G, 511 * G - 8 * M]
LENGTHS = [4 * K, 512 * K, M, 2 * M, 3 * M, 6 * M, G + 2 * M, 3 * G]
STRIDES = [4 * K, 64 * K, M, 2 * M, 64 * M, G]
MAX_PAGES = 20_000  # keep each example's memory small


@st.composite
def layouts(draw):
    """Valid scenarios: sparse and multi-GiB mappings, adjacent ones (which merge),
    touches with strides, munmaps of parts, holes and gaps, MADV_DONTNEED of parts
    and wholes: crossing PMD and PUD boundaries."""
    steps, live, pages = [], [], 0

    def covered(a, b):
        at = a
        for x, y in sorted(live):
            if x <= at < y:
                at = y
        return at >= b

    for _ in range(draw(st.integers(3, 10))):
        kind = draw(st.sampled_from(["mmap", "mmap", "touch", "touch", "munmap", "dontneed"]))
        if kind == "mmap" or not live:
            if live and draw(st.booleans()):  # right next to an existing mapping
                a, b = draw(st.sampled_from(live))
                length = draw(st.sampled_from(LENGTHS[:5]))
                start = b if draw(st.booleans()) else a - length
            else:
                start = draw(st.sampled_from(ANCHORS)) + draw(st.integers(0, 7)) * 512 * K
                length = draw(st.sampled_from(LENGTHS))
            if start < 0 or start + length > SLOT or any(x < start + length and start < y for x, y in live):
                continue
            live.append((start, start + length))
            steps.append({"op": "mmap", "start": start, "length": length})
            continue
        a, b = draw(st.sampled_from(live))
        lo = a + draw(st.integers(0, (b - a) // (4 * K) - 1)) * 4 * K
        hi = min(b, lo + draw(st.sampled_from(LENGTHS)))
        if kind == "touch":
            stride = draw(st.sampled_from(STRIDES))
            n = -(-(hi - lo) // max(stride, 4 * K))
            if pages + n > MAX_PAGES:
                continue
            pages += n
            steps.append({"op": "touch", "start": lo, "length": hi - lo, "stride": stride})
        elif kind == "dontneed":
            if draw(st.booleans()):
                lo, hi = a, b  # the whole mapping
            if covered(lo, hi):
                steps.append({"op": "madvise", "start": lo, "length": hi - lo, "advice": "dontneed"})
        else:
            if draw(st.booleans()):  # over the mapping and beyond, holes included
                lo, hi = max(0, a - 2 * M), min(SLOT, b + draw(st.sampled_from([0, 2 * M, G])))
            steps.append({"op": "munmap", "start": lo, "length": hi - lo})
            kept = []
            for x, y in live:
                if y <= lo or x >= hi:
                    kept.append((x, y))
                    continue
                if x < lo:
                    kept.append((x, lo))
                if y > hi:
                    kept.append((hi, y))
            live = kept
    if not steps:
        steps = [{"op": "mmap", "start": 0, "length": 4 * K}]
    return {"steps": steps}


@needs_real
@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(doc=layouts())
def test_random_layouts_predicted_equals_real(doc):
    s = parse_tables_scenario(doc)
    predicted = [r.page_table_bytes for r in predict(s, kernel_cfg())]
    assert run_real(s) == predicted, textwrap.shorten(json.dumps(doc), 2000)


# --- check(): what the CLI and the lessons run ------------------------------------------------------


def test_check_without_the_kernel_still_predicts(monkeypatch):
    """Off Linux a lesson still shows the prediction, and says why the kernel was not measured."""
    from pagewalk_edu.tables import check
    monkeypatch.setattr(sys, "platform", "darwin")
    c = check(load_tables_scenario(SHIPPED[0]))
    assert c.unavailable.startswith("--real needs Linux") and c.agrees is None
    assert [r.page_table_bytes for r in c.results] == list(load_tables_scenario(SHIPPED[0]).expected)
    with pytest.raises(RealUnavailable):
        check(load_tables_scenario(SHIPPED[0]), strict=True)


@needs_real
def test_check_measures_and_agrees():
    from pagewalk_edu.tables import check
    c = check(load_tables_scenario(ROOT / "pagewalk_edu/scenarios/tables/dontneed-halves.json"))
    assert c.unavailable is None and c.agrees is True and c.reasons == []
    assert all(r.real_page_table_bytes is not None for r in c.results)
