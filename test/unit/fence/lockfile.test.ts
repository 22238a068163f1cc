import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createLockfileFence, type LeaseRecord } from '../../../fence/lockfile.ts';
import type { Fence } from '../../../fence/types.ts';
import type { LockfileFenceConfig } from '../../../src/config/types.ts';
import { FenceAgentError } from '../../../src/errors.ts';
import { isAlive } from '../../../src/proc.ts';
import { scratchDir } from '../../helpers/scratch.ts';

const { fresh } = scratchDir('lockfile');
/** Fences created by a test; released after it so no lease refresh timer outlives it. */
let fences: Fence[] = [];

afterEach(async () => {
  for (const fence of fences) await fence.release(AbortSignal.timeout(5000)).catch(() => undefined);
  fences = [];
});

/** A lease config on a fresh path in the temp dir (the "shared" NFS path). */
const leaseConfig = (staleMs = 2000, updateMs = 1000): LockfileFenceConfig => {
  const shared = fresh('shared');
  mkdirSync(shared);
  return { method: 'lockfile', path: path.join(shared, 'lease'), staleMs, updateMs };
};

const fenceFor = (config: LockfileFenceConfig, node: string): Fence => {
  const fence = createLockfileFence(config, node);
  fences.push(fence);
  return fence;
};

const readLease = (config: LockfileFenceConfig): LeaseRecord => JSON.parse(readFileSync(config.path, 'utf8')) as LeaseRecord;

const thisBootId = (): string => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

/** The pid of a process that has already exited. */
const deadPid = (): number => {
  const child = spawnSync(process.execPath, ['-e', '0']);
  const pid = child.pid;
  assert.ok(typeof pid === 'number' && pid > 0);
  assert.equal(isAlive(pid), false, 'the child has exited');
  return pid;
};

const waitFor = async (condition: () => boolean, timeoutMs: number): Promise<boolean> => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return condition();
};

describe('lockfile fence', () => {
  it('describe names the method, the lease path and the node', () => {
    const config = leaseConfig();
    assert.deepEqual(createLockfileFence(config, 'db1').describe(), { method: 'lockfile', target: config.path, identity: 'db1' });
  });

  it('verify reports a lease that was never taken as free', async () => {
    const config = leaseConfig();
    const status = await fenceFor(config, 'db1').verify();
    assert.equal(status.held, false);
    assert.equal(status.holder, null);
    assert.deepEqual(status.registrants, []);
    assert.match(status.detail, /free$/);
  });

  it('acquire takes the lease, and verify then reports it held by this node', async () => {
    const config = leaseConfig();
    const db1 = fenceFor(config, 'db1');
    const acquired = await db1.acquire(AbortSignal.timeout(5000));
    assert.equal(acquired.held, true);
    assert.equal(acquired.holder, 'db1');
    const verified = await db1.verify();
    assert.equal(verified.held, true);
    assert.equal(verified.holder, 'db1');
    assert.match(verified.detail, new RegExp(`held by db1 \\(pid ${process.pid}\\), refreshed -?\\d+\\.\\d s ago$`));
    assert.ok(existsSync(`${config.path}.lock`));
    const record = readLease(config);
    assert.equal(record.node, 'db1');
    assert.equal(record.pid, process.pid);
    assert.equal(record.bootId, thisBootId());
  });

  it('acquire is idempotent for the node that already holds the lease', async () => {
    const config = leaseConfig();
    const db1 = fenceFor(config, 'db1');
    await db1.acquire(AbortSignal.timeout(5000));
    const again = await db1.acquire(AbortSignal.timeout(1000));
    assert.equal(again.held, true);
    assert.equal(again.holder, 'db1');
  });

  it('verify from another node reports the lease held by the holder, not by itself', async () => {
    const config = leaseConfig();
    await fenceFor(config, 'db1').acquire(AbortSignal.timeout(5000));
    const status = await fenceFor(config, 'db2').verify();
    assert.equal(status.held, false);
    assert.equal(status.holder, 'db1');
  });

  it('acquire by another node fails with EFENCE while the lease is held', async () => {
    const config = leaseConfig();
    await fenceFor(config, 'db1').acquire(AbortSignal.timeout(5000));
    const started = Date.now();
    const signal = AbortSignal.timeout(600);
    await assert.rejects(fenceFor(config, 'db2').acquire(signal), (error: unknown) => {
      assert.ok(error instanceof FenceAgentError, `expected a FenceAgentError, got ${String(error)}`);
      assert.equal(error.code, 'EFENCE');
      assert.equal(error.message, `lease ${config.path} is held by db1`);
      assert.equal(error.cause, signal.reason);
      return true;
    });
    assert.ok(Date.now() - started < 3000, 'gave up at about the signal deadline');
    assert.equal(readLease(config).node, 'db1', 'the lease record is untouched');
    assert.equal((await fenceFor(config, 'db1').verify()).held, true);
  });

  it('release frees the lease and records no holder', async () => {
    const config = leaseConfig();
    const db1 = fenceFor(config, 'db1');
    await db1.acquire(AbortSignal.timeout(5000));
    await db1.release(AbortSignal.timeout(5000));
    const status = await db1.verify();
    assert.equal(status.held, false);
    assert.equal(status.holder, null);
    assert.equal(existsSync(`${config.path}.lock`), false);
    assert.equal(readLease(config).node, null);
  });

  it('release lets the other node acquire the lease', async () => {
    const config = leaseConfig();
    const db1 = fenceFor(config, 'db1');
    await db1.acquire(AbortSignal.timeout(5000));
    await db1.release(AbortSignal.timeout(5000));
    const status = await fenceFor(config, 'db2').acquire(AbortSignal.timeout(2000));
    assert.equal(status.held, true);
    assert.equal(status.holder, 'db2');
  });

  it('release by a node that does not hold the lease leaves the peer lease alone', async () => {
    const config = leaseConfig();
    await fenceFor(config, 'db1').acquire(AbortSignal.timeout(5000));
    await fenceFor(config, 'db2').release(AbortSignal.timeout(5000));
    assert.equal(existsSync(`${config.path}.lock`), true);
    assert.equal(readLease(config).node, 'db1');
    assert.equal((await fenceFor(config, 'db1').verify()).held, true);
  });

  it('removing the .lock directory while the lease is held calls the onLost listener', async () => {
    const config = leaseConfig(2000, 1000);
    const db1 = fenceFor(config, 'db1');
    const reasons: string[] = [];
    db1.onLost((reason) => reasons.push(reason));
    await db1.acquire(AbortSignal.timeout(5000));
    rmSync(`${config.path}.lock`, { recursive: true, force: true });
    assert.ok(await waitFor(() => reasons.length > 0, 4000), 'onLost was called within 4 s');
    assert.equal(reasons.length, 1);
    assert.match(reasons[0] ?? '', new RegExp(`^lease ${config.path} lost: `));
    assert.equal((await db1.verify()).held, false);
  });

  it('acquire after losing the lease takes it again', async () => {
    const config = leaseConfig(2000, 1000);
    const db1 = fenceFor(config, 'db1');
    let lost = false;
    db1.onLost(() => (lost = true));
    await db1.acquire(AbortSignal.timeout(5000));
    rmSync(`${config.path}.lock`, { recursive: true, force: true });
    assert.ok(await waitFor(() => lost, 4000));
    const status = await db1.acquire(AbortSignal.timeout(2000));
    assert.equal(status.held, true);
    assert.equal(status.holder, 'db1');
  });

  it('verify reports a lease left by this node\'s dead process on this boot as not held', async () => {
    const config = leaseConfig(60000, 1000);
    const pid = deadPid();
    const record: LeaseRecord = { node: 'db1', pid, bootId: thisBootId(), at: new Date().toISOString() };
    writeFileSync(config.path, `${JSON.stringify(record)}\n`);
    mkdirSync(`${config.path}.lock`);
    const status = await fenceFor(config, 'db1').verify();
    assert.equal(status.held, false);
    assert.equal(status.holder, 'db1');
    assert.match(status.detail, /process is gone/);
  });

  it('acquire reclaims at once a fresh lease left by this node\'s dead process on this boot', async () => {
    // staleMs 60 s: the lease is fresh, so only the dead-owner rule can free it within the signal.
    const config = leaseConfig(60000, 1000);
    const pid = deadPid();
    const record: LeaseRecord = { node: 'db1', pid, bootId: thisBootId(), at: new Date().toISOString() };
    writeFileSync(config.path, `${JSON.stringify(record)}\n`);
    mkdirSync(`${config.path}.lock`);
    const started = Date.now();
    const status = await fenceFor(config, 'db1').acquire(AbortSignal.timeout(1500));
    assert.ok(Date.now() - started < 1000, 'reclaimed without waiting');
    assert.equal(status.held, true);
    assert.equal(status.holder, 'db1');
    assert.equal(readLease(config).pid, process.pid);
  });

  it('acquire does not reclaim a lease of this node with a dead pid from another boot', async () => {
    const config = leaseConfig(60000, 1000);
    const pid = deadPid();
    const record: LeaseRecord = { node: 'db1', pid, bootId: '00000000-0000-0000-0000-000000000000', at: new Date().toISOString() };
    writeFileSync(config.path, `${JSON.stringify(record)}\n`);
    mkdirSync(`${config.path}.lock`);
    await assert.rejects(fenceFor(config, 'db1').acquire(AbortSignal.timeout(600)), { code: 'EFENCE' });
    assert.equal(existsSync(`${config.path}.lock`), true);
  });

  it('acquire by another node does not reclaim a lease whose dead holder is the peer', async () => {
    const config = leaseConfig(60000, 1000);
    const pid = deadPid();
    const record: LeaseRecord = { node: 'db1', pid, bootId: thisBootId(), at: new Date().toISOString() };
    writeFileSync(config.path, `${JSON.stringify(record)}\n`);
    mkdirSync(`${config.path}.lock`);
    await assert.rejects(fenceFor(config, 'db2').acquire(AbortSignal.timeout(600)), { code: 'EFENCE' });
    assert.equal(readLease(config).node, 'db1');
  });

  it('release frees a lease left by this node\'s dead process', async () => {
    const config = leaseConfig(60000, 1000);
    const pid = deadPid();
    const record: LeaseRecord = { node: 'db1', pid, bootId: thisBootId(), at: new Date().toISOString() };
    writeFileSync(config.path, `${JSON.stringify(record)}\n`);
    mkdirSync(`${config.path}.lock`);
    await fenceFor(config, 'db1').release(AbortSignal.timeout(2000));
    assert.equal(existsSync(`${config.path}.lock`), false);
    assert.equal(readLease(config).node, null);
  });

  it('acquire takes over a stale lease of another node', async () => {
    const config = leaseConfig(2000, 1000);
    const record: LeaseRecord = { node: 'db2', pid: 1, bootId: 'other-host', at: new Date().toISOString() };
    writeFileSync(config.path, `${JSON.stringify(record)}\n`);
    mkdirSync(`${config.path}.lock`);
    const { utimesSync } = await import('node:fs');
    const old = new Date(Date.now() - 10_000);
    utimesSync(`${config.path}.lock`, old, old);
    const status = await fenceFor(config, 'db1').acquire(AbortSignal.timeout(2000));
    assert.equal(status.held, true);
    assert.equal(status.holder, 'db1');
  });
});
