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

# System packages: Graphviz's `dot` (drawings), bubblewrap (the grading sandbox), and with --dev
# PostgreSQL (the tests start a real server for the gradebook).
packages=()
command -v dot >/dev/null 2>&1 || packages+=(graphviz)
command -v bwrap >/dev/null 2>&1 || packages+=(bubblewrap)
if [[ -n "$extras" ]] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then packages+=(postgresql); fi
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
