// Run pytest inside Pyodide under Node:
//   node run_in_pyodide.mjs PYODIDE_DIR REPO_DIR WHEEL... -- PYTEST_ARGS...
// The repository is mounted at /repo (read-only use: pytest's cache is off and the
// working directory is in Pyodide's own memory). Pure wheels are unpacked into
// site-packages; the last line printed is a JSON summary of the outcomes.
import path from "node:path";
import { pathToFileURL } from "node:url";

const [pyodideDir, repoDir, ...rest] = process.argv.slice(2);
const sep = rest.indexOf("--");
const wheels = sep < 0 ? rest : rest.slice(0, sep);
const pytestArgs = sep < 0 ? [] : rest.slice(sep + 1);

const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);
const pyodide = await loadPyodide({ indexURL: pyodideDir + path.sep });
pyodide.FS.mkdirTree("/repo");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: path.resolve(repoDir) }, "/repo");
// Each folder holding a wheel is mounted at /wheels/N.
const dirs = [...new Set(wheels.map((w) => path.dirname(path.resolve(w))))];
dirs.forEach((d, i) => {
  pyodide.FS.mkdirTree(`/wheels/${i}`);
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: d }, `/wheels/${i}`);
});
const inPyodide = wheels.map((w) => `/wheels/${dirs.indexOf(path.dirname(path.resolve(w)))}/${path.basename(w)}`);
pyodide.globals.set("WHEELS", pyodide.toPy(inPyodide));
pyodide.globals.set("ARGS", pyodide.toPy(pytestArgs));
const summary = await pyodide.runPythonAsync(`
import json, os, site, sys, zipfile
target = site.getsitepackages()[0]
for w in WHEELS:
    zipfile.ZipFile(w).extractall(target)
import importlib; importlib.invalidate_caches()
os.makedirs("/work", exist_ok=True)
os.chdir("/work")   # .hypothesis/ and any scratch file land in memory, not in the repository
import pytest

class Count:
    def __init__(self):
        self.outcomes = {}
        self.failed = []
        self.passed = []
    def pytest_runtest_logreport(self, report):
        if report.when == "call" or report.outcome != "passed":
            key = "error" if report.when != "call" and report.outcome == "failed" else report.outcome
            self.outcomes[key] = self.outcomes.get(key, 0) + 1
            if report.outcome == "failed":
                self.failed.append(report.nodeid)
            elif report.outcome == "passed":
                self.passed.append(report.nodeid)
    def pytest_collectreport(self, report):
        if report.outcome == "failed":
            self.outcomes["error"] = self.outcomes.get("error", 0) + 1
            self.failed.append(report.nodeid)

count = Count()
code = pytest.main(list(ARGS), plugins=[count])
json.dumps({"exit": int(code), "outcomes": count.outcomes, "failed": count.failed, "passed": count.passed,
            "platform": sys.platform, "python": sys.version.split()[0]})
`);
console.log(summary);
