import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { resolveConfig } from '../../src/config/schema.ts';
import { fenceReadStreak, fenceReadToleranceMs } from '../../src/fence-read-streak.ts';
import { scratchDir } from '../helpers/scratch.ts';

const scratch = scratchDir('fence-read-streak');
const FILE = 'fence-read-failing.json';
const runDir = (name: string): string => {
  const dir = scratch.fresh(name);
  mkdirSync(dir);
  return dir;
};

describe('fenceReadStreak', () => {
  it('fenceReadStreak counts a streak of failing reads from the first one and ends it at the first good read', () => {
    const dir = runDir('streak');
    assert.equal(fenceReadStreak(dir, true, 1000, 'boot-1'), 0);
    assert.equal(fenceReadStreak(dir, true, 3500, 'boot-1'), 2500);
    assert.equal(fenceReadStreak(dir, false, 4000, 'boot-1'), null);
    assert.equal(existsSync(path.join(dir, FILE)), false);
    assert.equal(fenceReadStreak(dir, true, 9000, 'boot-1'), 0, 'a new streak');
  });

  it('fenceReadStreak starts anew on a record from another boot or a damaged one', () => {
    const dir = runDir('boots');
    writeFileSync(path.join(dir, FILE), JSON.stringify({ bootId: 'boot-0', sinceMono: 10 }));
    assert.equal(fenceReadStreak(dir, true, 500, 'boot-1'), 0);
    assert.equal(JSON.parse(readFileSync(path.join(dir, FILE), 'utf8')).bootId, 'boot-1');
    writeFileSync(path.join(dir, FILE), '{"bootId":');
    assert.equal(fenceReadStreak(dir, true, 700, 'boot-1'), 0);
  });

  it('fenceReadStreak gives no streak for a failure it could not record (no runDir): nothing is tolerated', () => {
    const dir = path.join(scratch.fresh('missing'), 'no-such-run-dir');
    assert.equal(fenceReadStreak(dir, true, 1000, 'boot-1'), null);
    assert.equal(fenceReadStreak(dir, false, 1000, 'boot-1'), null);
  });
});

describe('fenceReadToleranceMs', () => {
  const base = { node: 'db1', vip: { address: '10.0.0.100', interface: 'eth0' }, disk: { device: '/dev/sdb1', mountpoint: '/data' }, mysqld: { systemdUnit: 'mariadb.service' } };

  it("fenceReadToleranceMs is the lease's stale time for lockfile and nothing without fencing", () => {
    const lockfile = resolveConfig({ ...base, fence: { method: 'lockfile', path: '/nfs/fa/lease', watchdog: { device: '/dev/watchdog0', timeoutMs: 5000 } } }, '/etc/fence-agent/config.json');
    assert.equal(lockfile.fence.method, 'lockfile');
    if (lockfile.fence.method === 'lockfile') assert.equal(fenceReadToleranceMs(lockfile), lockfile.fence.staleMs);
    const none = resolveConfig({ ...base, fence: { method: 'none' } }, '/etc/fence-agent/config.json');
    assert.equal(fenceReadToleranceMs(none), 0);
  });
});
