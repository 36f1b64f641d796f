"""Packaging agrees with itself: pyproject.toml, environment.yml, binder/, the set-up
scripts and the README's two commands."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the test extra installs tomli
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CONDA_FILES = (ROOT / "environment.yml",)
BINDER = ROOT / "binder"

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


def requirements(path: Path) -> dict[str, str]:
    """A pip requirements file: name -> version spec (comments and blank lines left out)."""
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            m = NAME.match(line)
            out[m.group(1)] = m.group(2).replace(" ", "")
    return out


def test_binder_builds_the_pip_way():
    """repo2docker picks the conda build when binder/ holds an environment.yml, and
    nothing here can build or test that: binder/ is requirements.txt, apt.txt, postBuild."""
    assert not (BINDER / "environment.yml").exists()
    assert sorted(p.name for p in BINDER.iterdir()) == ["apt.txt", "postBuild", "requirements.txt", "runtime.txt"]
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11", "the README promises Python 3.11"
    apt = [l.strip() for l in (BINDER / "apt.txt").read_text().splitlines() if l.strip() and not l.startswith("#")]
    assert apt == ["graphviz"], "the views need the dot binary"


def test_binder_requirements_are_the_learners_dependencies():
    assert requirements(BINDER / "requirements.txt") == pyproject_deps()


def test_conda_and_binder_install_the_package_itself():
    post = (BINDER / "postBuild").read_text()
    # The environment already holds the dependencies (binder/requirements.txt, conda-forge).
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


def _fresh_copy(dst: Path) -> Path:
    """The checkout's files that git tracks or would (what a clone, and so repo2docker, sees)."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    for f in filter(None, files):
        src = ROOT / f.decode()
        if src.is_file():
            (dst / f.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / f.decode())
    return dst


def test_binder_steps_replayed_in_a_fresh_environment_run_every_lesson(tmp_path):
    """What repo2docker does with binder/, in a new virtual environment: apt.txt's
    packages (here: already installed by scripts/setup.sh), pip install -r
    binder/requirements.txt, binder/postBuild, then every lesson executes."""
    assert shutil.which("dot"), "apt.txt's graphviz (the dot binary) must be installed"
    repo = _fresh_copy(tmp_path / "repo")
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    py = env / "bin" / "python"
    run = dict(cwd=repo, capture_output=True, text=True, timeout=1200,
               env={**os.environ, "PATH": f"{env / 'bin'}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": "",
                    "VIRTUAL_ENV": str(env), "MPLBACKEND": "Agg"})
    steps = [[str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", "binder/requirements.txt"],
             ["bash", "binder/postBuild"],
             [str(py), "-c", "import pagewalk_edu, pathlib; print(pathlib.Path(pagewalk_edu.__file__).resolve())"]]
    for cmd in steps:
        p = subprocess.run(cmd, **run)
        assert p.returncode == 0, f"{' '.join(cmd[-3:])}: {p.stdout[-2000:]}{p.stderr[-2000:]}"
    assert Path(p.stdout.strip()).is_relative_to(repo), "postBuild installs the checkout itself"
    lessons = sorted(str(n.relative_to(repo)) for n in (repo / "notebooks").glob("*.ipynb"))
    assert lessons
    out = tmp_path / "executed"
    p = subprocess.run([str(env / "bin" / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
                        "--ExecutePreprocessor.timeout=600", "--output-dir", str(out), *lessons], **run)
    assert p.returncode == 0, p.stderr[-4000:]
    assert sorted(n.name for n in out.glob("*.ipynb")) == sorted(Path(n).name for n in lessons)
