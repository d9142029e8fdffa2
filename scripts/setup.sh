#!/usr/bin/env bash
# Set up everything this project needs on a fresh Debian machine (run as root or with sudo):
#   - Graphviz's `dot` from the system packages, when missing;
#   - a virtual environment in .venv with the project installed (editable).
# Usage: bash scripts/setup.sh [--dev]     (--dev adds the test and benchmark dependencies)
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
if [[ "${1:-}" == "--dev" ]]; then extras="[dev]"; fi

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# System packages: Graphviz's `dot` (drawings), bubblewrap (the grading sandbox), Node.js and npm
# (JupyterHub's proxy), and with --dev PostgreSQL (the tests start a real server for the gradebook)
# and Chromium (the browser tests).
packages=()
command -v dot >/dev/null 2>&1 || packages+=(graphviz)
command -v bwrap >/dev/null 2>&1 || packages+=(bubblewrap)
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)   # configurable-http-proxy, JupyterHub's proxy
if [[ -n "$extras" ]] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then packages+=(postgresql); fi
# Debian's chromium for the browser tests (Playwright drives it; it downloads no browser of its own)
if [[ -n "$extras" ]] && ! command -v chromium >/dev/null 2>&1; then packages+=(chromium); fi
if (( ${#packages[@]} )); then
    echo "==> installing Debian packages: ${packages[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${packages[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "error: Python 3.11 or newer is needed; found $("$python" --version 2>&1). Set PYTHON=/path/to/python3.11." >&2
    exit 1
fi
if [[ ! -x .venv/bin/python ]]; then
    echo "==> creating virtual environment .venv"
    "$python" -m venv .venv
fi
echo "==> installing the project into .venv ${extras:+with $extras}"
.venv/bin/python -m pip install --quiet --upgrade pip==26.3
.venv/bin/python -m pip install --quiet -e ".${extras}"

# JupyterHub's proxy, from npm, inside the virtual environment (course hub finds it there).
CHP_VERSION=5.3.0
if [[ ! -x .venv/node/bin/configurable-http-proxy ]] || \
   [[ "$(.venv/node/bin/configurable-http-proxy --version 2>/dev/null)" != "$CHP_VERSION" ]]; then
    echo "==> installing configurable-http-proxy $CHP_VERSION (npm) into .venv/node"
    npm install --silent --no-fund --no-audit --global --prefix .venv/node "configurable-http-proxy@$CHP_VERSION" >/dev/null
fi
