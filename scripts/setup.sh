#!/usr/bin/env bash
# Set up everything pagewalk-edu needs on a Debian/Ubuntu-like machine:
# Debian packages (python3-venv, graphviz's dot, and for tests chromium) and a
# virtual environment in .venv with the package installed in it.
#   scripts/setup.sh EXTRAS [--browser]
set -euo pipefail
cd "$(dirname "$0")/.."

extras="${1:-lab}"
browser="${2:-}"

pkgs=()
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  pkgs+=(python3-venv)
fi
command -v dot >/dev/null 2>&1 || pkgs+=(graphviz)
if [ "$browser" = "--browser" ] && ! command -v chromium >/dev/null 2>&1; then
  pkgs+=(chromium)
fi
if [ "${#pkgs[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  echo "Installing Debian packages: ${pkgs[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=".venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)-${extras//,/_}"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[${extras}]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
