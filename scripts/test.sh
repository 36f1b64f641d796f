#!/usr/bin/env bash
# Set up and run the whole test suite: bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh lab,test,docs --browser
export MPLBACKEND=Agg
if command -v chromium >/dev/null 2>&1; then
  export PAGEWALK_CHROMIUM="$(command -v chromium)"
fi
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$rc"
