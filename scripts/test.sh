#!/usr/bin/env bash
# Runs every test: type check, lint, then unit, CLI and integration tests (node:test, through
# tsx) against the built CLI and real components. Installs what it needs first (setup.sh).
# Fails when a test fails, when any test is skipped or todo, and when no test ran at all.
# The failed tests' diagnostics are printed again at the end, and written to $TEST_FAILURES_OUT if set.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
echo "test: tsc"; npx tsc -p .
echo "test: eslint"; npx eslint .

mapfile -t files < <(find test -name '*.test.ts' | sort)
if [ "${#files[@]}" -eq 0 ]; then
  echo "test: no test files found" >&2
  exit 1
fi
tap=$(mktemp)
trap 'rm -f "$tap"' EXIT
status=0
# --test-timeout bounds each test file as a whole too (Node 20): test/integration/single-node.test.ts
# runs ~40 tests against real MariaDB, 3–7 min depending on the machine's load
node --import tsx --test --test-concurrency=1 --test-timeout=600000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" \
  "${files[@]}" || status=$?

count() { sed -n "s/^# $1 \([0-9]*\)$/\1/p" "$tap" | tail -n 1; }
tests=$(count tests); pass=$(count pass); fail=$(count fail); skipped=$(count skipped); todo=$(count todo)
if [ "${fail:-0}" -ne 0 ] || [ "$status" -ne 0 ]; then
  # the failures' diagnostics again, last: CI keeps only the end of a long output
  echo "test: ---- the failed tests ----"
  awk -f scripts/tap-failures.awk "$tap" | tee "${TEST_FAILURES_OUT:-/dev/null}"
fi
echo "test: ${tests:-0} tests, ${pass:-0} passed, ${fail:-0} failed, ${skipped:-0} skipped, ${todo:-0} todo"
if [ "${tests:-0}" -eq 0 ]; then echo "test: no test ran" >&2; exit 1; fi
if [ "${skipped:-0}" -ne 0 ] || [ "${todo:-0}" -ne 0 ]; then echo "test: skipped or todo tests count as failures" >&2; exit 1; fi
exit "$status"
