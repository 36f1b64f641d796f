"""The prediction runs the kernel model on a TableStore (kernel/tablestore.py)
so that its time grows with the tables a scenario touches, not with their
square; these tests hold it to the same answers as the model's own tuple tree."""

from dataclasses import replace
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pagewalk_edu.kernel import KernelConfig
from pagewalk_edu.kernel.pgtable import Table, is_accounted, pgtables_bytes, set_table
from pagewalk_edu.kernel.geometry import Level
from pagewalk_edu.kernel.syscalls import Mm
from pagewalk_edu.kernel.tablestore import TableStore

CHUNK = 512
from pagewalk_edu.tables import load_tables_scenario, parse_tables_scenario, predict
from pagewalk_edu.tables.predict import SIM_BASE
from pagewalk_edu.tables.spec import SLOT

SHIPPED = sorted(Path(str(resources.files("pagewalk_edu") / "scenarios" / "tables")).glob("*.json"))
CONFIGS = [KernelConfig.for_kernel("6.18"), KernelConfig.for_kernel("6.18", PT_RECLAIM=False),
           KernelConfig.for_kernel("6.18", PGTABLE_LEVELS=5)]


def predict_on_tuples(scenario, config):
    """The same steps on the model's plain tuple tree: the reference."""
    mm = Mm.in_empty_slot(config, SIM_BASE, SLOT)
    out = []
    for op in scenario.steps:
        s, e = SIM_BASE + op.start, SIM_BASE + op.end
        call = {"mmap": lambda: mm.mmap(s, e), "touch": lambda: mm.touch(s, e, op.stride),
                "munmap": lambda: mm.munmap(s, e), "madvise": lambda: mm.madvise_dontneed(s, e)}[op.op]()
        assert isinstance(call.mm.tables, tuple)
        mm = call.mm
        out.append((mm.pgtables_bytes, [c[:4] for c in call.allocated], [c[:4] for c in call.freed]))
    return out


def as_rows(results):
    return [(r.page_table_bytes, [(c.level, c.start + SIM_BASE, c.end + SIM_BASE, c.function) for c in r.allocated],
             [(c.level, c.start + SIM_BASE, c.end + SIM_BASE, c.function) for c in r.freed]) for r in results]


def test_every_shipped_scenario_predicts_the_same_on_the_table_store():
    for path in SHIPPED:
        scenario = load_tables_scenario(path)
        for config in CONFIGS:
            assert as_rows(predict(scenario, config)) == predict_on_tuples(scenario, config), (path.name, config)


OFFSETS = st.integers(0, 2047).map(lambda n: n << 20 & ~((1 << 12) - 1))  # within 2 GiB, 1 MiB steps


@st.composite
def scenarios(draw):
    """mmap of a region, then random touches, MADV_DONTNEED and munmap inside it."""
    size = draw(st.sampled_from([4 << 20, 1 << 30, 3 << 30]))
    start = draw(st.sampled_from([0, 2 << 20, 1 << 30]))
    steps = [{"op": "mmap", "start": start, "length": size}]
    for _ in range(draw(st.integers(1, 6))):
        a = draw(st.integers(0, size // (1 << 20) - 1)) << 20
        b = draw(st.integers(a // (1 << 20) + 1, size // (1 << 20))) << 20
        op = draw(st.sampled_from(["touch", "touch", "madvise"]))
        step = {"op": op, "start": start + a, "length": b - a}
        if op == "touch":
            # a 4K-stride touch writes every page: spec.py refuses more than MAX_TOUCHED_PAGES
            # in one step and MAX_SCENARIO_PAGES in all, so only ranges up to 256M (six of
            # them stay under both bounds) take 4K; longer ranges take larger strides
            step["stride"] = draw(st.sampled_from(["4K", "2M", "1G"] if b - a <= 256 << 20 else ["2M", "1G"]))
        else:
            step["advice"] = "dontneed"
        steps.append(step)
    if draw(st.booleans()):
        a = draw(st.integers(0, size // (1 << 20) - 1)) << 20
        steps.append({"op": "munmap", "start": start + a, "length": size - a})
    return parse_tables_scenario({"steps": steps})


@settings(max_examples=60, deadline=None)
@given(scenarios(), st.sampled_from(CONFIGS))
def test_random_scenarios_predict_the_same_on_the_table_store(scenario, config):
    assert as_rows(predict(scenario, config)) == predict_on_tuples(scenario, config)


def test_the_table_store_is_the_tuple_it_stands_for():
    tables = tuple(Table(i, Level.PTE, i << 21) for i in range(3 * CHUNK + 5))
    store = TableStore(tables)
    assert len(store) == len(tables) and list(store) == list(tables) and store == tables
    assert pgtables_bytes(store) == pgtables_bytes(tables)
    changed = replace(tables[CHUNK + 1], counted=False)
    new = set_table(store, changed)
    assert new[CHUNK + 1] == changed and store[CHUNK + 1] == tables[CHUNK + 1], "a value: the old store is unchanged"
    assert pgtables_bytes(new) == pgtables_bytes(set_table(tables, changed)) == pgtables_bytes(store) - 4096
    grown = new + (Table(len(tables), Level.PMD, 0),)
    assert len(grown) == len(tables) + 1 and grown.accounted == sum(map(is_accounted, grown))
    assert hash(grown) == hash(tuple(grown))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 40), st.booleans()), max_size=60))
def test_every_version_of_a_table_store_reads_as_its_tuple(ops):
    """Persistent: change any earlier version, and every version still reads
    exactly as the tuple built by the same changes."""
    base = tuple(Table(i, Level.PTE, i << 21) for i in range(3))
    versions = [(TableStore(base), base)]
    for pick, tid, grow in ops:
        store, ref = versions[pick % len(versions)]
        if grow:
            child = Table(len(ref), Level.PMD if tid % 2 else Level.PTE, 0)
            versions.append((store + (child,), ref + (child,)))
        else:
            tid %= len(ref)
            changed = replace(ref[tid], counted=not ref[tid].counted)
            versions.append((set_table(store, changed), set_table(ref, changed)))
        for s, r in versions[:: max(1, len(versions) // 5)] + versions[-1:]:
            assert len(s) == len(r) and tuple(s) == r and s.accounted == sum(map(is_accounted, r))
            assert pgtables_bytes(s) == pgtables_bytes(r)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.booleans()), max_size=40), st.integers(0, 3), st.booleans())
def test_a_transient_session_leaves_every_other_version_as_it_was(ops, start_at, abandon):
    """tablestore.Transient: a system call edits the newest tables in place;
    the version it started from (and every older one) still reads as before,
    the session ends as the tuple the same changes build, or (abandon) as
    nothing changed at all."""
    base = tuple(Table(i, Level.PTE, i << 21) for i in range(3))
    versions = [(TableStore(base), base)]
    for i in range(3):  # some history, so that the session may start from an older version
        store, ref = versions[-1]
        changed = replace(ref[i], counted=False)
        versions.append((set_table(store, changed), set_table(ref, changed)))
    store, ref = versions[start_at]
    session = store.transient()
    edited, expected = session, ref
    for tid, grow in ops:
        if grow:
            child = Table(len(expected), Level.PMD, 0)
            edited, expected = edited + (child,), expected + (child,)
        else:
            changed = replace(expected[tid % len(expected)], counted=not expected[tid % len(expected)].counted)
            edited, expected = set_table(edited, changed), set_table(expected, changed)
        assert edited is session and edited.accounted == sum(map(is_accounted, expected))
    if abandon:
        assert session.abandon() is store
    else:
        done = session.persistent()
        assert tuple(done) == expected and done.accounted == sum(map(is_accounted, expected))
        versions.append((done, expected))
    for s, r in versions:
        assert tuple(s) == r and s.accounted == sum(map(is_accounted, r))


def test_a_transient_refuses_to_go_on_once_another_version_was_read():
    tables = tuple(Table(i, Level.PTE, i << 21) for i in range(3))
    store = TableStore(tables)
    newer = set_table(store, replace(tables[1], counted=False))
    session = newer.transient()
    set_table(session, replace(tables[2], counted=False))
    assert store[1].counted and newer[2].counted  # older versions read as they were (and take the list back)
    with pytest.raises(RuntimeError, match="transient"):
        set_table(session, replace(tables[0], counted=False))
    assert tuple(newer) == (tables[0], replace(tables[1], counted=False), tables[2])
