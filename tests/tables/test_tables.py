"""`pagewalk-edu tables`: the prediction matches each shipped scenario's expected
bytes, and on Linux the running kernel agrees step by step."""

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pagewalk_edu.kernel.config import KernelConfig
from pagewalk_edu.tables import load_tables_scenario, parse_tables_scenario, predict
from pagewalk_edu.tables.real import RealUnavailable, check_platform, kernel_config, run_real

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(Path(str(resources.files("pagewalk_edu") / "scenarios" / "tables")).glob("*.json"))
K = 1024


def real_reason() -> str | None:
    try:
        check_platform()
    except RealUnavailable as err:
        return str(err)
    return None


REAL_SKIP = real_reason()


def kernel_pt_reclaim() -> bool:
    _, values = kernel_config()
    return values.get("CONFIG_PT_RECLAIM") == "y"


def cli(*args):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    p = subprocess.run([sys.executable, "-m", "pagewalk_edu", "tables", *args], capture_output=True, text=True, env=env, timeout=300)
    return p.returncode, p.stdout, p.stderr


def test_scenarios_are_shipped():
    names = {p.name for p in SHIPPED}
    assert {"public-example.json", "dontneed-halves.json", "dontneed-whole.json"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_prediction_matches_expected_bytes(path):
    s = load_tables_scenario(path)
    got = [r.page_table_bytes for r in predict(s, KernelConfig.for_kernel("6.18"))]
    assert got == list(s.expected)


@pytest.mark.skipif(REAL_SKIP is not None, reason=f"--real cannot run here: {REAL_SKIP}")
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_real_kernel_agrees_on_every_step(path):
    s = load_tables_scenario(path)
    cfg = KernelConfig.for_kernel("6.18", PT_RECLAIM=kernel_pt_reclaim())
    predicted = [r.page_table_bytes for r in predict(s, cfg)]
    assert run_real(s) == predicted


def test_first_touch_costs_pud_pmd_and_pte():
    """__pud_alloc, __pmd_alloc, __pte_alloc: the PGD already exists."""
    s = parse_tables_scenario({"steps": [{"op": "mmap", "start": 0, "length": "2M"}, {"op": "touch", "start": 0, "length": "4K"}]})
    r = predict(s, KernelConfig.for_kernel("6.18"))[1]
    assert r.page_table_bytes == 12 * K
    assert [c.function for c in r.allocated] == ["__pud_alloc", "__pmd_alloc", "__pte_alloc"]


def test_dontneed_reclaims_nothing_without_pt_reclaim():
    s = load_tables_scenario(ROOT / "pagewalk_edu/scenarios/tables/dontneed-whole.json")
    got = [r.page_table_bytes for r in predict(s, KernelConfig.for_kernel("6.18", PT_RECLAIM=False))]
    assert got == [0, 16 * K, 16 * K, 16 * K, 0]


def test_cli_json_shape():
    rc, out, err = cli(str(ROOT / "pagewalk_edu/scenarios/tables/public-example.json"), "--json")
    assert rc == 0, err
    obj = json.loads(out)
    assert set(obj) == {"config", "steps"}
    step = obj["steps"][1]
    assert step["op"] == "touch" and step["page_table_bytes"] == 12 * K
    assert {"level", "start", "end", "function"} <= set(step["allocated"][0])
    assert obj["steps"][5]["freed"][0]["function"].startswith("free_pgd_range")


@pytest.mark.skipif(REAL_SKIP is not None, reason=f"--real cannot run here: {REAL_SKIP}")
def test_cli_real_reports_config_and_matches():
    rc, out, err = cli(str(ROOT / "pagewalk_edu/scenarios/tables/public-example.json"), "--real", "--json")
    assert rc == 0, err
    obj = json.loads(out)
    assert "running kernel" in obj["config"]["source"] or obj["config"]["source"] == "the 6.18 profile"
    assert all(s["match"] for s in obj["steps"])
    assert all("real_page_table_bytes" in s for s in obj["steps"])
    rc, out, _ = cli(str(ROOT / "pagewalk_edu/scenarios/tables/public-example.json"), "--real")
    assert "match" in out and " NO" not in out


@pytest.mark.parametrize("doc,needle", [
    ({"steps": [{"op": "map", "start": 0, "length": "4K"}]}, "step 1: field 'op' must be one of"),
    ({"steps": [{"op": "mmap", "start": 1, "length": "4K"}]}, "step 1: field 'start' must be a multiple of 4K"),
    ({"steps": [{"op": "mmap", "start": 0, "length": "3K"}]}, "step 1: field 'length' must be a positive multiple of 4K"),
    ({"steps": [{"op": "mmap", "start": 0, "length": 0}]}, "field 'length' must be a positive"),
    ({"steps": [{"op": "mmap", "start": -4096, "length": "4K"}]}, "must not be negative"),
    ({"steps": [{"op": "mmap", "start": 0, "length": "1T"}]}, "ends past the 512G slot"),
    ({"steps": [{"op": "mmap", "start": 0, "length": "4Q"}]}, "is not a size"),
    ({"steps": [{"op": "mmap", "start": 0, "length": [4096]}]}, "must be an integer or a size"),
    ({"steps": [{"op": "mmap", "start": 0, "length": "4M"}, {"op": "mmap", "start": "2M", "length": "4M"}]}, "step 2: mmap"),
    ({"steps": [{"op": "touch", "start": 0, "length": "4K"}]}, "step 1: touch"),
    ({"steps": [{"op": "mmap", "start": 0, "length": "4M"}, {"op": "madvise", "start": 0, "length": "4M", "advice": "free"}]}, "step 2: field 'advice'"),
    ({"steps": [{"op": "mmap", "start": 0, "length": "4M", "stride": "4K"}]}, "field 'stride' is not accepted for mmap"),
    ({"steps": [{"op": "mmap", "start": 0, "length": "4M"}, {"op": "touch", "start": 0, "length": "4M", "stride": 0}]}, "field 'stride' must be positive"),
    ({"steps": []}, "'steps' is empty"),
    ({"steps": "mmap"}, "'steps' must be a list"),
    ({"step": []}, "unknown field 'step'"),
    ([1, 2], "expected a JSON object"),
    ({"steps": [{"op": "mmap", "start": 0}]}, "step 1: field 'length' is missing"),
    ({"steps": [{"op": "mmap", "start": 0, "length": "4M"}, {"op": "touch", "start": 0, "length": "4M", "stride": 1}]}, ""),
])
def test_validation(doc, needle):
    if needle == "":
        parse_tables_scenario(doc)  # a 1-byte stride is valid: one page touched many times
        return
    with pytest.raises((ValueError, TypeError)) as info:
        parse_tables_scenario(doc)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_cli_bad_file_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"steps": [{"op": "mmap", "start": 0, "length": "4M"}, {"op": "munmap"')
    rc, out, err = cli(str(bad))
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "truncated" in err and "Traceback" not in err
    rc, _, err = cli(str(tmp_path / "missing.json"))
    assert rc == 2 and "no such file" in err


SIZES = st.sampled_from([4 * K, 64 * K, 2 * K * K, 4 * K * K, 1 << 30, (1 << 30) + (2 << 20)])


@st.composite
def layouts(draw):
    """Sparse and multi-GiB layouts crossing PUD and PMD boundaries."""
    steps, live = [], []
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, 8 * 512)) * (2 << 20) + draw(st.sampled_from([0, 4 * K, 1 << 20]))
        length = draw(SIZES)
        if any(a < start + length and start < b for a, b in live):
            continue
        live.append((start, start + length))
        steps.append({"op": "mmap", "start": start, "length": length})
        strides = [4 * K, 1 << 20, 64 << 20] if length <= (4 << 20) else [1 << 20, 64 << 20]
        steps.append({"op": "touch", "start": start, "length": length, "stride": draw(st.sampled_from(strides))})
    for a, b in list(live):
        kind = draw(st.sampled_from(["whole", "head", "dontneed", "keep"]))
        if kind == "whole":
            steps.append({"op": "munmap", "start": a, "length": b - a})
        elif kind == "head" and b - a > 4 * K:
            steps.append({"op": "munmap", "start": a, "length": (b - a) // 2 // (4 * K) * (4 * K) or 4 * K})
        elif kind == "dontneed":
            steps.append({"op": "madvise", "start": a, "length": b - a, "advice": "dontneed"})
    return {"steps": steps}


@pytest.mark.skipif(REAL_SKIP is not None, reason=f"--real cannot run here: {REAL_SKIP}")
@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(doc=layouts())
def test_random_layouts_predicted_equals_real(doc):
    s = parse_tables_scenario(doc)
    cfg = KernelConfig.for_kernel("6.18", PT_RECLAIM=kernel_pt_reclaim())
    assert run_real(s) == [r.page_table_bytes for r in predict(s, cfg)]
