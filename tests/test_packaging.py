"""Packaging agrees with itself: pyproject.toml, environment.yml, binder/, the set-up
scripts and the README's two commands."""

import re
import subprocess
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the test extra installs tomli
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CONDA_FILES = (ROOT / "environment.yml", ROOT / "binder" / "environment.yml")

# PyPI name -> conda-forge name (conda-forge's `graphviz` is the dot binary).
CONDA_NAME = {"graphviz": "python-graphviz", "matplotlib": "matplotlib", "ipywidgets": "ipywidgets",
              "jupyterlab": "jupyterlab", "ipykernel": "ipykernel", "anywidget": "anywidget"}

NAME = re.compile(r"([A-Za-z0-9_.\-]+)\s*([^;]*)")


def conda_deps(path: Path) -> dict[str, str]:
    """The `dependencies:` list of a conda environment file (a small, strict reader:
    two-space `- name spec` items; the nested `- pip:` list is left out)."""
    deps, inside = {}, False
    for line in path.read_text().splitlines():
        if line.startswith("dependencies:"):
            inside = True
            continue
        if inside and line and not line.startswith(" "):
            inside = False
        if inside and line.startswith("  - ") and not line.startswith("  - pip:"):
            m = NAME.match(line[4:].strip())
            deps[m.group(1)] = m.group(2).replace(" ", "")
    return deps


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def pyproject_deps() -> dict[str, str]:
    """Runtime dependencies plus the `lab` extra: what a learner's environment holds."""
    project = pyproject()["project"]
    out = {}
    for spec in project["dependencies"] + project["optional-dependencies"]["lab"]:
        m = NAME.match(spec)
        out[m.group(1)] = m.group(2).replace(" ", "")
    return out


def lower_bound(spec: str) -> tuple[int, ...] | None:
    m = re.search(r">=([0-9.]+)", spec)
    return tuple(int(x) for x in m.group(1).split(".")) if m else None


def upper_bound(spec: str) -> tuple[int, ...] | None:
    m = re.search(r"<([0-9.]+)", spec)
    return tuple(int(x) for x in m.group(1).split(".")) if m else None


@pytest.mark.parametrize("env", CONDA_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_conda_files_name_every_python_dependency_with_compatible_versions(env):
    conda = conda_deps(env)
    assert "graphviz" in conda, f"{env.name} must ship the dot binary (conda-forge graphviz)"
    assert "pip" in conda
    assert conda.get("python") == "=3.11", "the README promises Python 3.11"
    for name, spec in pyproject_deps().items():
        assert name in CONDA_NAME, f"new dependency {name}: add its conda-forge name here and to both conda files"
        cname = CONDA_NAME[name]
        assert cname in conda, f"{env} lacks {cname}"
        assert lower_bound(conda[cname]) == lower_bound(spec), (env, name, conda[cname], spec)
        assert upper_bound(conda[cname]) == upper_bound(spec), (env, name, conda[cname], spec)


def test_environment_files_agree():
    assert conda_deps(CONDA_FILES[0]) == conda_deps(CONDA_FILES[1])


def test_conda_and_binder_install_the_package_itself():
    post = (ROOT / "binder" / "postBuild").read_text()
    # The environment already holds the dependencies, from conda-forge.
    assert re.search(r"pip install --no-deps -e \.", post)
    assert re.search(r"^\s+- -e \.$", (ROOT / "environment.yml").read_text(), re.M)


def test_package_data_covers_every_shipped_data_file():
    """Every non-Python file under pagewalk_edu/ matches a package-data glob, so a
    wheel (not only an editable install) carries the scenario files."""
    globs = pyproject()["tool"]["setuptools"]["package-data"]["pagewalk_edu"]
    pkg = ROOT / "pagewalk_edu"
    covered = {p for g in globs for p in pkg.glob(g)}
    data = {p for p in pkg.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")
            and "__pycache__" not in p.parts}
    assert data <= covered, sorted(str(p.relative_to(ROOT)) for p in data - covered)


def test_console_script_points_at_the_cli():
    assert pyproject()["project"]["scripts"] == {"pagewalk-edu": "pagewalk_edu.cli:main"}


@pytest.mark.parametrize("script", ["scripts/setup.sh", "scripts/lab.sh", "scripts/test.sh", ".ci/run",
                                    "binder/postBuild"])
def test_scripts_are_executable_bash_that_parses(script):
    path = ROOT / script
    assert path.read_text().startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in path.read_text()
    assert path.stat().st_mode & 0o111, f"{script} is not executable"
    subprocess.run(["bash", "-n", str(path)], check=True)


def test_ci_runs_the_readme_test_command():
    lines = [l for l in (ROOT / ".ci" / "run").read_text().splitlines()
             if l.strip() and not l.lstrip().startswith("#")]
    assert lines[-1] == "bash scripts/test.sh"


def test_readme_quick_start_is_exactly_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```[a-z]*\n(.*?)```", section, re.S)
    assert [b.strip() for b in blocks] == ["bash scripts/lab.sh", "bash scripts/test.sh"]


def test_readme_names_no_path_of_one_machine():
    readme = (ROOT / "README.md").read_text()
    assert not re.search(r"(?<![\w/.])/(work|root|home|tmp)/", readme)
