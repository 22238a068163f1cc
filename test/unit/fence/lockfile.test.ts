// The lockfile fence's lease protocol over an in-memory shared store (test/helpers/memory-lease-io.ts),
// with real timers at small values: S 1200 ms, M 200 ms, W 300 ms, T_io 100 ms, R 100 ms, so the
// holder's right lasts S − M − W = 700 ms after t_g and the peer waits S + M = 1400 ms.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLockfileFence, type LockfileFence } from '../../../fence/lockfile.ts';
import { parseLease, serializeLease, type LeaseIdentity, type LeaseRecord } from '../../../fence/lease/record.ts';
import { writeTenureFile } from '../../../fence/lease/tenure-file.ts';
import { monoNow } from '../../../src/clock.ts';
import type { LockfileFenceConfig } from '../../../src/config/types.ts';
import { FenceAgentError } from '../../../src/errors.ts';
import { LeaseStore, memoryLeaseIo, type MemoryLeaseIo } from '../../helpers/memory-lease-io.ts';

const LEASE = '/shared/lease';
const config: LockfileFenceConfig = {
  method: 'lockfile',
  path: LEASE,
  staleMs: 1200,
  updateMs: 100,
  ioTimeoutMs: 100,
  marginMs: 200,
  takeoverAfterMs: 1400,
  watchdog: { device: '/dev/null', timeoutMs: 300, nowayout: false, daemonRestartMs: 0 },
  allowNoWatchdog: false,
  allowLocalLease: true,
};
const RIGHT_MS = config.staleMs - config.marginMs - 300;

const db1: LeaseIdentity = { node: 'db1', bootId: 'boot-1', machineId: 'machine-1' };
const db2: LeaseIdentity = { node: 'db2', bootId: 'boot-2', machineId: 'machine-2' };

let fences: LockfileFence[] = [];
let dirs: string[] = [];
afterEach(() => {
  for (const fence of fences) fence.stop();
  fences = [];
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

interface Node {
  fence: LockfileFence;
  io: MemoryLeaseIo;
  lost: { reason: string; atMs: number }[];
}

const node = (store: LeaseStore, identity: LeaseIdentity, options: { pid?: number; runDir?: string | null; isAlive?: (pid: number) => boolean } = {}): Node => {
  const io = memoryLeaseIo(store);
  const fence = createLockfileFence(config, { identity, io, runDir: options.runDir ?? null, pid: options.pid ?? 1000, isAlive: options.isAlive ?? (() => true) });
  const lost: Node['lost'] = [];
  fence.onLost((reason) => lost.push({ reason, atMs: monoNow() }));
  fences.push(fence);
  return { fence, io, lost };
};

const recordIn = (store: LeaseStore): LeaseRecord | null => {
  const view = parseLease(store.read(LEASE));
  return view.kind === 'unreadable' ? null : view.record;
};

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('lockfile fence', () => {
  it('describe names the method, the lease, the node and what weakens the fence', () => {
    const fence = node(new LeaseStore(), db1).fence;
    const description = fence.describe();
    assert.equal(description.method, 'lockfile');
    assert.equal(description.target, LEASE);
    assert.equal(description.identity, 'db1');
    assert.match(description.warnings.join('\n'), /fence\.allowLocalLease/);
  });

  it('acquire takes a free lease after confirming it, and the record names the node with a counter', async () => {
    const store = new LeaseStore();
    const { fence } = node(store, db1);
    const started = monoNow();
    const status = await fence.acquire(AbortSignal.timeout(5000));
    assert.ok(monoNow() - started >= 2 * config.ioTimeoutMs, 'it waited 2·T_io before reading back');
    assert.equal(status.held, true);
    assert.equal(fence.mayWrite(), true);
    const record = recordIn(store);
    assert.equal(record?.state, 'held');
    assert.equal(record?.node, 'db1');
    assert.equal(record?.bootId, 'boot-1');
    assert.equal(record?.machineId, 'machine-1');
    assert.equal(fence.lastTakeover(), null, 'a free lease is taken from nobody');
  });

  it('the holder bumps the counter on every refresh and keeps its right to write', async () => {
    const store = new LeaseStore();
    const { fence } = node(store, db1);
    await fence.acquire(AbortSignal.timeout(5000));
    const before = recordIn(store)?.counter ?? -1;
    await delay(RIGHT_MS * 2);
    assert.ok((recordIn(store)?.counter ?? 0) >= before + 5, `counter ${recordIn(store)?.counter} after ${before}`);
    assert.equal(fence.mayWrite(), true);
  });

  it('a peer sees the lease held by the holder, and cannot take it while the holder refreshes', async () => {
    const store = new LeaseStore();
    const holder = node(store, db1);
    const peer = node(store, db2);
    await holder.fence.acquire(AbortSignal.timeout(5000));
    const seen = await peer.fence.verify();
    assert.equal(seen.held, false);
    assert.equal(seen.holder, 'db1');
    await assert.rejects(peer.fence.acquire(AbortSignal.timeout(config.takeoverAfterMs * 2)), (error: unknown) => {
      assert.ok(error instanceof FenceAgentError);
      assert.equal(error.code, 'EFENCE');
      assert.match(error.message, /held by db1 \(record unchanged for \d+\.\d s; takeover after 1\.4 s\)/);
      return true;
    });
    assert.equal(holder.fence.mayWrite(), true);
    assert.equal(holder.lost.length, 0);
  });

  it('a holder whose storage hangs loses its right at t_g + S − M − W, and the peer takes over only after seeing the record unchanged for S + M', async () => {
    const store = new LeaseStore();
    const holder = node(store, db1);
    const peer = node(store, db2);
    peer.fence.start(); // the BACKUP observes in the background
    await holder.fence.acquire(AbortSignal.timeout(5000));
    await delay(300);
    const lastChange = { counter: recordIn(store)?.counter, atMs: monoNow() };
    holder.io.hung = true;
    const times = holder.fence.tenureTimes();
    assert.ok(times !== null);
    await peer.fence.acquire(AbortSignal.timeout(10_000));
    const takenAt = monoNow();
    assert.equal(holder.lost.length, 1, 'the holder heard of its loss once');
    assert.match(holder.lost[0]?.reason ?? '', /right to write ended/);
    const lostAt = holder.lost[0]?.atMs ?? Infinity;
    const tg = holder.fence.tenureTimes()?.lastGoodStartMs ?? times.lastGoodStartMs;
    assert.ok(lostAt <= tg + RIGHT_MS + 100, `lost ${lostAt - tg} ms after t_g (right ${RIGHT_MS} ms)`);
    assert.ok(takenAt - lastChange.atMs >= config.takeoverAfterMs - 150, `taken ${takenAt - lastChange.atMs} ms after the last refresh seen`);
    assert.ok(takenAt > lostAt + 2 * config.marginMs, 'the takeover came well after the holder lost its right');
    assert.equal(recordIn(store)?.node, 'db2');
    assert.equal(holder.fence.mayWrite(), false);
    assert.equal(peer.fence.lastTakeover()?.from, 'db1', 'the peer says whom it took the lease from');
    assert.match(peer.fence.lastTakeover()?.detail ?? '', /^lease \/shared\/lease taken over from db1 \(pid 1000, counter \d+\): unchanged for \d+\.\d s/);
  });

  it('a holder whose lease was taken hears of it at its next refresh', async () => {
    const store = new LeaseStore();
    const holder = node(store, db1);
    await holder.fence.acquire(AbortSignal.timeout(5000));
    const foreign: LeaseRecord = { version: 2, state: 'held', ...db2, pid: 7, nonce: 'ffffffffffffffff', counter: 0, writtenAt: '' };
    store.files.set(LEASE, serializeLease(foreign));
    await delay(config.updateMs * 3);
    assert.equal(holder.lost.length, 1);
    assert.match(holder.lost[0]?.reason ?? '', /lease was taken: .* now names db2/);
    assert.equal(holder.fence.holding(), false);
    assert.equal(recordIn(store)?.node, 'db2', 'the holder never writes over the taker');
  });

  it('release writes a released record, which a peer takes at once without waiting for a takeover', async () => {
    const store = new LeaseStore();
    const holder = node(store, db1);
    const peer = node(store, db2);
    await holder.fence.acquire(AbortSignal.timeout(5000));
    await holder.fence.release(AbortSignal.timeout(5000));
    assert.equal(recordIn(store)?.state, 'released');
    assert.equal(holder.fence.holding(), false);
    assert.equal(holder.lost.length, 0, 'a release is not a loss');
    const started = monoNow();
    await peer.fence.acquire(AbortSignal.timeout(5000));
    assert.ok(monoNow() - started < config.takeoverAfterMs, 'no takeover wait for a released lease');
    assert.equal(peer.fence.lastTakeover(), null, 'a released lease is not a takeover');
  });

  it('a lease left by this node\'s own dead daemon is reclaimed at once, one of a live daemon of another node is not', async () => {
    const store = new LeaseStore();
    const dead: LeaseRecord = { version: 2, state: 'held', ...db1, pid: 4242, nonce: '1111111111111111', counter: 9, writtenAt: '' };
    store.files.set(LEASE, serializeLease(dead));
    const { fence } = node(store, db1, { isAlive: (pid) => pid !== 4242 });
    const started = monoNow();
    await fence.acquire(AbortSignal.timeout(5000));
    assert.ok(monoNow() - started < config.takeoverAfterMs);
    assert.notEqual(recordIn(store)?.nonce, dead.nonce);
  });

  /** a run directory holding the tenure file a dead daemon (pid 4242) of boot-1 published */
  const deadDaemonRunDir = (tenure: { nonce: string; deadByMs: number; confirmed?: boolean }): string => {
    const runDir = mkdtempSync(path.join(tmpdir(), 'fa-tenure-'));
    dirs.push(runDir);
    const tg = tenure.deadByMs - (config.staleMs - config.marginMs);
    writeTenureFile(runDir, { version: 1, bootId: db1.bootId, pid: 4242, tenure: { nonce: tenure.nonce, counter: 9, lastGoodStartMs: tg, rightEndsAtMs: tg + RIGHT_MS, deadByMs: tenure.deadByMs, confirmed: tenure.confirmed ?? true }, lost: null, observing: null, warnings: [], writtenAtMs: tg });
    return runDir;
  };
  const dead: LeaseRecord = { version: 2, state: 'held', ...db1, pid: 4242, nonce: '1111111111111111', counter: 9, writtenAt: '' };

  it("a restarted daemon continues its dead predecessor's published tenure without the 2·T_io read-back wait, before its dead-by time", async () => {
    const store = new LeaseStore();
    store.files.set(LEASE, serializeLease(dead));
    const runDir = deadDaemonRunDir({ nonce: dead.nonce, deadByMs: monoNow() + 5000 });
    const { fence } = node(store, db1, { runDir, pid: 5000, isAlive: (pid) => pid !== 4242 });
    fence.start(); // publishes its own tenure file first: the predecessor's was read before
    const started = monoNow();
    const status = await fence.acquire(AbortSignal.timeout(5000));
    assert.equal(status.held, true);
    assert.ok(monoNow() - started < 2 * config.ioTimeoutMs, `continued in ${Math.round(monoNow() - started)} ms, without waiting 2·T_io`);
    assert.equal(recordIn(store)?.pid, 5000);
    assert.notEqual(recordIn(store)?.nonce, dead.nonce);
  });

  it("past the dead daemon's dead-by time, for a record that is not its published tenure, or for an unconfirmed one, the reclaim waits for the read-back", async () => {
    for (const [what, deadByMs, nonce, confirmed] of [
      ['dead-by time passed', monoNow() - 1, dead.nonce, true],
      ['another nonce than the published one', monoNow() + 5000, '2222222222222222', true],
      ['a tenure the dead daemon had not confirmed yet', monoNow() + 5000, dead.nonce, false],
    ] as const) {
      const store = new LeaseStore();
      store.files.set(LEASE, serializeLease(dead));
      const { fence } = node(store, db1, { runDir: deadDaemonRunDir({ nonce, deadByMs, confirmed }), pid: 5000, isAlive: (pid) => pid !== 4242 });
      const started = monoNow();
      await fence.acquire(AbortSignal.timeout(5000));
      assert.ok(monoNow() - started >= 2 * config.ioTimeoutMs, `${what}: it waited 2·T_io before reading back`);
    }
  });

  it("a late write of the dead daemon landing after the continuation is replaced at the next refresh, not taken for a takeover", async () => {
    const store = new LeaseStore();
    store.files.set(LEASE, serializeLease(dead));
    const { fence, lost } = node(store, db1, { runDir: deadDaemonRunDir({ nonce: dead.nonce, deadByMs: monoNow() + 5000 }), pid: 5000, isAlive: (pid) => pid !== 4242 });
    await fence.acquire(AbortSignal.timeout(5000));
    store.files.set(LEASE, serializeLease({ ...dead, counter: 10 })); // the dead daemon's helper's last call landing
    await delay(4 * config.updateMs);
    assert.equal(recordIn(store)?.pid, 5000, 'the record names the new daemon again');
    assert.equal(fence.mayWrite(), true);
    assert.deepEqual(lost, []);
  });

  it('refreshNow renews a held lease at once, moving t_g, and reports false without a tenure', async () => {
    const store = new LeaseStore();
    const { fence } = node(store, db1);
    assert.equal(await fence.refreshNow?.(), false, 'nothing held');
    await fence.acquire(AbortSignal.timeout(5000));
    const before = fence.tenureTimes()?.lastGoodStartMs ?? Infinity;
    const counter = recordIn(store)?.counter ?? -1;
    fence.stop(); // no timer's refresh racing this one (the daemon stops the fence right after, too)
    const asked = monoNow();
    assert.equal(await fence.refreshNow?.(), true);
    assert.ok((fence.tenureTimes()?.lastGoodStartMs ?? 0) >= asked, 't_g is the start of this refresh');
    assert.ok((fence.tenureTimes()?.lastGoodStartMs ?? 0) > before);
    assert.ok((recordIn(store)?.counter ?? -1) > counter, 'the record changed');
  });

  it('the same node name on another boot is another holder, not this node', async () => {
    const store = new LeaseStore();
    const other: LeaseRecord = { version: 2, state: 'held', ...db1, bootId: 'boot-old', pid: 4242, nonce: '1111111111111111', counter: 9, writtenAt: '' };
    store.files.set(LEASE, serializeLease(other));
    const { fence } = node(store, db1, { isAlive: () => false });
    const seen = await fence.verify();
    assert.equal(seen.held, false);
    assert.match(seen.detail, /same node name, another boot or machine/);
    await assert.rejects(fence.acquire(AbortSignal.timeout(600)), /EFENCE|held by db1/);
  });

  it('an unreadable record (garbage, an old format) is taken over only after it stayed unchanged for S + M', async () => {
    const store = new LeaseStore();
    store.files.set(LEASE, '{"node":"db9","pid":1,"bootId":"x","at":"y"}\n');
    const { fence } = node(store, db1);
    const started = monoNow();
    await fence.acquire(AbortSignal.timeout(10_000));
    assert.ok(monoNow() - started >= config.takeoverAfterMs);
    assert.equal(fence.lastTakeover()?.from, 'unreadable');
  });

  it('an aborted acquisition keeps no lease', async () => {
    const store = new LeaseStore();
    const { fence } = node(store, db1);
    await assert.rejects(fence.acquire(AbortSignal.timeout(120)));
    await delay(50);
    assert.equal(fence.holding(), false);
    const record = recordIn(store);
    assert.ok(record === null || record.state === 'released', `left ${JSON.stringify(record)}`);
  });

  it('a refresh that lands late, after it was given up on, is adopted and not mistaken for a takeover', async () => {
    const store = new LeaseStore();
    const holder = node(store, db1);
    await holder.fence.acquire(AbortSignal.timeout(5000));
    holder.io.hung = true;
    await delay(config.updateMs + config.ioTimeoutMs + 20);
    holder.io.hung = false;
    holder.io.landLate();
    await delay(config.updateMs * 3);
    assert.equal(holder.lost.length, 0, holder.lost.map((l) => l.reason).join('; '));
    assert.equal(holder.fence.mayWrite(), true);
  });

  it('publishes its tenure, so that another process sees the lease held while the right lasts and not after', async () => {
    const runDir = mkdtempSync(path.join(tmpdir(), 'fa-tenure-'));
    dirs.push(runDir);
    const store = new LeaseStore();
    const daemon = node(store, db1, { runDir, pid: process.pid });
    daemon.fence.start();
    await daemon.fence.acquire(AbortSignal.timeout(5000));
    const checker = node(store, db1, { runDir, pid: 99_999, isAlive: () => true });
    const held = await checker.fence.verify();
    assert.equal(held.held, true, held.detail);
    assert.match(held.detail, /right to write \d+\.\d s more/);
    daemon.io.hung = true; // the daemon's refreshes stop landing; the record stays as it was
    await delay(RIGHT_MS + 200);
    const after = await checker.fence.verify();
    assert.equal(after.held, false);
    assert.match(after.detail, /right to write ended|not a tenure this node holds now/);
  });
});
