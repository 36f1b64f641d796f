"""The `pagewalk-edu check FILE...` command: run each scenario file's question
and compare the answer with the file's `expect` and `states`.

Per file it prints the verdict, why, the shortest counterexample and PASS or
FAIL (`--json`: one JSON object per file, one per line).  Exit status: 0 when
every file passes, 1 when a verdict or a state count differs, 2 when a file
cannot be read or is not a valid scenario file (the others are still checked).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .console import error_line, one_line


def add_parser(sub) -> None:
    c = sub.add_parser("check", help="run scenario files (TOML) and check their expected verdict and state count")
    c.add_argument("files", nargs="*", metavar="FILE",
                   help="scenario files (docs/scenarios.md); a directory means every *.toml file in it")
    c.add_argument("--json", action="store_true", help="print one JSON object per file, one per line")


def _expand(names: list[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        p = Path(name)
        if p.is_dir():
            found = sorted(p.glob("*.toml"))
            if not found:
                raise ValueError(f"{name}: a directory with no *.toml scenario file in it")
            out.extend(str(f) for f in found)
        else:
            out.append(name)
    return out


def check_file(path: str) -> dict:
    """One file's result as a plain dict (what --json prints)."""
    from .explore.verdict import verdict
    from .scenarios.files import load

    f = load(path)
    v = verdict(f.scenario)
    failures = []
    if f.expect is not None and v.verdict != f.expect:
        failures.append(f"verdict {v.verdict}, expected {f.expect}")
    if f.states is not None and v.states != f.states:
        failures.append(f"{v.states} states explored, the file pins {f.states}")
    return {
        "file": path,
        "name": f.name,
        "doc": f.doc,
        "verdict": v.verdict,
        "states": v.states,
        "why": list(v.why),
        "counterexample": [s.as_dict() for s in v.counterexample] if v.counterexample else None,
        "schedule": v.schedule,
        "bugs": list(v.bugs),
        "also_reachable": list(v.also),
        "properties": dict(v.properties),
        "expect": f.expect,
        "expect_states": f.states,
        "pass": not failures,
        "failures": failures,
        "assumed": v.assumed,
    }


def _text(r: dict) -> str:
    lines = [f"{r['file']}: {r['name']}"]
    if r["doc"]:
        lines.append(f"  {r['doc']}")
    lines.append(f"  verdict: {r['verdict']}  ({r['states']} states explored)")
    lines.append("  why:")
    lines.extend(f"    - {w}" for w in r["why"])
    lines.append("  properties: " + "; ".join(f"{name}: {'yes' if ok else 'NO'}" for name, ok in r["properties"].items()))
    for b in r["bugs"]:
        lines.append(f"  also: {b}")
    if r["also_reachable"]:
        lines.append(f"  also reachable: {', '.join(r['also_reachable'])}")
    if r["counterexample"]:
        lines.append(f"  counterexample ({len(r['counterexample'])} steps; replay with "
                     f"pagewalk-edu trace --scenario {r['file']} --schedule {','.join(r['schedule'])}):")
        for s in r["counterexample"]:
            who = f"CPU{s['cpu']}" if s["cpu"] is not None else "RCU "
            lines.append(f"    {s['step']:3d}  {who} {s['actor']:<10s} {s['function']:<26s} {s['text']}")
    pinned = []
    if r["expect"] is not None:
        pinned.append(f"expect {r['expect']}")
    if r["expect_states"] is not None:
        pinned.append(f"states {r['expect_states']}")
    if r["pass"]:
        lines.append(f"  PASS ({', '.join(pinned)})" if pinned else "  PASS (the file states no expect or states to check)")
    else:
        lines.append("  FAIL: " + "; ".join(r["failures"]))
    return "\n".join(lines)


def run(args) -> int:
    if not args.files:
        raise ValueError("check needs at least one scenario file (FILE.toml) or directory")
    files = _expand(args.files)
    status = 0
    bad = False
    for i, path in enumerate(files):
        try:
            r = check_file(path)
        except (ValueError, TypeError, OSError) as err:  # OSError: files.FileError, a path the system refused
            msg = one_line(err)  # a line break or an escape in a path or value is shown escaped
            bad = True
            if args.json:
                print(json.dumps({"file": path, "error": msg}))
            error_line(sys.stderr, "pagewalk-edu", msg)
            continue
        if not r["pass"]:
            status = 1
        if args.json:
            print(json.dumps(r))
        else:
            if i:
                print()
            print(_text(r))
    return 2 if bad else status
