#!/usr/bin/env bash
# Set everything up and run the main job: `course demo`, the instructor's whole workflow on a
# made-up class in a temporary course (release, collect, grade in sandboxes, feedback, reports,
# exports), offline, on the embedded SQLite gradebook. Extra arguments go to `course demo`,
# e.g.  bash scripts/demo.sh --keep /tmp/democourse --assignments 01_derivatives
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/course demo "$@"
