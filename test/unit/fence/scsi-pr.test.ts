// The scsi-pr fence against the scripted PR target (test/unit/fixtures/fake-sg): two nodes, each
// its own I_T nexus; the holder's heartbeat (MMP) is given per test.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { monoNow } from '../../../src/clock.ts';
import { createScsiPrFence, type PublishedView, type ScsiPrFence } from '../../../fence/scsi-pr.ts';
import type { FenceStatus } from '../../../fence/types.ts';
import type { HolderState, HolderVerdict } from '../../../fence/scsi-pr/mmp.ts';
import { PrDevice } from '../../../fence/scsi-pr/sg-persist.ts';
import { FakeTarget } from '../../helpers/fake-sg.ts';
import { delay, waitFor } from '../../../lab/wait.ts';

const K1 = 0x1111n;
const K2 = 0x2222n;
const targets: FakeTarget[] = [];
const fences: ScsiPrFence[] = [];
after(() => {
  for (const f of fences) f.stop();
  for (const t of targets) t.remove();
});

const verdict = (state: HolderState): HolderVerdict => {
  const block = { seq: 1, timeS: 0, nodename: 'node1', bdevname: 'sdb1', checkIntervalS: 5 };
  return { state, first: block, last: { ...block, seq: state === 'alive' ? 2 : 1 }, waitedMs: state === 'silent' ? 11_000 : 300 };
};

function node(lu: FakeTarget, name: string, key: bigint, holder: HolderState = 'silent', extra: { drainMs?: number; commandTimeoutMs?: number; cached?: () => FenceStatus | null; clearFails?: boolean; heartbeat?: 'clean' | 'fsck' | 'unclean' | 'mounted-here' | 'unreadable' } = {}) {
  const checks: number[] = [];
  const lost: string[] = [];
  const views: PublishedView[] = [];
  /** the registrations at each heartbeat reset (the holder must be preempted by then) */
  const clears: string[][] = [];
  const fence = createScsiPrFence({
    clearHeartbeat: () => {
      clears.push(lu.read().registrations.map((r) => r.key));
      return extra.clearFails === true ? Promise.reject(new Error('tune2fs: no answer')) : Promise.resolve();
    },
    publish: (view) => views.push(view),
    cached: extra.cached,
    device: new PrDevice('/dev/sdb', lu.deviceOptions(`iqn.test:${name}`, extra.commandTimeoutMs ?? 5000)),
    key,
    checkHolder: () => {
      checks.push(monoNow());
      return Promise.resolve(verdict(holder));
    },
    drainMs: extra.drainMs ?? 0,
    watchIntervalMs: 100,
    ...(extra.heartbeat === undefined
      ? {}
      : { readHeartbeat: () => (extra.heartbeat === 'unreadable' ? Promise.reject(new Error('dd: no answer within 5000 ms')) : Promise.resolve({ state: extra.heartbeat as 'clean' | 'fsck' | 'unclean' | 'mounted-here', block: { nodename: 'node2' } })) }),
  });
  fence.onLost((reason) => lost.push(reason));
  fences.push(fence);
  return { fence, checks, lost, views, clears };
}

function lu(): FakeTarget {
  const t = new FakeTarget();
  targets.push(t);
  return t;
}

const signal = (): AbortSignal => AbortSignal.timeout(30_000);
const keysOf = (t: FakeTarget): string[] => t.read().registrations.map((r) => r.key);

describe('scsi-pr fence', () => {
  it('acquire on a free LU registers, reserves WERO and holds; again, it changes nothing', async () => {
    const t = lu();
    const { fence, checks } = node(t, 'node1', K1);
    const status = await fence.acquire(signal());
    assert.equal(status.held, true, status.detail);
    assert.deepEqual(t.read().reservation, { key: '0x1111', type: 5, initiator: 'iqn.test:node1' });
    assert.equal(fence.holding(), true);
    assert.equal(fence.mayWrite(), true);
    assert.deepEqual(checks, [], 'nobody else registered: no heartbeat check');
    const generation = t.read().generation;
    assert.equal((await fence.acquire(signal())).held, true);
    assert.equal(t.read().generation, generation, 'no PR OUT the second time');
  });

  it('acquire on a free LU with a clean heartbeat resets nothing and waits no drain', async () => {
    const t = lu();
    const { fence, clears } = node(t, 'node1', K1, 'silent', { heartbeat: 'clean', drainMs: 5000 });
    const started = monoNow();
    assert.equal((await fence.acquire(signal())).held, true);
    assert.ok(monoNow() - started < 4000, 'no drain wait');
    assert.deepEqual(clears, [], 'the heartbeat is left as it is');
  });

  it('acquire on a free LU whose heartbeat a gone holder left unclean reserves first, waits the drain, then resets the heartbeat (the mount would wait out its interval)', async () => {
    const t = lu();
    const { fence, clears, checks } = node(t, 'node1', K1, 'alive', { heartbeat: 'unclean', drainMs: 300 });
    const started = monoNow();
    assert.equal((await fence.acquire(signal())).held, true);
    assert.ok(monoNow() - started >= 300, 'the drain was waited');
    assert.deepEqual(clears, [['0x1111']], 'reset once, with our key alone registered (the storage refuses any other writer)');
    assert.deepEqual(checks, [], 'no liveness wait: nobody to preempt');
    assert.deepEqual(t.read().reservation, { key: '0x1111', type: 5, initiator: 'iqn.test:node1' });
  });

  it('acquire on a free LU with the filesystem mounted by this node\'s own kernel (a restarted daemon retaking the fence) never resets the heartbeat under it', async () => {
    const t = lu();
    const { fence, clears } = node(t, 'node1', K1, 'silent', { heartbeat: 'mounted-here', drainMs: 5000 });
    const started = monoNow();
    assert.equal((await fence.acquire(signal())).held, true);
    assert.deepEqual(clears, [], 'its own kmmpd writes the block');
    assert.ok(monoNow() - started < 4000, 'no drain wait');
  });

  it('acquire on a free LU whose heartbeat cannot be read takes it anyway and resets nothing', async () => {
    const t = lu();
    const { fence, clears } = node(t, 'node1', K1, 'silent', { heartbeat: 'unreadable' });
    assert.equal((await fence.acquire(signal())).held, true);
    assert.deepEqual(clears, []);
  });

  it('acquire on a free LU while e2fsck runs (MMP) refuses EHOLDERALIVE and registers nothing', async () => {
    const t = lu();
    const { fence, clears } = node(t, 'node1', K1, 'silent', { heartbeat: 'fsck' });
    await assert.rejects(fence.acquire(signal()), { code: 'EHOLDERALIVE', message: /e2fsck runs on the filesystem of \/dev\/sdb/ });
    assert.deepEqual(keysOf(t), []);
    assert.equal(t.read().reservation, null);
    assert.deepEqual(clears, []);
  });

  it('acquire consumes unit attentions first and clears a stale registration of our own', async () => {
    const t = lu();
    t.update((s) => {
      s.registrations.push({ initiator: 'iqn.test:node1', key: '0x9999' });
      s.ua['iqn.test:node1'] = ['Power on, reset, or bus device reset occurred'];
    });
    const { fence } = node(t, 'node1', K1);
    assert.equal((await fence.acquire(signal())).held, true);
    assert.deepEqual(keysOf(t), ['0x1111']);
  });

  it('dropStrayRegistration on a node not holding the fence removes its own key and nobody else\'s, saying so; with nothing of its own there it does nothing', async () => {
    const t = lu();
    t.update((s) => {
      s.registrations.push({ initiator: 'iqn.test:node1', key: '0x1111' }, { initiator: 'iqn.test:node9', key: '0x9999' });
    });
    const { fence } = node(t, 'node2', K2);
    assert.equal(await fence.dropStrayRegistration(), null, 'node2 is not registered');
    t.update((s) => {
      s.registrations.push({ initiator: 'iqn.test:node2', key: '0x2222' });
    });
    assert.match((await fence.dropStrayRegistration()) ?? '', /^unregistered this node's stray key 0x2222 from \/dev\/sdb: registered while not MASTER .*keys now 0x1111, 0x9999$/);
    assert.deepEqual(keysOf(t), ['0x1111', '0x9999']);
  });

  it('dropStrayRegistration leaves the key of a node that holds the fence, or whose acquire is running', async () => {
    const t = lu();
    const { fence } = node(t, 'node1', K1, 'silent', { drainMs: 1500 });
    assert.equal((await fence.acquire(signal())).held, true);
    assert.equal(await fence.dropStrayRegistration(), null);
    assert.deepEqual(keysOf(t), ['0x1111']);
    // another node, mid-acquire (registered, waiting the drain after the plain PREEMPT… here: a free LU with an unclean heartbeat)
    const t2 = lu();
    const other = node(t2, 'node2', K2, 'silent', { drainMs: 1500, heartbeat: 'unclean' });
    const acquiring = other.fence.acquire(signal());
    await waitFor('node2 registered', () => keysOf(t2).includes('0x2222'), 5000, 20);
    assert.equal(await other.fence.dropStrayRegistration(), null, 'the registration is the running acquire\'s');
    assert.equal((await acquiring).held, true);
    assert.deepEqual(keysOf(t2), ['0x2222']);
  });

  it('registeredAlone is true while held with our key the only one, false once the watch reads another key, and after release', async () => {
    const t = lu();
    const { fence } = node(t, 'node1', K1);
    assert.equal(fence.registeredAlone?.(), false, 'not held yet');
    await fence.acquire(signal());
    fence.start();
    assert.equal(fence.registeredAlone?.(), true);
    t.update((s) => void s.registrations.push({ initiator: 'iqn.test:node2', key: '0x2222' }));
    await waitFor('the watch reads the second key', () => fence.registeredAlone?.() === false, 5000, 20);
    t.update((s) => void (s.registrations = s.registrations.filter((r) => r.key !== '0x2222')));
    await waitFor('alone again', () => fence.registeredAlone?.() === true, 5000, 20);
    await fence.release(signal());
    assert.equal(fence.registeredAlone?.(), false);
  });

  it('a holder alive by its heartbeat is not preempted: EHOLDERALIVE, and the challenger stays unregistered', async () => {
    const t = lu();
    const one = node(t, 'node1', K1);
    await one.fence.acquire(signal());
    const two = node(t, 'node2', K2, 'alive');
    await assert.rejects(two.fence.acquire(signal()), { code: 'EHOLDERALIVE', message: /holder alive: .* being updated by node1/ });
    assert.equal(two.checks.length, 1);
    assert.deepEqual(keysOf(t), ['0x1111'], 'the holder keeps its key; the challenger never registered');
    assert.equal(t.read().reservation?.key, '0x1111');
    assert.equal(two.fence.holding(), false);
  });

  it('a silent holder is preempted with PREEMPT AND ABORT, and its watch reports the loss', async () => {
    const t = lu();
    const one = node(t, 'node1', K1);
    await one.fence.acquire(signal());
    one.fence.start();
    const two = node(t, 'node2', K2, 'silent');
    const status = await two.fence.acquire(signal());
    assert.equal(status.held, true, status.detail);
    assert.equal(two.fence.lastPreempt(), 'preempt-and-abort');
    assert.equal(two.fence.lastTakeover()?.from, '0x1111', 'the preempted key is whom the fence was taken from');
    assert.match(two.fence.lastTakeover()?.detail ?? '', /key 0x1111 preempted; taken over by PREEMPT AND ABORT/);
    assert.equal(one.fence.lastTakeover(), null, 'the first holder took a free LU');
    assert.deepEqual(keysOf(t), ['0x2222']);
    assert.deepEqual(t.read().reservation, { key: '0x2222', type: 5, initiator: 'iqn.test:node2' });
    assert.deepEqual(two.clears, [['0x2222']], "the silent holder's heartbeat reset once, after its key was gone");
    assert.deepEqual(one.clears, [], 'a free LU: nothing to reset');
    await waitFor('the old holder notices', () => one.lost.length > 0, 10_000, 50);
    assert.match(one.lost[0] ?? '', /key 0x1111 removed .* 0x2222/);
    assert.equal(one.fence.holding(), false);
    assert.equal(one.fence.mayWrite(), false);
  });

  it('PREEMPT AND ABORT refused as tgtd refuses it: plain PREEMPT, then the drain time before the mount', async () => {
    const t = lu();
    await node(t, 'node1', K1).fence.acquire(signal());
    t.update((s) => s.faults.push({ op: 'preempt-abort', exit: 5, stderr: 'sg_persist failed: Illegal request\n' }));
    const two = node(t, 'node2', K2, 'silent', { drainMs: 600 });
    const started = monoNow();
    assert.equal((await two.fence.acquire(signal())).held, true);
    assert.ok(monoNow() - started >= 600, 'waited the drain time');
    assert.equal(two.fence.lastPreempt(), 'preempt');
    assert.deepEqual(keysOf(t), ['0x2222']);
    await two.fence.release(signal());
    assert.equal((await two.fence.acquire(signal())).held, true);
    assert.equal(two.fence.lastPreempt(), null, 'a later acquire with no peer to preempt does not repeat the old take-over');
    assert.equal(two.fence.lastTakeover(), null, 'nor does lastTakeover');
  });

  it('a PREEMPT that timed out but executed is judged by the read-back: held', async () => {
    const t = lu();
    await node(t, 'node1', K1).fence.acquire(signal());
    t.update((s) => s.faults.push({ op: 'preempt-abort', hangMs: 30_000, apply: true }));
    const two = node(t, 'node2', K2, 'silent', { commandTimeoutMs: 3000 });
    assert.equal((await two.fence.acquire(signal())).held, true);
    assert.deepEqual(keysOf(t), ['0x2222']);
  });

  it('a take-over that does not complete unregisters again and fails EFENCE: a BACKUP stays unregistered', async () => {
    const t = lu();
    await node(t, 'node1', K1).fence.acquire(signal());
    t.update((s) => s.faults.push({ op: 'preempt-abort', exit: 99, stderr: 'sg_persist failed: Other SCSI error\n' }));
    const two = node(t, 'node2', K2, 'silent');
    await assert.rejects(two.fence.acquire(signal()), { code: 'EFENCE', message: /could not take the fence: \/dev\/sdb: reserved WERO by 0x1111/ });
    assert.deepEqual(keysOf(t), ['0x1111'], 'the challenger unregistered again');
    assert.equal(two.fence.holding(), false);
  });

  it('an error after registering (the read-back fails) unregisters again before it is thrown', async () => {
    const t = lu();
    // the second READ KEYS is the read-back after the register and reserve
    t.update((s) => s.faults.push({ op: 'read-keys', skip: 1, exit: 2, stderr: ' Additional sense: Logical unit not ready\nsg_persist failed: Not ready\n' }));
    const { fence } = node(t, 'node1', K1);
    await assert.rejects(fence.acquire(signal()), { code: 'EPRNOTREADY' });
    assert.deepEqual(keysOf(t), [], 'not left registered');
    assert.equal(t.read().reservation, null);
    assert.equal(fence.holding(), false);
  });

  it('a release racing the watch is not taken for a lost registration: nothing registered again', async () => {
    const t = lu();
    const { fence, lost } = node(t, 'node1', K1);
    await fence.acquire(signal());
    fence.start();
    await delay(150); // a watch read in flight or due
    await fence.release(signal());
    await delay(500); // several watch intervals
    assert.deepEqual(keysOf(t), []);
    assert.deepEqual(lost, []);
  });

  it('release unregisters: no key and no reservation left', async () => {
    const t = lu();
    const { fence } = node(t, 'node1', K1);
    await fence.acquire(signal());
    await fence.release(signal());
    assert.deepEqual(keysOf(t), []);
    assert.equal(t.read().reservation, null);
    assert.equal(fence.holding(), false);
    await fence.release(signal()); // idempotent
  });

  it('a target restart (no keys, a power-on unit attention) is not a preemption: the watch registers and reserves again', async () => {
    const t = lu();
    const one = node(t, 'node1', K1);
    await one.fence.acquire(signal());
    one.fence.start();
    t.update((s) => {
      s.registrations = [];
      s.reservation = null;
      s.ua['iqn.test:node1'] = ['Power on, reset, or bus device reset occurred'];
    });
    await waitFor('registered again', () => keysOf(t).includes('0x1111') && t.read().reservation?.key === '0x1111', 10_000, 50);
    assert.deepEqual(one.lost, []);
    assert.equal(one.fence.holding(), true);
  });

  it('verify reads who holds the LU from any process', async () => {
    const t = lu();
    await node(t, 'node1', K1).fence.acquire(signal());
    const reader = node(t, 'node2', K2);
    const status = await reader.fence.verify();
    assert.deepEqual({ held: status.held, holder: status.holder, registrants: status.registrants }, { held: false, holder: '0x1111', registrants: ['0x1111'] });
    assert.match(status.detail, /reserved WERO by 0x1111; keys 0x1111/);
  });

  it('publishes held with the read-back after acquire, again after each watch read, and not held (with the reason) after a loss', async () => {
    const t = lu();
    const one = node(t, 'node1', K1);
    one.fence.start();
    assert.deepEqual(one.views.at(-1), { held: false, status: null, readAtMs: null, lost: null, lastPreempt: null });
    await one.fence.acquire(signal());
    const acquired = one.views.at(-1);
    assert.equal(acquired?.held, true);
    assert.equal(acquired?.status?.holder, '0x1111');
    const count = one.views.length;
    await waitFor('a watch read published', () => one.views.length > count + 1, 5000, 20);
    assert.ok((one.views.at(-1)?.readAtMs ?? 0) > (acquired?.readAtMs ?? Infinity), 'each read is newer');
    const two = node(t, 'node2', K2);
    await two.fence.acquire(signal());
    await waitFor('node1 lost its key', () => one.lost.length === 1, 5000, 20);
    const after = one.views.at(-1);
    assert.equal(after?.held, false);
    assert.equal(after?.status, null);
    assert.match(after?.lost?.reason ?? '', /key 0x1111 removed .*\(preempted\)/);
  });

  it('verify answers from the published state when it is fresh, sending no command', async () => {
    const t = lu();
    const cachedStatus: FenceStatus = { held: false, holder: null, registrants: [], detail: 'not registered: the daemon (pid 1) holds no reservation' };
    const reader = node(t, 'node2', K2, 'silent', { cached: () => cachedStatus });
    t.remove(); // the target gone: a command would fail
    assert.deepEqual(await reader.fence.verify(), cachedStatus);
  });

  it('a heartbeat that cannot be reset does not undo a confirmed take-over', async () => {
    const t = lu();
    await node(t, 'node1', K1).fence.acquire(signal());
    const two = node(t, 'node2', K2, 'silent', { clearFails: true });
    const status = await two.fence.acquire(signal());
    assert.equal(status.held, true, status.detail);
    assert.equal(two.clears.length, 1);
    assert.deepEqual(keysOf(t), ['0x2222']);
  });

  it('verify reads through pending unit attentions (a peer changed the reservation) instead of failing', async () => {
    const t = lu();
    await node(t, 'node1', K1).fence.acquire(signal());
    const reader = node(t, 'node2', K2);
    t.update((s) => {
      s.ua['iqn.test:node2'] = ['Reservations released', 'Registrations preempted'];
    });
    const status = await reader.fence.verify();
    assert.equal(status.holder, '0x1111');
    assert.deepEqual(t.read().ua['iqn.test:node2'] ?? [], [], 'both unit attentions consumed');
  });
});

describe('scsi-pr fence: APTPL', () => {
  function withAptpl(t: FakeTarget, aptpl: boolean | 'auto'): ScsiPrFence {
    const fence = createScsiPrFence({
      device: new PrDevice('/dev/sdb', t.deviceOptions('iqn.test:node1')),
      key: K1,
      checkHolder: () => Promise.resolve(verdict('silent')),
      clearHeartbeat: () => Promise.resolve(),
      drainMs: 0,
      watchIntervalMs: 100,
      aptpl,
    });
    fences.push(fence);
    return fence;
  }
  const registrations = (t: FakeTarget): string[] => t.read().log.filter((line) => / register/.test(line));

  it('with aptpl auto, the fence registers with APTPL where REPORT CAPABILITIES says PTPL_C (LIO), asking once', async () => {
    const t = lu();
    t.update((s) => void (s.ptplCapable = true));
    const fence = withAptpl(t, 'auto');
    await fence.acquire(signal());
    await fence.release(signal());
    await fence.acquire(signal());
    assert.deepEqual(registrations(t), ['iqn.test:node1 register-ignore aptpl', 'iqn.test:node1 register', 'iqn.test:node1 register-ignore aptpl']);
    assert.equal(t.read().log.filter((line) => line.endsWith('report-capabilities')).length, 1);
  });

  it('with aptpl auto on a target without PTPL_C (tgtd), it registers without APTPL', async () => {
    const t = lu();
    await withAptpl(t, 'auto').acquire(signal());
    assert.deepEqual(registrations(t), ['iqn.test:node1 register-ignore']);
  });

  it('with aptpl auto, a failed REPORT CAPABILITIES registers without APTPL and is asked again at the next registration', async () => {
    const t = lu();
    t.update((s) => {
      s.ptplCapable = true;
      s.faults.push({ op: 'report-capabilities', exit: 5, stderr: 'Illegal request, Invalid opcode' });
    });
    const fence = withAptpl(t, 'auto');
    await fence.acquire(signal());
    await fence.release(signal());
    await fence.acquire(signal());
    assert.deepEqual(registrations(t), ['iqn.test:node1 register-ignore', 'iqn.test:node1 register', 'iqn.test:node1 register-ignore aptpl']);
  });

  it('aptpl true and false are used as given, without asking the target', async () => {
    const t = lu();
    await withAptpl(t, true).acquire(signal());
    assert.deepEqual(registrations(t), ['iqn.test:node1 register-ignore aptpl']);
    assert.ok(!t.read().log.some((line) => line.endsWith('report-capabilities')));
  });
});
