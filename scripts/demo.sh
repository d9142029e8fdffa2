#!/usr/bin/env bash
# Set everything up and run the main job: train an MLP with mini_autograd on the 8x8 digits
# and draw a computation graph. Outputs go to outputs/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m mini_autograd.demo "$@"
