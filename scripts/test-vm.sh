#!/usr/bin/env bash
# Runs the two-VM lab's tests (test/vm/*.vmtest.ts: real QEMU guests, tgtd, nfs-ganesha), which
# scripts/test.sh and CI do not run (they need minutes and a guest image). Installs the host
# packages first (setup-vm.sh), builds dist/ (the agent copied into the guests). The first run
# builds the guest image (2–5 min, cached in /var/cache/fence-agent-vmlab). Fails when a test
# fails, is skipped or todo, or when no test ran. Extra arguments go to node --test (e.g.
# --test-name-pattern).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-vm.sh
npm run --silent build

mapfile -t files < <(find test/vm -name '*.vmtest.ts' | sort)
if [ "${#files[@]}" -eq 0 ]; then
  echo "test-vm: no test files found" >&2
  exit 1
fi
tap=$(mktemp)
trap 'rm -f "$tap"' EXIT
status=0
# --test-timeout also bounds each whole file (Node 20): the scenario file runs every VM scenario
# (~50 min), so the bound here is the whole suite's; the files set their own per-test timeouts.
node --import tsx --test --test-concurrency=1 --test-timeout=10800000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" \
  "$@" "${files[@]}" || status=$?

count() { sed -n "s/^# $1 \([0-9]*\)$/\1/p" "$tap" | tail -n 1; }
tests=$(count tests); pass=$(count pass); fail=$(count fail); skipped=$(count skipped); todo=$(count todo)
echo "test-vm: ${tests:-0} tests, ${pass:-0} passed, ${fail:-0} failed, ${skipped:-0} skipped, ${todo:-0} todo"
if [ "${tests:-0}" -eq 0 ]; then echo "test-vm: no test ran" >&2; exit 1; fi
if [ "${skipped:-0}" -ne 0 ] || [ "${todo:-0}" -ne 0 ]; then echo "test-vm: skipped or todo tests count as failures" >&2; exit 1; fi
exit "$status"
