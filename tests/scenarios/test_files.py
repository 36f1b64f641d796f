"""Scenario files (docs/scenarios.md): what they mean, and a one-line error
naming the file, the key and what is accepted for each bad value."""

import pytest

from pagewalk_edu.explore import verdict
from pagewalk_edu.kernel import make_scenario
from pagewalk_edu.kernel.layout import builtin_layout, parse_address
from pagewalk_edu.kernel.scenario import ACTIONS, build_setup
from pagewalk_edu.scenarios.files import load, loads

from scenario_texts import HEAD, PATHS, THREE_CPUS, VMAS, WALKER


def test_the_three_cpu_file_means_what_it_says():
    f = loads(THREE_CPUS, "it.toml")
    s = f.scenario
    setup = build_setup(s)
    assert [p.name for p in setup.paths] == ["munmap", "khugepaged"]
    assert [p.cpu for p in setup.paths] == [1, 2]
    assert [v.name for v in setup.vmas] == ["exe", "A", "B", "stack"]
    b = next(v for v in setup.vmas if v.name == "B")
    assert b.start == 0x7F00_0000_0000 + 8 * (1 << 20) and b.size == 2 << 20
    assert setup.walk_addr == 0x7F00_0020_5000
    assert s.holds == ("vma_lock",) and f.expect == "safe" and f.states is None


def test_address_sums_name_vmas_sizes_and_hex():
    vmas = {v.name: v for v in builtin_layout("munmap").vmas}
    assert parse_address("A+2M+0x5000", vmas, "k") == 0x7F00_0020_5000
    assert parse_address("A.end-4K", vmas, "k") == 0x7F00_003F_F000
    assert parse_address(0x1000, vmas, "k") == 0x1000
    assert parse_address("0x7f00_0000_0000 + 1G", vmas, "k") == 0x7F00_4000_0000


@pytest.mark.parametrize("action", ACTIONS)
def test_a_file_naming_a_builtin_layout_is_that_action(action):
    text = f'name = "x"\nlayout = "{action}"\n[walker]\nholds = ["rcu"]\ncpu = "remote"\n'
    s = loads(text, "x.toml").scenario
    assert s == make_scenario("rcu", action, walker="remote")
    assert verdict(s).states == verdict(make_scenario("rcu", action, walker="remote")).states


def test_a_builtin_layout_takes_a_walked_address_relative_to_its_vmas():
    s = loads('name = "x"\nlayout = "munmap"\n[walker]\naddress = "A+3M+0x10"\n', "x.toml").scenario
    assert build_setup(s).walk_addr == 0x7F00_0030_0010


BAD = [
    # (what the test changes, the new text, what the error must say)
    ("unknown top key", "colour = 1\n" + THREE_CPUS, "unknown key 'colour'; accepted: name, doc"),
    ("unknown walker key", THREE_CPUS.replace("[walker]\n", "[walker]\nlocks = 1\n"),
     "walker: unknown key 'locks'; accepted: walk, cpu, holds"),
    ("walker address outside every VMA", THREE_CPUS.replace('address = "A+2M+0x5000"', 'address = "A+5M"'),
     "walker.address: 0x7f0000500000 is outside every VMA"),
    ("walker address outside the walked VMA",
     THREE_CPUS.replace('address = "A+2M+0x5000"', 'address = "B+0x1000"\nvma = "A"'),
     "walker.address: 0x7f0000801000 is outside the walked VMA A"),
    ("faulted page outside every VMA", THREE_CPUS.replace('"B+0x1000"]', '"B+2M"]'),
     "faulted[2]: 0x7f0000a00000 is outside every VMA"),
    ("overlapping VMAs", THREE_CPUS.replace('start = "A.end+4M"', 'start = "A+3M"'),
     "vma[2]: VMA B [0x7f0000300000, 0x7f0000500000) overlaps VMA A"),
    ("unaligned VMA", THREE_CPUS.replace('size = "4M"', 'size = 0x3ff800'), "vma[1]: [0x7f0000000000, 0x7f00003ff800) is not page (4K)-aligned"),
    ("unaligned munmap range", THREE_CPUS.replace('op = "munmap"\nvma = "B"', 'op = "munmap"\nstart = "B+0x800"\nsize = "1M"'),
     "path[0]: [0x7f0000800800, 0x7f0000900800) is not page (4K)-aligned"),
    ("unaligned collapse range", THREE_CPUS.replace('start = "A+2M"\nsize = "2M"', 'start = "A+1M"\nsize = "2M"'),
     "path[1]: [0x7f0000100000, 0x7f0000300000) is not PMD (2M)-aligned"),
    ("file-only path on an anonymous VMA", THREE_CPUS.replace('op = "khugepaged_collapse"', 'op = "retract_page_tables"'),
     "path[1]: retract_page_tables needs a file VMA (it walks mapping->i_mmap); VMA A is anonymous"),
    ("anon-only path on a file VMA", THREE_CPUS.replace('size = "4M"', 'size = "4M"\nkind = "file"'),
     "path[1]: khugepaged_collapse is collapse_huge_page() for anonymous memory; VMA A is a file VMA"),
    ("unknown path", THREE_CPUS.replace('op = "munmap"', 'op = "mprotect"'),
     "path[0].op: unknown path 'mprotect'; accepted: munmap, madvise, khugepaged_collapse, retract_page_tables, mremap"),
    ("unknown VMA kind", THREE_CPUS.replace('size = "2M"\n\n[[vma]]', 'size = "2M"\nkind = "hugetlb"\n\n[[vma]]'),
     "vma[2].kind: unknown VMA kind 'hugetlb'; accepted: anon, file"),
    ("unknown VMA in an address", THREE_CPUS.replace('"B+0x1000"]', '"C+0x1000"]'),
     "faulted[2]: 'C+0x1000' names VMA 'C', which is not defined before it"),
    ("unreadable address", THREE_CPUS.replace('address = "A+2M+0x5000"', 'address = "A*2"'),
     "walker.address: cannot read 'A*2'"),
    ("bad expect", THREE_CPUS.replace('expect = "safe"', 'expect = "fine"'),
     "expect: unknown verdict 'fine'; accepted: safe, safe_but_stale, unsafe, deadlock"),
    ("bad states", THREE_CPUS.replace('expect = "safe"', 'expect = "safe"\nstates = 0'), "states must be a positive integer"),
    ("bad holder", THREE_CPUS.replace('holds = ["vma_lock"]', 'holds = ["page_lock"]'), "walker.holds: unknown holder 'page_lock'"),
    ("bad cpu", THREE_CPUS.replace('[walker]\n', '[walker]\ncpu = "cpu3"\n'), "walker.cpu: 'cpu3'; accepted: local"),
    ("bad kernel", THREE_CPUS.replace('kernel = "6.18"', 'kernel = "5.4"'), "kernel: unknown kernel '5.4'; accepted: 6.18, 7.1"),
    ("bad config key", THREE_CPUS.replace('kernel = "6.18"', 'kernel = "6.18"\nconfig = { PTE_RECLAIM = false }'),
     "config: unknown key 'PTE_RECLAIM'; accepted: MMU_GATHER_RCU_TABLE_FREE"),
    ("bad fault", THREE_CPUS.replace('kernel = "6.18"', 'kernel = "6.18"\nfault = "oom"'), "fault: unknown fault 'oom'; accepted: none"),
    ("no path", HEAD + WALKER + VMAS, "path is missing"),
    ("two paths change one VMA", THREE_CPUS + '\n[[path]]\nop = "munmap"\nstart = "B"\nsize = "1M"\n',
     "path: munmap and munmap2 both change or collapse VMA B"),
    ("same actor twice", THREE_CPUS.replace('op = "munmap"\nvma = "B"', 'op = "munmap"\nvma = "B"\nactor = "khugepaged"'),
     "path[1].actor: two paths are named 'khugepaged'"),
    ("madvise over a hole", THREE_CPUS.replace('op = "munmap"\nvma = "B"', 'op = "madvise"\nstart = "A"\nend = "B.end"'),
     "path[0]: madvise range [0x7f0000000000, 0x7f0000a00000) has a hole at 0x7f0000400000"),
    ("munmap of nothing", THREE_CPUS.replace('op = "munmap"\nvma = "B"', 'op = "munmap"\nstart = "A.end"\nsize = "1M"'),
     "path[0]: munmap of [0x7f0000400000, 0x7f0000500000) covers no VMA"),
    ("mremap of part of a VMA", THREE_CPUS.replace('op = "munmap"\nvma = "B"', 'op = "mremap"\nstart = "A"\nsize = "2M"\nnew = "A+1G"'),
     "path[0]: mremap of [0x7f0000000000, 0x7f0000200000) must move one whole VMA"),
    ("mremap onto a VMA", THREE_CPUS.replace('op = "munmap"\nvma = "B"', 'op = "mremap"\nvma = "B"\nnew = "A"'),
     "path[0].new: the new range [0x7f0000000000, 0x7f0000200000) overlaps VMA A"),
    ("retract over faulted pages",
     THREE_CPUS.replace('size = "4M"', 'size = "4M"\nkind = "file"').replace('op = "khugepaged_collapse"', 'op = "retract_page_tables"'),
     "faulted[1]: page 0x7f0000206000 lies in [0x7f0000200000, 0x7f0000400000), which khugepaged retracts"),
    ("VMA outside user space", THREE_CPUS.replace("start = 0x7ffd_e000_0000", "start = 0x8000_0000_0000").replace(
        "end = 0x7ffd_e002_1000", 'size = "4K"'), "VMA stack starts at 0x800000000000 is outside user space for 4-level paging"),
    ("unknown layout", 'name = "x"\nlayout = "mprotect"\n', "layout: unknown layout 'mprotect'; accepted: munmap, munmap_adjacent"),
    ("layout and own VMAs", 'name = "x"\nlayout = "munmap"\n' + VMAS, "vma: a file with layout = 'munmap' uses that layout as shipped"),
    ("builtin layout, address outside A", 'name = "x"\nlayout = "munmap"\n[walker]\naddress = "A+4M"\n',
     "walker.address: 0x7f0000400000 is outside the walked VMA A [0x7f0000000000, 0x7f0000400000) of layout munmap"),
    ("schedule naming no actor", 'name = "x"\nschedule = ["walker", "munmap2"]\n' + THREE_CPUS.split("\n", 1)[1],
     "schedule: schedule step 2: unknown actor 'munmap2' in schedule; accepted: walker, munmap, khugepaged, irq0, irq1, irq2"),
    ("not TOML", "name = \n", "not valid TOML"),
    ("no name", THREE_CPUS.replace('name = "vma_lock+munmap-neighbour+collapse"\n', ""), "name is missing"),
]


@pytest.mark.parametrize("what,text,expect", BAD, ids=[b[0] for b in BAD])
def test_bad_value_is_one_line_naming_file_and_key(write, what, text, expect):
    p = write(text)
    with pytest.raises((ValueError, TypeError)) as info:
        load(p)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"{p}: "), msg
    assert expect in msg, msg


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(ValueError, match=r"nope.toml: no such file"):
        load(tmp_path / "nope.toml")
