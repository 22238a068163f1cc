#!/usr/bin/env bash
# The README's main command: installs what it needs (setup.sh), then runs the two-node demo
# (lab/cli.ts demo): up → write through the VIP → crash the MASTER → takeover → the rows that
# survived → the old MASTER back as BACKUP → down.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --import tsx lab/cli.ts demo
