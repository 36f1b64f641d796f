"""environment.yml, binder/ and pyproject.toml name the same dependencies with compatible versions."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# PyPI name -> conda-forge name
CONDA_NAME = {"graphviz": "python-graphviz", "matplotlib": "matplotlib", "ipywidgets": "ipywidgets",
              "jupyterlab": "jupyterlab", "ipykernel": "ipykernel"}


def conda_deps(path: Path) -> dict[str, str]:
    """The `dependencies:` list of a conda environment file (a small, strict reader)."""
    deps, inside = {}, False
    for line in path.read_text().splitlines():
        if line.startswith("dependencies:"):
            inside = True
            continue
        if inside and line.startswith("  - ") and not line.startswith("  - pip:"):
            spec = line[4:].strip()
            m = re.match(r"([A-Za-z0-9_.\-]+)\s*(.*)", spec)
            deps[m.group(1)] = m.group(2).replace(" ", "")
        elif inside and line and not line.startswith(" "):
            inside = False
    return deps


def pyproject_deps() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    specs = data["project"]["dependencies"] + data["project"]["optional-dependencies"]["lab"]
    out = {}
    for spec in specs:
        m = re.match(r"([A-Za-z0-9_.\-]+)\s*(.*)", spec)
        out[m.group(1)] = m.group(2).replace(" ", "")
    return out


def lower_bound(spec: str) -> tuple[int, ...] | None:
    m = re.search(r">=([0-9.]+)", spec)
    return tuple(int(x) for x in m.group(1).split(".")) if m else None


def upper_bound(spec: str) -> tuple[int, ...] | None:
    m = re.search(r"<([0-9.]+)", spec)
    return tuple(int(x) for x in m.group(1).split(".")) if m else None


def test_conda_files_name_every_python_dependency_with_compatible_versions():
    py = pyproject_deps()
    for env in (ROOT / "environment.yml", ROOT / "binder" / "environment.yml"):
        conda = conda_deps(env)
        assert "graphviz" in conda, f"{env.name} must ship the dot binary (conda-forge graphviz)"
        for name, spec in py.items():
            cname = CONDA_NAME[name]
            assert cname in conda, f"{env} lacks {cname}"
            assert lower_bound(conda[cname]) == lower_bound(spec), (env, name, conda[cname], spec)
            assert upper_bound(conda[cname]) == upper_bound(spec), (env, name, conda[cname], spec)


def test_environment_files_agree():
    assert conda_deps(ROOT / "environment.yml") == conda_deps(ROOT / "binder" / "environment.yml")


def test_binder_installs_the_package():
    post = (ROOT / "binder" / "postBuild").read_text()
    assert "pip install" in post and "-e ." in post
    assert "-e ." in (ROOT / "environment.yml").read_text()
