#!/usr/bin/env bash
# The README's main command: installs what it needs (setup.sh), then runs the one-node demo
# (lab/demo.ts): loop disk + MariaDB here, promote, check, status, a write, demote, a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --import tsx lab/demo.ts
