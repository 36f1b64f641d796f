#!/usr/bin/env bash
# Set up and run the whole test suite:  bash scripts/test.sh [pytest args]
# Works from any directory; pytest runs from the repository root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh lab,test,docs,lite --browser --node
# The Pyodide core (npm) and the pure wheels of the browser build (PyPI), once, into
# docs/_vendor/lite/; later runs, and the builds the tests make, are offline.
.venv/bin/python tools/lite_deps.py

export MPLBACKEND=Agg
# Browser tests drive the Debian chromium through Playwright's executable_path;
# Playwright's own browser downloads are never used.
if [ -z "${PAGEWALK_CHROMIUM:-}" ]; then
  if [ -x /usr/bin/chromium ]; then
    export PAGEWALK_CHROMIUM=/usr/bin/chromium
  elif command -v chromium >/dev/null 2>&1; then
    PAGEWALK_CHROMIUM="$(command -v chromium)"
    export PAGEWALK_CHROMIUM
  elif command -v chromium-browser >/dev/null 2>&1; then  # Ubuntu
    PAGEWALK_CHROMIUM="$(command -v chromium-browser)"
    export PAGEWALK_CHROMIUM
  fi
fi

# The README's test command installed chromium: the browser tests must run, not skip.
export PAGEWALK_REQUIRE_BROWSER=1

rc=0
.venv/bin/python -m pytest "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
  # A suite that runs nothing has tested nothing.
  echo "test.sh: no tests collected; that counts as a failure" >&2
  exit 1
fi
exit "$rc"
