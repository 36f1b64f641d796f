"""What the browser (JupyterLite + Pyodide) build is made of, and how it is fetched.

Shared by tools/build_lite.py (the Lite site) and tests/lite (the engine's tests
inside Pyodide under Node). Everything comes from two registries, once, into a
cache folder (docs/_vendor/lite/, not committed); later builds run offline:

- the Pyodide core from the npm package `pyodide` (no compiled packages: the
  interpreter, its standard library and `pyodide-lock.json`, the index of
  packages Pyodide knows);
- pure-Python wheels from PyPI at pinned versions;
- this package's own wheel, built here from the source tree (no build backend
  is downloaded: the package is pure Python and its layout is in pyproject.toml).
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "docs" / "_vendor" / "lite"

# The Pyodide release jupyterlite-pyodide-kernel 0.8.6 is built against
# (jupyterlite_pyodide_kernel.constants.PYODIDE_VERSION); Python 3.14 inside.
PYODIDE = ("pyodide", "314.0.6")
PYODIDE_PYTHON = "3.14"

# Packages the Pyodide kernel loads as it boots: micropip (piplite is built on it),
# then IPython and jedi (initKernel() in the kernel's worker). Their versions, and
# those of their dependencies, are the ones pyodide-lock.json names.
# typing-extensions is there for anywidget.
BOOT = ("micropip", "ipython", "jedi", "traitlets", "typing-extensions")

# Pure wheels Pyodide's lock file does not have, pinned. matplotlib is left out:
# it has compiled parts and no wasm wheel in any registry reached here.
EXTRA = {
    "comm": "0.2.3",
    "ipywidgets": "8.1.9",
    "graphviz": "0.21",
    "anywidget": "0.11.0",
    "psygnal": "0.16.1",
}
# What each needs at import time (their Requires-Dist, by lock names).
EXTRA_DEPENDS = {"comm": [], "ipywidgets": ["comm", "ipython", "traitlets"], "graphviz": [],
                 "anywidget": ["ipywidgets", "psygnal", "typing-extensions"], "psygnal": []}
EXTRA_IMPORTS = {name: [name] for name in EXTRA}
# Dependencies of pagewalk-edu that the browser goes without: matplotlib has
# compiled parts and no wasm wheel in any registry reached here, and the lessons'
# views in the browser are the package's own SVG.
NOT_IN_BROWSER = {"matplotlib"}


def own_depends() -> list[str]:
    """pagewalk-edu's runtime dependencies that the site ships, by canonical name."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = [canonical(re.match(r"[A-Za-z0-9_.\-]+", d).group(0)) for d in project["dependencies"]]
    return [n for n in names if n not in NOT_IN_BROWSER]

# For the engine's tests under Node: pytest, hypothesis and what they import, at
# the versions the test extra installs for CPython here (the lock's own `depends`
# for pytest still lists py and atomicwrites, which pytest 9 no longer uses) except
# hypothesis: 6.155.7 is its last release with a pure wheel (later ones are compiled).
TEST_WHEELS = {"pytest": "9.2.0", "pluggy": "1.7.0", "iniconfig": "2.3.1", "packaging": "26.4",
               "pygments": "2.20.0", "hypothesis": "6.155.7", "sortedcontainers": "2.4.0", "attrs": "26.1.0"}


def say(msg: str) -> None:
    print(f"build_lite: {msg}", file=sys.stderr, flush=True)


class FetchError(RuntimeError):
    """Something is neither in the cache nor reachable."""


def pyodide_core(cache: Path = CACHE) -> Path:
    """The unpacked npm package `pyodide` (folder with pyodide.mjs and pyodide-lock.json)."""
    name, version = PYODIDE
    folder = cache / f"pyodide-{version}"
    if (folder / "pyodide-lock.json").exists():
        return folder
    tgz = cache / f"pyodide-{version}.tgz"
    if not tgz.exists():
        if not shutil.which("npm"):
            raise FetchError(f"the npm package {name}@{version} is not in {rel(cache)} and npm is not installed "
                             "(apt-get install nodejs npm, or run bash scripts/test.sh)")
        cache.mkdir(parents=True, exist_ok=True)
        say(f"fetching {name}@{version} from the npm registry")
        p = subprocess.run(["npm", "pack", f"{name}@{version}", "--pack-destination", str(cache)],
                           capture_output=True, text=True)
        if p.returncode != 0 or not tgz.exists():
            raise FetchError(f"npm pack {name}@{version} failed (no network and no cached copy in {rel(cache)}?): "
                             + (p.stderr.strip().splitlines() or ["no output"])[-1])
    tmp = folder.with_suffix(".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with tarfile.open(tgz) as tar:
        for m in tar.getmembers():
            if m.isfile() and m.name.startswith("package/") and "/" not in m.name[len("package/"):]:
                tmp.mkdir(parents=True, exist_ok=True)
                (tmp / m.name[len("package/"):]).write_bytes(tar.extractfile(m).read())
    tmp.rename(folder)
    return folder


def lock_closure(lock: dict, names) -> list[str]:
    """`names` and every package they depend on, by the lock file's `depends`."""
    by_name = {canonical(k): k for k in lock["packages"]}
    seen, todo = [], list(names)
    while todo:
        want = todo.pop()
        n = by_name.get(canonical(want))
        if n is None:
            raise KeyError(f"{want} is not in pyodide-lock.json")
        if n in seen:
            continue
        seen.append(n)
        todo += lock["packages"][n]["depends"]
    return sorted(seen)


def canonical(name: str) -> str:
    """PEP 503 name: the lock's keys say prompt-toolkit, its `depends` prompt_toolkit."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pypi_wheel(name: str, version: str, cache: Path = CACHE) -> Path:
    """The pure (py3-none-any) wheel of name==version from PyPI, cached."""
    folder = cache / "wheels"
    for whl in folder.glob("*.whl"):
        stem = whl.name.split("-")
        if canonical(stem[0]) == canonical(name) and stem[1] == version:
            return whl
    folder.mkdir(parents=True, exist_ok=True)
    say(f"fetching {name}=={version} from PyPI")
    p = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
                        "--no-deps", "--only-binary=:all:", "--python-version", PYODIDE_PYTHON, "--platform", "any",
                        "-d", str(folder), f"{name}=={version}"], capture_output=True, text=True)
    for whl in folder.glob("*.whl"):
        stem = whl.name.split("-")
        if canonical(stem[0]) == canonical(name) and stem[1] == version:
            if not whl.name.endswith("-none-any.whl"):
                whl.unlink()
                raise FetchError(f"{name}=={version} has no pure wheel on PyPI; Pyodide needs one")
            return whl
    err = [l for l in p.stderr.splitlines() if "ERROR" in l] or ["pip download failed"]
    raise FetchError(f"{name}=={version} is not in {rel(folder)} and could not be fetched: {err[-1]}")


def lock_wheels(lock: dict, names, cache: Path = CACHE) -> dict[str, Path]:
    """PyPI wheels for lock packages, at the versions and file names the lock gives."""
    out = {}
    for n in lock_closure(lock, names):
        entry = lock["packages"][n]
        whl = pypi_wheel(entry["name"], entry["version"], cache)
        if whl.name != entry["file_name"]:
            raise FetchError(f"PyPI's wheel {whl.name} does not match the lock's {entry['file_name']}")
        out[n] = whl
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- this package's wheel ------------------------------------------------------

def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def own_wheel(out_dir: Path) -> Path:
    """Build pagewalk_edu's wheel from the source tree: the packages setuptools would
    find (`tool.setuptools.packages.find`) and the package-data globs, with
    metadata from [project]. Fixed timestamps make the same source give the same bytes."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = meta["project"]
    include = meta["tool"]["setuptools"]["packages"]["find"]["include"]
    data_globs = meta["tool"]["setuptools"]["package-data"]
    name, version = project["name"], project["version"]
    dist = name.replace("-", "_")
    files: dict[str, bytes] = {}
    # pyproject's packages.find looks for namespace packages too (setuptools'
    # default there): a folder of modules is a package with or without __init__.py.
    pkgs = sorted({p.parent for p in ROOT.glob("pagewalk_edu/**/*.py") if "__pycache__" not in p.parts})
    for pkg in pkgs:
        dotted = ".".join(pkg.relative_to(ROOT).parts)
        if not any(fnmatch.fnmatchcase(dotted, g) for g in include):
            continue
        for f in sorted(pkg.glob("*.py")):
            files[f.relative_to(ROOT).as_posix()] = f.read_bytes()
    for top, globs in data_globs.items():
        for g in globs:
            for f in sorted((ROOT / top).glob(g)):
                if f.is_file():
                    files[f.relative_to(ROOT).as_posix()] = f.read_bytes()
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
             f"Summary: {project['description']}", f"Requires-Python: {project['requires-python']}"]
    lines += [f"Requires-Dist: {d}" for d in project["dependencies"]]
    for extra, deps in project.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        for d in deps:
            marker = f"({d.split(';', 1)[1].strip()}) and " if ";" in d else ""
            lines.append(f"Requires-Dist: {d.split(';', 1)[0].strip()} ; {marker}extra == \"{extra}\"")
    info = f"{dist}-{version}.dist-info"
    files[f"{info}/METADATA"] = ("\n".join(lines) + "\n").encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: pagewalk-edu tools/lite_deps.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    scripts = project.get("scripts", {})
    if scripts:
        files[f"{info}/entry_points.txt"] = ("[console_scripts]\n" + "".join(f"{k} = {v}\n" for k, v in scripts.items())).encode()
    files[f"{info}/top_level.txt"] = b"pagewalk_edu\n"
    record = "".join(f"{p},{_record_hash(b)},{len(b)}\n" for p, b in files.items()) + f"{info}/RECORD,,\n"
    files[f"{info}/RECORD"] = record.encode()
    out_dir.mkdir(parents=True, exist_ok=True)
    whl = out_dir / f"{dist}-{version}-py3-none-any.whl"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p, b in files.items():
            zi = zipfile.ZipInfo(p, date_time=(1980, 1, 1, 0, 0, 0))
            zi.external_attr = 0o644 << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, b)
    whl.write_bytes(buf.getvalue())
    return whl


def lock_entry(name: str, version: str, whl: Path, imports, depends) -> dict:
    return {"name": name, "version": version, "file_name": whl.name, "install_dir": "site",
            "sha256": sha256(whl), "package_type": "package", "imports": list(imports),
            "depends": list(depends), "unvendored_tests": False}


def rel(p: Path) -> str:
    try:
        return p.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(p)


def read_lock(core: Path) -> dict:
    return json.loads((core / "pyodide-lock.json").read_text())


def fetch_all(cache: Path = CACHE) -> None:
    """Everything the Lite site and tests/lite need, into the cache (skips what is there)."""
    lock = read_lock(pyodide_core(cache))
    lock_wheels(lock, BOOT, cache)
    for name, version in {**EXTRA, **TEST_WHEELS}.items():
        pypi_wheel(name, version, cache)


if __name__ == "__main__":
    # python tools/lite_deps.py: fetch once (scripts/test.sh does), then build offline.
    try:
        fetch_all()
    except FetchError as e:
        print(f"lite_deps: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"lite_deps: the Pyodide core and {len(list((CACHE / 'wheels').glob('*.whl')))} wheels are in {rel(CACHE)}")
