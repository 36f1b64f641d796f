#!/usr/bin/env bash
# Set up and open JupyterLab on the course: bash scripts/lab.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh lab
start=notebooks
[ -f notebooks/00-start-here.ipynb ] && start=notebooks/00-start-here.ipynb
exec .venv/bin/jupyter lab "$start" "$@"
