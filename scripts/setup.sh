#!/usr/bin/env bash
# Set up everything pagewalk-edu needs on a Debian/Ubuntu-like machine:
# the Debian packages (python3-venv when missing, graphviz for `dot`, and with
# --browser chromium for the browser tests, with --node nodejs and npm for the
# browser (JupyterLite) build and its tests) and a virtual environment in .venv
# with the package installed in it, editable, with the extras asked for.
#
#   bash scripts/setup.sh EXTRAS [--browser] [--node]     e.g. lab   or   lab,test,docs,lite
#
# Re-runnable: it installs only what is missing. When `dot` (and chromium) are
# there it never calls apt; when .venv/.installed-<hash of pyproject.toml>
# records this checkout and every extra asked for, it never calls pip.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

extras="${1:-lab}"
browser=""
node=""
for arg in "${@:2}"; do
  case "$arg" in
    --browser) browser=--browser ;;
    --node) node=--node ;;
    *) echo "setup: unknown option $arg (accepted: --browser, --node)" >&2; exit 2 ;;
  esac
done

say() { echo "setup: $*" >&2; }

# One set-up at a time per checkout (scripts/lab.sh and scripts/test.sh may be
# started together): two pip runs writing the same .venv corrupt it.
if command -v flock >/dev/null 2>&1; then
  exec 9<scripts/setup.sh
  flock -n 9 || { say "waiting for another set-up of this checkout"; flock 9; }
fi

# --- (a) Debian packages ---------------------------------------------------
pkgs=()
if ! command -v python3 >/dev/null 2>&1; then
  pkgs+=(python3 python3-venv)
elif ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  # Debian ships venv's ensurepip in python3.X-venv; without it venv makes no pip.
  pkgs+=(python3-venv)
fi
command -v dot >/dev/null 2>&1 || pkgs+=(graphviz)
need_browser=0
if [ "$browser" = "--browser" ] && ! command -v chromium >/dev/null 2>&1 \
   && ! command -v chromium-browser >/dev/null 2>&1; then
  need_browser=1
fi

# Debian's nodejs has no npm in it: npm is its own package.
if [ "$node" = "--node" ]; then
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
  command -v npm >/dev/null 2>&1 || pkgs+=(npm)
fi

if [ "${#pkgs[@]}" -gt 0 ] || [ "$need_browser" -eq 1 ]; then
  [ "$need_browser" -eq 1 ] && pkgs+=(chromium)
  if ! command -v apt-get >/dev/null 2>&1; then
    say "missing ${pkgs[*]} and there is no apt-get here; install them and run this again"
    exit 1
  fi
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    say "need root or sudo to install the Debian packages: ${pkgs[*]}"
    exit 1
  fi
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  if [ "$need_browser" -eq 1 ] && ! apt-cache show chromium >/dev/null 2>&1; then
    # Ubuntu has no `chromium` package: its `chromium-browser` installs the snap.
    pkgs=("${pkgs[@]/#chromium/chromium-browser}")
  fi
  say "installing Debian packages: ${pkgs[*]}"
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${pkgs[@]}"
fi

# --- (b) .venv with the package ------------------------------------------------
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"

# The stamp holds the checkout it was made in and the extras installed, e.g.
#   root=/home/me/pagewalk-edu
#   extras=lab,test,docs
stamp_field() { sed -n "s/^$1=//p" "$2" 2>/dev/null | head -n1; }

need_install=0
if [ ! -f "$stamp" ] || [ "$(stamp_field root "$stamp")" != "$PWD" ]; then
  need_install=1
else
  have=",$(stamp_field extras "$stamp"),"
  IFS=, read -r -a asked <<<"$extras"
  for e in "${asked[@]}"; do
    [ -z "$e" ] || [[ "$have" == *",$e,"* ]] || need_install=1
  done
fi
[ "$need_install" -eq 0 ] && exit 0

# A .venv from another checkout (its scripts name that path) or one left
# without pip by a failed `python3 -m venv` is rebuilt from scratch.
old_root=""
for f in .venv/.installed-*; do
  [ -f "$f" ] && old_root="$(stamp_field root "$f")"
done
if [ -x .venv/bin/python ] && { [ -n "$old_root" ] && [ "$old_root" != "$PWD" ] ||
     ! .venv/bin/python -m pip --version >/dev/null 2>&1; }; then
  say "rebuilding .venv"
  rm -rf .venv
fi
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
fi

# Keep the extras an earlier run installed (lab.sh after test.sh must not
# make test.sh reinstall): install the union.
all="$extras"
for f in .venv/.installed-*; do
  [ -f "$f" ] && all="$all,$(stamp_field extras "$f")"
done
all="$(tr ',' '\n' <<<"$all" | sed '/^$/d' | sort -u | paste -sd, -)"

say "installing pagewalk-edu[$all] into .venv (first run downloads from PyPI)"
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$all]"
rm -f .venv/.installed-*
printf 'root=%s\nextras=%s\n' "$PWD" "$all" >"$stamp"
