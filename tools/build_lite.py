"""Build the course as a JupyterLite site: python tools/build_lite.py [--output DIR]

The site runs every lesson in the reader's browser tab (Python in WebAssembly,
Pyodide), from static files, with no server kernel and no internet:

1. the Pyodide core from the npm package `pyodide`, this package's wheel and the pure
   wheels the kernel and the lessons import (tools/lite_deps.py), all cached in
   docs/_vendor/lite/ on the first build; later builds need no network;
2. the wheels go beside `pyodide-lock.json`, whose entries are rewritten to name
   them with their own sha256 (PyPI's wheels differ byte-wise from the ones Pyodide
   rebuilds) and cut down to what the site ships, so nothing is looked for elsewhere;
3. `jupyter-lite.json` turns the PyPI fallback off and loads pagewalk-edu as the
   kernel starts, so a lesson's first `import pagewalk_edu` just works;
4. `jupyter lite build` (jupyterlite-core) with the course's notebooks (lessons, tutorial,
   glossary) and their figures as its contents.

Serve the output over HTTP (a Lite site does not run from file://), e.g.
    python3 -m http.server -d docs/_build/lite 8000
and open http://127.0.0.1:8000/lab/index.html?path=00-start-here.ipynb
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lite_deps as deps  # noqa: E402

ROOT = deps.ROOT
DEFAULT_OUT = ROOT / "docs" / "_build" / "lite"
KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"
# What the site needs from the npm package: the ES module (the kernel's worker is a
# module worker), the interpreter, the standard library, the lock file.
CORE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide.js", "package.json")
APPS = ("lab", "notebooks")


def size_of(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def pyodide_folder(dest: Path, cache: Path) -> list[str]:
    """Fill `dest` (the site's static/pyodide) and return the packages to preload."""
    core = deps.pyodide_core(cache)
    lock = deps.read_lock(core)
    dest.mkdir(parents=True)
    for name in CORE_FILES:
        shutil.copy2(core / name, dest / name)
    packages = {}
    for n, whl in deps.lock_wheels(lock, deps.BOOT, cache).items():
        entry = dict(lock["packages"][n])
        entry["sha256"] = deps.sha256(whl)
        packages[n] = entry
        shutil.copy2(whl, dest / whl.name)
    for name, version in deps.EXTRA.items():
        whl = deps.pypi_wheel(name, version, cache)
        shutil.copy2(whl, dest / whl.name)
        packages[name] = deps.lock_entry(name, version, whl, deps.EXTRA_IMPORTS[name], deps.EXTRA_DEPENDS[name])
    own = deps.own_wheel(dest)
    version = own.name.split("-")[1]
    packages["pagewalk-edu"] = deps.lock_entry("pagewalk-edu", version, own, ["pagewalk_edu"], deps.own_depends())
    shipped = {deps.canonical(n) for n in packages}
    for entry in packages.values():
        for d in entry["depends"]:
            if deps.canonical(d) not in shipped:
                raise SystemExit(f"build_lite: {entry['name']} depends on {d}, which the site does not ship "
                                 "(pin a pure wheel of it in tools/lite_deps.py EXTRA, or list it in NOT_IN_BROWSER)")
    lock["packages"] = dict(sorted(packages.items()))
    (dest / "pyodide-lock.json").write_text(json.dumps(lock, indent=1, sort_keys=True))
    return ["pagewalk-edu"]


def lite_config(preload: list[str]) -> dict:
    return {
        "jupyter-lite-schema-version": 0,
        "jupyter-config-data": {
            "appName": "pagewalk-edu",
            "faviconUrl": "",
            "litePluginSettings": {
                KERNEL_PLUGIN: {
                    # piplite looks only at the site's own wheel index, never at PyPI
                    "disablePyPIFallback": True,
                    "loadPyodideOptions": {"packages": preload},
                },
            },
        },
    }


def stage(work: Path, cache: Path) -> None:
    shutil.rmtree(work, ignore_errors=True)
    preload = pyodide_folder(work / "static" / "pyodide", cache)
    (work / "jupyter-lite.json").write_text(json.dumps(lite_config(preload), indent=2))
    files = work / "files"
    files.mkdir()
    for nb in course_notebooks():
        shutil.copy2(nb, files / nb.name)
    if (ROOT / "notebooks" / "img").is_dir():   # the lessons' figures, by relative path
        shutil.copytree(ROOT / "notebooks" / "img", files / "img")


def course_notebooks() -> list[Path]:
    """The lessons, the tutorial and the glossary: every notebook of notebooks/."""
    return sorted((ROOT / "notebooks").glob("*.ipynb"))


def jupyter_lite() -> list[str]:
    """`jupyter lite` as this interpreter's module, not its console script: a
    script's first line names the interpreter that installed it, which may be
    gone (a moved or shared environment) while the package still imports."""
    try:
        import jupyterlite_core  # noqa: F401
    except ImportError:
        raise SystemExit("build_lite: jupyterlite-core is not installed; run bash scripts/test.sh "
                         "(or pip install -e '.[lite]') first") from None
    return [sys.executable, "-m", "jupyterlite_core"]


def check_site(out: Path) -> None:
    """Fail the build unless the site is whole and points at no other host."""
    cfg = json.loads((out / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = cfg["litePluginSettings"][KERNEL_PLUGIN]
    url = kernel.get("pyodideUrl", "")
    if not url.startswith("./"):
        raise SystemExit(f"build_lite: pyodideUrl is {url!r}, not a file of the site")
    lock = json.loads((out / "static" / "pyodide" / "pyodide-lock.json").read_text())
    for entry in lock["packages"].values():
        if not (out / "static" / "pyodide" / entry["file_name"]).exists():
            raise SystemExit(f"build_lite: the lock names {entry['file_name']}, which is not in the site")
    lessons = sorted(p.name for p in (out / "files").glob("*.ipynb"))
    want = [p.name for p in course_notebooks()]
    if lessons != want:
        raise SystemExit(f"build_lite: the site has notebooks {lessons}, expected {want}")


def build(out: Path, cache: Path = deps.CACHE) -> int:
    out = out.resolve()
    work = cache / "stage"
    stage(work, cache)
    shutil.rmtree(out, ignore_errors=True)
    cmd = jupyter_lite() + ["build", "--lite-dir", str(work), "--output-dir", str(out),
                            "--contents", str(work / "files"), "--no-sourcemaps", "--no-unused-shared-packages"]
    for app in APPS:
        cmd += ["--apps", app]
    p = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stdout[-4000:] + p.stderr[-4000:])
        raise SystemExit(f"build_lite: jupyter lite build failed (exit {p.returncode})")
    check_site(out)
    return size_of(out)


#: what this tool imports or runs, by module, and the extra of pyproject.toml that installs it
NEEDS = (("jupyterlite_core", "lite"), ("jupyterlite_pyodide_kernel", "lite"))


def missing_extras(needs=NEEDS) -> list[str]:
    """The extras not installed, checked before anything is downloaded."""
    import importlib.util

    return sorted({extra for module, extra in needs if importlib.util.find_spec(module) is None})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Build the course as a JupyterLite site (runs in the browser, offline).")
    ap.add_argument("--output", default=str(DEFAULT_OUT), help="output folder (default docs/_build/lite)")
    args = ap.parse_args(argv)
    lacking = missing_extras()
    if lacking:
        print(f"build_lite: needs the extra {', '.join(lacking)} (jupyterlite-core and its Pyodide kernel); "
              "run bash scripts/setup.sh lab,lite first", file=sys.stderr)
        return 2
    try:
        size = build(Path(args.output))
    except deps.FetchError as e:
        print(f"build_lite: {e}", file=sys.stderr)
        return 1
    print(f"build_lite: {deps.rel(Path(args.output))}: {size / 1e6:.1f} MB; serve it with "
          f"python3 -m http.server -d {deps.rel(Path(args.output))} and open /lab/index.html?path=00-start-here.ipynb")
    return 0


if __name__ == "__main__":
    sys.exit(main())
