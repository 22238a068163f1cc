// scripts/bench.ts: the benchmark is chosen by name, and bad input is one line and exit 2 before
// anything is built (the benchmarks themselves run outside the test suite: they take minutes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const BENCH = path.resolve(import.meta.dirname, '..', '..', 'scripts', 'bench.ts');
const bench = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', BENCH, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });

test('an unknown benchmark is refused with the names there are', () => {
  const ran = bench('health');
  assert.equal(ran.status, 2);
  assert.equal(ran.stderr.trim(), 'bench: unknown benchmark "health" (expected one of: startup, health-cpu, health-failover)');
});

test('health-cpu refuses a window out of range and builds nothing', () => {
  const ran = bench('health-cpu', '--seconds', '5');
  assert.equal(ran.status, 2);
  assert.equal(ran.stderr.trim(), 'bench health-cpu: --seconds "5": expected a whole number of seconds from 10 to 3600');
  assert.equal(ran.stdout, '');
});

test('health-cpu refuses a lab it does not have', () => {
  const ran = bench('health-cpu', '--lab', 'kvm');
  assert.equal(ran.status, 2);
  assert.equal(ran.stderr.trim(), 'bench health-cpu: --lab "kvm": expected netns or vm');
});

test('health-cpu --help prints its usage', () => {
  const ran = bench('health-cpu', '--help');
  assert.equal(ran.status, 0);
  assert.match(ran.stdout, /^usage: npm run bench -- health-cpu \[--lab netns\|vm\]/);
});

test('health-cpu refuses an option it does not know, in one line', () => {
  const ran = bench('health-cpu', '--sconds', '60');
  assert.equal(ran.status, 2);
  assert.match(ran.stderr, /^bench health-cpu: Unknown option '--sconds'.*\(usage: npm run bench -- health-cpu/);
  assert.equal(ran.stderr.trim().split('\n').length, 1);
});
