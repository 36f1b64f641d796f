#!/usr/bin/env bash
# Set up and open the course in JupyterLab:  bash scripts/lab.sh [jupyter lab options]
# (e.g. --no-browser --port 8890). Works from any directory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh lab

args=()
if [ -d notebooks ]; then
  args+=(--ServerApp.root_dir=notebooks)
  # A file argument opens that notebook in the browser tab Jupyter starts.
  [ -f notebooks/00-start-here.ipynb ] && args+=(notebooks/00-start-here.ipynb)
fi
# Jupyter refuses to run as root (containers, fresh VMs) without this.
[ "$(id -u)" -eq 0 ] && args+=(--allow-root)
exec .venv/bin/jupyter lab "${args[@]}" "$@"
