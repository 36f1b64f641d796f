"""Odd values for every option and every saved field, through cli.main() in
process: each ends in exit 0, or exit 2 with one line that is the package's
own words (never Python's: 'invalid literal', "'NoneType' object" ...)."""

import contextlib
import io
import json

import pytest

from pagewalk_edu.cli import main

PYTHON_WORDS = ("invalid literal", "NoneType", "object has no attribute", "unhashable", "not subscriptable",
                "object is not", "unsupported operand", "[Errno", "argument of type", "positional argument",
                "list index", "KeyError", "not iterable", "Traceback")
VALUES = ["", " ", "0", "-1", "1e9", "0x10", "[]", "{}", "null", "true", "4K", "a,b", "=", "==", ",", "\x1b[2J",
          "5.0", "9" * 50, "None", "rcu,", "PT_RECLAIM=", "=y", "CONFIG_PT_RECLAIM=y", "PGTABLE_LEVELS=5.0",
          "PGTABLE_LEVELS= 5", "x" * 3000, "é→", "walker,\n"]
TRACE = ["trace", "--holds", "rcu", "--action", "munmap"]


def _run(args):
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        rc = main(args)
    text = err.getvalue()
    assert rc in (0, 2), (args, rc, text)
    if rc == 2:
        lines = text.strip().splitlines()
        assert len(lines) == 1 and len(lines[0]) <= 1100, (args, text)
        assert not any(w in lines[0] for w in PYTHON_WORDS), lines[0]
        assert "\x1b" not in lines[0]


@pytest.mark.parametrize("opt", ["--holds", "--action", "--kernel", "--walker", "--config", "--fault", "--schedule"])
def test_odd_option_values(opt):
    for v in VALUES:
        args = [a for a in TRACE]
        if opt in args:
            args[args.index(opt) + 1] = v
        else:
            args += [opt, v]
        _run(args)


FIELDS = {
    "holds": [None, 1, "rcu", [1], ["x"], {"a": 1}, ["rcu", "rcu"]], "action": [None, 1, [], "x", ""],
    "kernel": [1, "", "x", 6.18], "config": [[], "PT_RECLAIM=n", {"PT_RECLAIM": None}, {"PT_RECLAIM": 1.5},
                                            {"PGTABLE_LEVELS": 5.0}, {"PGTABLE_LEVELS": True}, {"x": 1},
                                            {"TLB_FLUSH": "ipi,PT_RECLAIM=n"}, {"PT_RECLAIM": "x" * 5000}],
    "walker": [1, "", "x"], "fault": [1, "", "x"], "address": ["0x10", 1.5, True, -1, 2 ** 70],
    "vma_kind": [1, "", "x"], "schedule": ["walker", [None], [[]], [""], ["\x1b[2J"]],
    "schema": [True, 1.0, 0, -1, "1"], "kind": [1, "", "x" * 500],
}


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_odd_saved_fields(tmp_path, field):
    for v in FIELDS[field]:
        path = tmp_path / "f.json"
        path.write_text(json.dumps({"schema": 1, "holds": ["rcu"], "action": "munmap", field: v}))
        _run(["trace", "--scenario", str(path), "--no-continue"])


STEP_FIELDS = {"op": [None, 1, "", "MMAP", "x" * 5000], "start": [None, -1, "-4K", "1.5K", "0x1000", 1.5, [], "1P"],
               "length": [0, "0", None, 1 << 60, "99999999999999999999T"], "stride": [0, -1, "1", None, "1T"],
               "advice": [None, "free", 1]}


@pytest.mark.parametrize("field", sorted(STEP_FIELDS))
def test_odd_tables_fields(tmp_path, field):
    for v in STEP_FIELDS[field]:
        op = {"stride": "touch", "advice": "madvise"}.get(field, "mmap")
        step = {"op": op, "start": 0, "length": "4K", field: v}
        steps = ([{"op": "mmap", "start": 0, "length": "4G"}] if op != "mmap" else []) + [step]
        path = tmp_path / "t.json"
        path.write_text(json.dumps({"steps": steps}))
        _run(["tables", str(path)])
