"""The catalogue of bad inputs tried, and what each gets.  docs/bad-inputs.md is
generated from it (`python -m tests.robustness.cases > docs/bad-inputs.md`) and a
test keeps the two in step; test_bad_inputs.py runs every row."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    id: str
    surface: str  # cli, api, file, widget, tables
    input: str  # what the user typed or loaded, in words
    expect: str  # a fragment of the one-line message they get
    args: tuple = ()  # CLI arguments (cli), or data for the runner
    files: dict = field(default_factory=dict)  # name -> content written before the run


V = ("verdict", "--holds", "rcu", "--action", "munmap")
T = ("trace", "--holds", "rcu", "--action", "munmap")
BIG = "{" + " " * (1 << 20) + "}"
DEEP = "[" * 100_000 + "]" * 100_000  # under 1 MiB, far deeper than json's recursion limit
LONG_INT = "1" * 5000  # more digits than int() converts by default (4300)
SCENARIO = {"schema": 1, "holds": [], "action": "munmap"}
TABLES = json.dumps({"steps": [{"op": "mmap", "start": 0, "length": "4K"}]})

CASES: tuple[Case, ...] = (
    Case("cli-holder-unknown", "cli", "--holds bogus", "unknown holder 'bogus'", ("verdict", "--holds", "bogus", "--action", "munmap")),
    Case("cli-holder-repeated", "cli", "--holds rcu,rcu", "holder 'rcu' given twice", ("verdict", "--holds", "rcu,rcu", "--action", "munmap")),
    Case("cli-holder-none-mixed", "cli", "--holds none,rcu", "'none' cannot be combined", ("verdict", "--holds", "none,rcu", "--action", "munmap")),
    Case("cli-holder-empty", "cli", "--holds ''", "empty holder list", ("verdict", "--holds", "", "--action", "munmap")),
    Case("cli-holder-empty-item", "cli", "--holds rcu,,vma_lock", "empty item in holder list", ("verdict", "--holds", "rcu,,vma_lock", "--action", "munmap")),
    Case("cli-action-unknown", "cli", "--action fork", "unknown action 'fork'", ("verdict", "--holds", "rcu", "--action", "fork")),
    Case("cli-config-key-unknown", "cli", "--config FOO=y", "unknown config key 'FOO'", V + ("--config", "FOO=y")),
    Case("cli-config-no-equals", "cli", "--config PT_RECLAIM", "expected KEY=VAL", V + ("--config", "PT_RECLAIM")),
    Case("cli-config-bad-bool", "cli", "--config PT_RECLAIM=maybe", "PT_RECLAIM takes y or n", V + ("--config", "PT_RECLAIM=maybe")),
    Case("cli-config-bad-choice", "cli", "--config TLB_FLUSH=fast", "TLB_FLUSH takes ipi or broadcast", V + ("--config", "TLB_FLUSH=fast")),
    Case("cli-config-levels", "cli", "--config PGTABLE_LEVELS=3", "PGTABLE_LEVELS takes 4 or 5", V + ("--config", "PGTABLE_LEVELS=3")),
    Case("cli-config-key-twice", "cli", "--config PT_RECLAIM=y,PT_RECLAIM=n", "given twice", V + ("--config", "PT_RECLAIM=y,PT_RECLAIM=n")),
    Case("cli-config-empty-item", "cli", "--config PT_RECLAIM=n,,", "empty item in --config", V + ("--config", "PT_RECLAIM=n,,")),
    Case("cli-config-impossible", "cli", "--config MMU_GATHER_RCU_TABLE_FREE=n,PT_RECLAIM=y", "PT_RECLAIM=y needs MMU_GATHER_RCU_TABLE_FREE=y",
         V + ("--config", "MMU_GATHER_RCU_TABLE_FREE=n,PT_RECLAIM=y")),
    Case("cli-kernel-unknown", "cli", "--kernel 5.4", "unknown kernel profile '5.4'", V + ("--kernel", "5.4")),
    Case("cli-walker-unknown", "cli", "--walker far", "unknown walker 'far'", V + ("--walker", "far")),
    Case("cli-fault-unknown", "cli", "--fault oom", "unknown fault 'oom'", V + ("--fault", "oom")),
    Case("cli-schedule-unknown-actor", "cli", "trace --schedule walker,nobody", "unknown actor 'nobody'",
         ("trace", "--holds", "rcu", "--action", "munmap", "--schedule", "walker,nobody")),
    Case("cli-schedule-cannot-move", "cli", "trace --holds vma_lock --schedule walker,munmap,munmap", "munmap cannot move now",
         ("trace", "--holds", "vma_lock", "--action", "munmap", "--schedule", "walker,munmap,munmap")),
    Case("cli-schedule-empty", "cli", "trace --schedule ','", "--schedule is empty", ("trace", "--holds", "rcu", "--action", "munmap", "--schedule", ",")),
    Case("cli-holds-missing", "cli", "verdict --action munmap", "--holds is required", ("verdict", "--action", "munmap")),
    Case("cli-action-missing", "cli", "verdict --holds rcu", "--action is required", ("verdict", "--holds", "rcu")),
    Case("cli-command-unknown", "cli", "pagewalk-edu frobnicate", "invalid choice", ("frobnicate",)),
    Case("cli-option-unknown", "cli", "verdict --colour", "unrecognized arguments", V + ("--colour",)),
    Case("cli-scenario-and-holds", "cli", "--scenario FILE --holds rcu", "--scenario already names the scenario",
         ("verdict", "--scenario", "{ok}", "--holds", "rcu"), {"ok": json.dumps({"schema": 1, "holds": ["rcu"], "action": "munmap"})}),
    Case("cli-save-exists", "cli", "trace --save FILE onto an existing file", "exists; add --force",
         ("trace", "--holds", "rcu", "--action", "munmap", "--save", "{ok}"), {"ok": "keep me"}),
    Case("cli-save-no-dir", "cli", "trace --save into a missing folder", "cannot write",
         ("trace", "--holds", "rcu", "--action", "munmap", "--save", "{dir}/missing/t.json")),
    Case("file-missing", "file", "--scenario of a file that does not exist", "no such file", ("verdict", "--scenario", "{dir}/nope.json")),
    Case("file-directory", "file", "--scenario of a folder", "is a directory", ("verdict", "--scenario", "{dir}")),
    Case("file-not-json", "file", "a scenario file that is not JSON", "not valid JSON", ("verdict", "--scenario", "{f}"), {"f": "holds: rcu\n"}),
    Case("file-truncated", "file", "a scenario file cut short", "truncated", ("verdict", "--scenario", "{f}"), {"f": '{"schema": 1, "holds": ["rcu"], "act'}),
    Case("file-too-large", "file", "a scenario file over 1 MiB", "larger than the 1048576 bytes (1 MiB) accepted", ("verdict", "--scenario", "{f}"), {"f": BIG}),
    Case("file-not-object", "file", "a JSON array instead of an object", "expected a JSON object", ("verdict", "--scenario", "{f}"), {"f": "[1, 2]"}),
    Case("file-schema-missing", "file", "no 'schema' field", "missing 'schema'", ("verdict", "--scenario", "{f}"), {"f": json.dumps({"holds": [], "action": "munmap"})}),
    Case("file-schema-newer", "file", "schema 9 (from a newer release)", "schema 9 is newer than this pagewalk-edu understands",
         ("verdict", "--scenario", "{f}"), {"f": json.dumps({"schema": 9, "holds": [], "action": "munmap"})}),
    Case("file-schema-type", "file", "schema \"1\" (a string)", "'schema' must be an integer",
         ("verdict", "--scenario", "{f}"), {"f": json.dumps({"schema": "1", "holds": [], "action": "munmap"})}),
    Case("file-field-unknown", "file", "an unknown field", "unknown field 'colour'",
         ("verdict", "--scenario", "{f}"), {"f": json.dumps({"schema": 1, "holds": [], "action": "munmap", "colour": "red"})}),
    Case("file-holds-type", "file", "holds given as a string", "field 'holds' must be list",
         ("verdict", "--scenario", "{f}"), {"f": json.dumps({"schema": 1, "holds": "rcu", "action": "munmap"})}),
    Case("file-action-missing", "file", "no action", "missing field 'action'", ("verdict", "--scenario", "{f}"), {"f": json.dumps({"schema": 1, "holds": []})}),
    Case("file-config-type", "file", "a config value that is a list", "config PT_RECLAIM must be a string or integer",
         ("verdict", "--scenario", "{f}"), {"f": json.dumps({"schema": 1, "holds": [], "action": "munmap", "config": {"PT_RECLAIM": ["n"]}})}),
    Case("file-retract-anon", "file", "retract_page_tables on an anonymous VMA", "retract_page_tables needs a file-backed VMA",
         ("verdict", "--scenario", "{f}"), {"f": json.dumps({"schema": 1, "holds": [], "action": "retract_page_tables", "vma_kind": "anon"})}),
    Case("file-address-above-limit", "file", "an address above 4-level user space", "outside user space for 4-level paging",
         ("verdict", "--scenario", "{f}"), {"f": json.dumps({"schema": 1, "holds": [], "action": "munmap", "address": 1 << 50})}),
    Case("file-address-above-5level", "file", "5-level geometry with an address above its limit", "outside user space for 5-level paging",
         ("verdict", "--scenario", "{f}"), {"f": json.dumps({"schema": 1, "holds": [], "action": "munmap", "config": {"PGTABLE_LEVELS": 5}, "address": 1 << 57})}),
    Case("file-address-negative", "file", "a negative address", "outside user space",
         ("verdict", "--scenario", "{f}"), {"f": json.dumps({"schema": 1, "holds": [], "action": "munmap", "address": -4096})}),
    Case("file-address-outside-vma", "file", "an address outside the walked VMA", "outside the walked VMA",
         ("verdict", "--scenario", "{f}"), {"f": json.dumps({"schema": 1, "holds": [], "action": "munmap", "address": 0x1000})}),
    Case("file-schedule-type", "file", "a schedule of numbers", "field 'schedule' must list actor names",
         ("trace", "--scenario", "{f}"), {"f": json.dumps({"schema": 1, "holds": [], "action": "munmap", "schedule": [0, 1]})}),
    Case("file-schedule-cannot-move", "file", "a saved schedule naming an actor that cannot move", "f.json: schedule step 3: munmap cannot move now",
         ("trace", "--scenario", "{f}"), {"f": json.dumps({"schema": 1, "holds": ["vma_lock"], "action": "munmap", "schedule": ["walker", "munmap", "munmap"]})}),
    Case("file-kind-wrong", "file", "a trace file's kind set to something else", "expected a 'scenario' file",
         ("verdict", "--scenario", "{f}"), {"f": json.dumps({"schema": 1, "kind": "notes", "holds": [], "action": "munmap"})}),
    Case("cli-no-command", "cli", "pagewalk-edu with no command", "a command is required: trace, verdict, matrix or tables", ()),
    Case("cli-holds-given-twice", "cli", "--holds rcu --holds none", "--holds given twice", V + ("--holds", "none")),
    Case("cli-action-given-twice", "cli", "--action munmap --action mremap", "--action given twice", V + ("--action", "mremap")),
    Case("cli-kernel-given-twice", "cli", "--kernel 7.1 --kernel 6.18", "--kernel given twice", V + ("--kernel", "7.1", "--kernel", "6.18")),
    Case("cli-walker-given-twice", "cli", "--walker remote --walker local", "--walker given twice", V + ("--walker", "remote", "--walker", "local")),
    Case("cli-fault-given-twice", "cli", "--fault batch_alloc_fail --fault gather_batch_full", "--fault given twice",
         V + ("--fault", "batch_alloc_fail", "--fault", "gather_batch_full")),
    Case("cli-schedule-given-twice", "cli", "trace --schedule walker --schedule munmap", "--schedule given twice",
         T + ("--schedule", "walker", "--schedule", "munmap")),
    Case("cli-scenario-given-twice", "cli", "verdict --scenario FILE --scenario FILE", "--scenario given twice",
         ("verdict", "--scenario", "{ok}", "--scenario", "{ok}"), {"ok": json.dumps(SCENARIO)}),
    Case("cli-config-key-twice-across-flags", "cli", "--config PT_RECLAIM=n --config PT_RECLAIM=y (repeated --config flags combine)",
         "config key PT_RECLAIM given twice", V + ("--config", "PT_RECLAIM=n", "--config", "PT_RECLAIM=y")),
    Case("cli-save-directory", "cli", "trace --save onto a folder", "is a directory", T + ("--save", "{dir}")),
    Case("cli-svg-directory", "cli", "trace --svg onto a folder", "is a directory", T + ("--svg", "{dir}")),
    Case("cli-svg-exists", "cli", "trace --svg FILE when FILE-tree.svg exists", "v-tree.svg exists; add --force",
         T + ("--svg", "{dir}/v"), {"v-tree.svg": "<svg/>"}),
    Case("cli-png-exists", "cli", "trace --png FILE.png when FILE-timeline.png exists", "v-timeline.png exists; add --force",
         T + ("--png", "{dir}/v.png"), {"v-timeline.png": "keep me"}),
    Case("file-not-regular", "file", "--scenario of a device (/dev/null; /dev/zero or a named pipe the same)", "not a regular file",
         ("verdict", "--scenario", "/dev/null")),
    Case("file-nested-too-deeply", "file", "a scenario file of 100000 nested brackets", "nested too deeply", ("verdict", "--scenario", "{f}"), {"f": DEEP}),
    Case("file-long-integer", "file", "a 5000-digit address", "f.json: a number with more than",
         ("verdict", "--scenario", "{f}"), {"f": json.dumps(SCENARIO)[:-1] + ', "address": ' + LONG_INT + "}"}),
    Case("file-key-twice", "file", "a key given twice in one object", "field 'holds' is given twice",
         ("verdict", "--scenario", "{f}"), {"f": '{"schema": 1, "holds": ["rcu"], "holds": [], "action": "munmap"}'}),
    Case("file-config-key-twice", "file", "a config key given twice", "field 'PT_RECLAIM' is given twice",
         ("verdict", "--scenario", "{f}"), {"f": '{"schema": 1, "holds": [], "action": "munmap", "config": {"PT_RECLAIM": "n", "PT_RECLAIM": "y"}}'}),
    Case("file-trace-field-unknown", "file", "a trace file with an unknown field", "unknown field 'colour'; accepted: schema, kind, scenario",
         ("verdict", "--scenario", "{f}"), {"f": json.dumps({"schema": 1, "kind": "trace", "scenario": SCENARIO, "schedule": [], "colour": "red"})}),
    Case("file-trace-edited", "file", "verdict --scenario of a trace whose fingerprints were edited", "state 0 does not replay to the saved state",
         ("verdict", "--scenario", "{f}"), {"f": json.dumps({"schema": 1, "kind": "trace", "scenario": SCENARIO, "schedule": ["walker"],
                                                              "fingerprints": ["0" * 16, "0" * 16]})}),
    Case("file-trace-schedule", "file", "trace --scenario of a trace whose schedule cannot replay", "f.json: schedule step 1: unknown actor 'nobody'",
         ("trace", "--scenario", "{f}"), {"f": json.dumps({"schema": 1, "kind": "trace", "scenario": SCENARIO, "schedule": ["nobody"]})}),
    Case("tables-option-unknown", "tables", "tables FILE --kernel 7.1 (tables takes no --kernel)", "unrecognized arguments: --kernel 7.1",
         ("tables", "{f}", "--kernel", "7.1"), {"f": TABLES}),
    Case("tables-option-no-value", "tables", "tables FILE --config (no value)", "argument --config: expected one argument",
         ("tables", "{f}", "--config"), {"f": TABLES}),
    Case("tables-config-key-twice", "tables", "tables --config PT_RECLAIM=n --config PT_RECLAIM=y", "config key PT_RECLAIM given twice",
         ("tables", "{f}", "--config", "PT_RECLAIM=n", "--config", "PT_RECLAIM=y"), {"f": TABLES}),
    Case("tables-scenario-given-twice", "tables", "tables --scenario FILE --scenario FILE", "--scenario given twice",
         ("tables", "--scenario", "{f}", "--scenario", "{f}"), {"f": TABLES}),
    Case("tables-not-regular", "tables", "tables of a device (/dev/zero)", "not a regular file", ("tables", "/dev/zero")),
    Case("tables-nested-too-deeply", "tables", "a tables file of 100000 nested brackets", "nested too deeply", ("tables", "{f}"), {"f": DEEP}),
    Case("tables-long-integer", "tables", "a tables file with a 5000-digit start", "f.json: a number with more than",
         ("tables", "{f}"), {"f": TABLES.replace('"start": 0', '"start": ' + LONG_INT)}),
    Case("widget-impossible-config", "widget", "Explorer: PT_RECLAIM ticked, MMU_GATHER_RCU_TABLE_FREE unticked", "PT_RECLAIM=y needs MMU_GATHER_RCU_TABLE_FREE=y",
         ("explorer_config", {})),
    Case("widget-matrix-impossible", "widget", "Matrix: PT_RECLAIM ticked, MMU_GATHER_RCU_TABLE_FREE unticked, then a cell clicked",
         "PT_RECLAIM=y needs MMU_GATHER_RCU_TABLE_FREE=y", ("matrix_config", {})),
    Case("widget-load-missing", "widget", "Explorer: Load of a file that does not exist", "no such file", ("load", {"text": None})),
    Case("widget-load-truncated", "widget", "Explorer: Load of a truncated file", "truncated", ("load", {"text": '{"schema": 1, "holds": ['})),
    Case("widget-load-not-json", "widget", "Explorer: Load of a file that is not JSON", "not valid JSON", ("load", {"text": "holds = rcu"})),
    Case("widget-load-newer-schema", "widget", "Explorer: Load of a file from a newer schema", "schema 2 is newer",
         ("load", {"text": json.dumps({"schema": 2, "holds": [], "action": "munmap"})})),
    Case("widget-load-bad-schedule", "widget", "Explorer: Load of a schedule naming an actor that cannot move", "in.json: schedule step 3: munmap cannot move now",
         ("load", {"text": json.dumps({"schema": 1, "holds": ["vma_lock"], "action": "munmap", "schedule": ["walker", "munmap", "munmap"]})})),
    Case("widget-load-wrong-type", "widget", "Explorer: Load of a file whose holds is a number", "field 'holds' must be list",
         ("load", {"text": json.dumps({"schema": 1, "holds": 3, "action": "munmap"})})),
    Case("widget-save-exists", "widget", "Explorer: Save onto an existing file without ticking overwrite", "exists: tick 'overwrite an existing file'",
         ("save_exists", {})),
    Case("widget-save-no-dir", "widget", "Explorer: Save into a folder that does not exist", "missing does not exist", ("save_no_dir", {})),
    Case("widget-quiz-reveal-twice", "widget", "Quiz: Reveal pressed twice", "Already revealed", ("quiz_twice", {})),
    Case("api-holds-type", "api", "make_scenario(holds=5)", "holds must be a string", ("make_scenario", {"holds": 5})),
    Case("api-kernel-type", "api", "make_scenario(kernel=6.18) (a float)", "kernel must be a string", ("make_scenario", {"kernel": 6.18})),
    Case("api-config-bool-type", "api", "KernelConfig(PT_RECLAIM='yes')", "PT_RECLAIM must be a bool", ("KernelConfig", {"PT_RECLAIM": "yes"})),
    Case("api-geometry-levels", "api", "Geometry(3)", "PGTABLE_LEVELS must be 4 or 5", ("Geometry", {"levels": 3})),
    Case("api-scenario-holds-list", "api", "Scenario(holds=['rcu']) (a list)", "holds must be a tuple", ("Scenario", {"holds": ["rcu"]})),
    Case("api-step-unknown-actor", "api", "step(ctx, state, 'bogus')", "unknown actor 'bogus'", ("step", {"name": "bogus"})),
    Case("api-step-blocked", "api", "step() an actor that is blocked", "cannot move now", ("step_blocked", {})),
    Case("api-back-at-start", "api", "Trace.pop() at the first state", "already at the first state", ("pop", {})),
    Case("api-trace-edited", "api", "load_trace() of a trace whose fingerprints were edited", "does not replay to the saved state", ("load_edited", {})),
    Case("api-verdict-type", "api", "verdict('rcu') (a string, not a Scenario)", "verdict() takes a Scenario (from make_scenario(...)), got str",
         ("verdict", {"scenario": "rcu"})),
    Case("api-save-scenario-type", "api", "save_scenario(path, 'rcu')", "save_scenario() takes a Scenario (from make_scenario(...)), got str",
         ("save_scenario", {"scenario": "rcu"})),
    Case("api-save-directory", "api", "save_scenario() onto a folder", "is a directory", ("save_scenario", {"path": "."})),
    Case("api-tree-type", "api", "viz.tree.tree(None, None)", "ctx must be a Ctx", ("tree", {})),
    Case("api-state-text-order", "api", "state_text(ctx, state) (the arguments swapped)", "the state comes first here", ("state_text", {})),
    Case("api-parse-json-nested", "api", "parse_json() of 1000 nested arrays", "nested too deeply", ("parse_json", {"text": "[" * 1000 + "]" * 1000})),
    Case("api-parse-json-key-twice", "api", "parse_json() of an object with a key given twice", "field 'a' is given twice",
         ("parse_json", {"text": '{"a": 1, "a": 2}'})),
    Case("api-explorer-action", "api", "Explorer(action='fork')", "unknown action 'fork'; accepted: munmap", ("Explorer", {"action": "fork"})),
    Case("api-explorer-holds", "api", "Explorer(holds=5)", "holds must be a string such as 'vma_lock,rcu' or a list", ("Explorer", {"holds": 5})),
    Case("api-explorer-walker", "api", "Explorer(walker='far')", "unknown walker 'far'; accepted: local, remote", ("Explorer", {"walker": "far"})),
    Case("api-explorer-config", "api", "Explorer(config=['PT_RECLAIM'])", "config must be a dict", ("Explorer", {"config": ["PT_RECLAIM"]})),
    Case("api-quiz-n", "api", "Quiz(n=-1)", "n must be at least 1", ("Quiz", {"n": -1})),
    Case("api-quiz-group", "api", "Quiz(groups=['nope'])", "unknown group 'nope'; accepted:", ("Quiz", {"groups": ["nope"]})),
    Case("api-matrix-kernel", "api", "Matrix(kernel='5.4')", "unknown kernel profile '5.4'; accepted: 6.18, 7.1", ("Matrix", {"kernel": "5.4"})),
    Case("api-save-overwrite", "api", "save_scenario() onto an existing file", "exists; pass overwrite=True", ("save_exists", {})),
)


def markdown() -> str:
    lines = [
        "# Bad inputs, and what each gets",
        "",
        "Every row is run by `tests/robustness/test_bad_inputs.py`. The CLI exits 2 and prints one line",
        "(`pagewalk-edu: error: ...`, or `pagewalk-edu tables: error: ...` under `tables`) with no traceback; the",
        "Python API raises `ValueError` or `TypeError` with that line; nothing the user saved is touched. This page",
        "is generated from `tests/robustness/cases.py`.",
        "",
        "| id | where | input | the message says |",
        "|---|---|---|---|",
    ]
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    for c in CASES:
        lines.append(f"| `{c.id}` | {c.surface} | {cell(c.input)} | {cell(c.expect)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
