#!/usr/bin/env bash
# Set up and open the course in JupyterLab:  bash scripts/lab.sh [jupyter lab options]
# (e.g. --no-browser --port 8890). Works from any directory. Prints the address of
# lesson 00, with its token, so that --no-browser (a remote machine, a container)
# can be opened by hand. PAGEWALK_SKIP_SETUP=1 skips scripts/setup.sh (already set up).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ "${PAGEWALK_SKIP_SETUP:-0}" = 1 ] || bash scripts/setup.sh lab

port="" token="" ip="" prev=""
for a in "$@"; do
  case "$prev" in
    --port) port="$a" ;;
    --ip) ip="$a" ;;
  esac
  case "$a" in
    --port=*|--ServerApp.port=*) port="${a#*=}" ;;
    --ip=*|--ServerApp.ip=*) ip="${a#*=}" ;;
    --IdentityProvider.token=*|--ServerApp.token=*) token="${a#*=}" ;;
  esac
  prev="$a"
done

args=(--config=scripts/jupyter/jupyter_lab_config.py)
if [ -z "$port" ]; then
  # 8888 if it is free, else any free port; fixed here so that the address printed is the one served
  port="$(.venv/bin/python -c 'import socket
for p in (8888, 0):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    print(s.getsockname()[1]); break')"
  args+=(--port="$port")
fi
args+=(--ServerApp.port_retries=0)
if [ -z "$token" ]; then
  token="$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(24))')"
  args+=(--IdentityProvider.token="$token")
fi
if [ -d notebooks ]; then
  args+=(--ServerApp.root_dir=notebooks)
  # A file argument opens that notebook in the browser tab Jupyter starts.
  [ -f notebooks/00-start-here.ipynb ] && args+=(notebooks/00-start-here.ipynb)
fi
# Jupyter refuses to run as root (containers, fresh VMs) without this.
[ "$(id -u)" -eq 0 ] && args+=(--allow-root)
host="${ip:-localhost}"
[ "$host" = "0.0.0.0" ] && host="localhost"
echo "Lesson 00: http://$host:$port/lab/tree/00-start-here.ipynb?token=$token"
exec .venv/bin/jupyter lab "${args[@]}" "$@"
