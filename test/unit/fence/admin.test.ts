// fence/admin.ts: `fence show` and the guarded `fence clear`, against the scripted PR target
// (test/unit/fixtures/fake-sg) and the in-memory lease store. The real programs: the single-node
// lab (lockfile, test/integration/single-node.test.ts).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { resolveConfig } from '../../../src/config/schema.ts';
import type { Config } from '../../../src/config/types.ts';
import { clearFence, showFence } from '../../../fence/admin.ts';
import { PrDevice } from '../../../fence/scsi-pr/sg-persist.ts';
import type { HolderState, HolderVerdict } from '../../../fence/scsi-pr/mmp.ts';
import { reservationKey, formatKey } from '../../../fence/scsi-pr/key.ts';
import { newNonce, serializeLease, type LeaseRecord } from '../../../fence/lease/record.ts';
import { FakeTarget } from '../../helpers/fake-sg.ts';
import { LeaseStore, memoryLeaseIo } from '../../helpers/memory-lease-io.ts';

const targets: FakeTarget[] = [];
after(() => {
  for (const t of targets) t.remove();
});

const base = {
  node: 'db1',
  cluster: 'shop-db',
  vip: { address: '10.77.0.10', prefix: 24, interface: 'vip0' },
  disk: { device: '/dev/sdb1', mountpoint: '/data' },
  mysqld: { start: ['/usr/sbin/mariadbd'], pidFile: '/run/mysqld/mysqld.pid', socket: '/run/mysqld/mysqld.sock' },
};
const prConfig = (): Config => resolveConfig({ ...base, fence: { method: 'scsi-pr', device: '/dev/sdb', nodeId: '1' } }, '/etc/fence-agent/config.json');
const leaseConfig = (): Config => resolveConfig({ ...base, fence: { method: 'lockfile', path: '/nfs/lease', allowNoWatchdog: true, allowLocalLease: true } }, '/etc/fence-agent/config.json');

const OURS = reservationKey('shop-db', '1');
const PEER = reservationKey('shop-db', '2');
const notHere = () => ({ active: false, evidence: '/sys/fs/ext4/sdb1 gone' });
const holder = (state: HolderState) => (): Promise<HolderVerdict> => {
  const block = { seq: 7, timeS: 0, nodename: 'node2', bdevname: 'sdb1', checkIntervalS: 5 };
  return Promise.resolve({ state, first: block, last: { ...block, seq: state === 'alive' ? 8 : 7 }, waitedMs: 11_000 });
};

/** A LU the peer (node 2) registered and reserved, as a dead MASTER leaves it. */
function luHeldByPeer(): FakeTarget {
  const lu = new FakeTarget({ registrations: [{ initiator: 'iqn.test:node2', key: formatKey(PEER) }], reservation: { key: formatKey(PEER), type: 5, initiator: 'iqn.test:node2' }, generation: 3 });
  targets.push(lu);
  return lu;
}
const device = (lu: FakeTarget): PrDevice => new PrDevice('/dev/sdb', lu.deviceOptions('iqn.test:node1'));

describe('fence show', () => {
  it('showFence reads the keys, the reservation and READ FULL STATUS, and marks this node\'s key', async () => {
    const lu = luHeldByPeer();
    const view = await showFence(prConfig(), { prDevice: device(lu) });
    assert.equal(view.method, 'scsi-pr');
    if (view.method !== 'scsi-pr') return;
    assert.deepEqual(view.keys, [{ key: formatKey(PEER), thisNode: false }]);
    assert.deepEqual(view.reservation, { key: formatKey(PEER), type: 5, scope: 'LU_SCOPE', thisNode: false });
    assert.equal(view.thisNodeKey, formatKey(OURS));
    assert.ok(view.fullStatus?.some((line) => line === 'iSCSI name and session id: iqn.test:node2'), JSON.stringify(view.fullStatus));
    assert.deepEqual(lu.read().registrations.map((r) => r.key), [formatKey(PEER)], 'read-only: nothing changed');
  });

  it('showFence reads the lease record', async () => {
    const store = new LeaseStore();
    const record: LeaseRecord = { version: 2, state: 'held', node: 'db2', bootId: 'b', machineId: 'm', pid: 812, nonce: newNonce(), counter: 41, writtenAt: '2026-12-04T10:00:00.000Z' };
    store.files.set('/nfs/lease', serializeLease(record));
    const view = await showFence(leaseConfig(), { leaseIo: memoryLeaseIo(store) });
    assert.deepEqual(view, { method: 'lockfile', path: '/nfs/lease', state: 'held', record, thisNode: 'db1' });
  });
});

describe('fence clear (scsi-pr)', () => {
  it('clearFence without the confirmation is a usage error (exit 2) and changes nothing', async () => {
    const lu = luHeldByPeer();
    await assert.rejects(clearFence(prConfig(), false, { prDevice: device(lu), watchHolder: holder('silent'), filesystemHere: notHere }), { code: 'EUSAGE', exitCode: 2 });
    assert.equal(lu.read().registrations.length, 1);
  });

  it('clearFence refuses while this node has the filesystem, and changes nothing', async () => {
    const lu = luHeldByPeer();
    await assert.rejects(clearFence(prConfig(), true, { prDevice: device(lu), watchHolder: holder('silent'), filesystemHere: () => ({ active: true, evidence: '/sys/fs/ext4/sdb1 present' }) }), /refused: this node has the filesystem/);
    assert.equal(lu.read().registrations.length, 1);
  });

  it('clearFence refuses while the MMP sequence moves (a live holder), and changes nothing', async () => {
    const lu = luHeldByPeer();
    await assert.rejects(clearFence(prConfig(), true, { prDevice: device(lu), watchHolder: holder('alive'), filesystemHere: notHere }), { code: 'EFENCEINUSE', message: /in use by a live kernel \(MMP sequence moved/ });
    assert.deepEqual(lu.read().registrations.map((r) => r.key), [formatKey(PEER)]);
    assert.notEqual(lu.read().reservation, null);
  });

  it('clearFence removes every registration and the reservation of a silent holder (CLEAR with this node\'s key)', async () => {
    const lu = luHeldByPeer();
    const done = await clearFence(prConfig(), true, { prDevice: device(lu), watchHolder: holder('silent'), filesystemHere: notHere });
    assert.match(done, new RegExp(`cleared: 1 registration\\(s\\) \\(${formatKey(PEER)}\\) and the reservation of ${formatKey(PEER)} removed; MMP silent`));
    assert.deepEqual(lu.read().registrations, []);
    assert.equal(lu.read().reservation, null);
    assert.ok(lu.read().log.includes('iqn.test:node1 clear'));
  });

  it('clearFence on a LU with nothing on it says so and sends no PR OUT', async () => {
    const lu = new FakeTarget();
    targets.push(lu);
    assert.match(await clearFence(prConfig(), true, { prDevice: device(lu), watchHolder: holder('clean'), filesystemHere: notHere }), /nothing to clear/);
    assert.ok(!lu.read().log.some((line) => /register|clear/.test(line)));
  });
});

describe('fence clear (lockfile)', () => {
  const record = (counter: number): string =>
    serializeLease({ version: 2, state: 'held', node: 'db2', bootId: 'b', machineId: 'm', pid: 812, nonce: 'a1b2c3d4e5f60718', counter, writtenAt: '2026-12-04T10:00:00.000Z' });

  it('clearFence refuses when the record changes while watched (its holder refreshes it), and leaves it', async () => {
    const store = new LeaseStore();
    store.files.set('/nfs/lease', record(41));
    let counter = 41;
    const refreshing = (): Promise<void> => {
      store.files.set('/nfs/lease', record(++counter));
      return Promise.resolve();
    };
    await assert.rejects(clearFence(leaseConfig(), true, { leaseIo: memoryLeaseIo(store), filesystemHere: notHere, sleep: refreshing }), /the lease record changed while watched \(held by db2 \(pid 812, counter 41\)\): its holder is alive/);
    assert.match(store.read('/nfs/lease') ?? '', /"state":"held"/);
  });

  it('clearFence replaces a record unchanged for takeoverAfterMs by a released one naming this node', async () => {
    const store = new LeaseStore();
    store.files.set('/nfs/lease', record(41));
    let clock = 0;
    const reads: number[] = [];
    const io = memoryLeaseIo(store);
    const read = io.read.bind(io);
    io.read = (file, timeoutMs) => (reads.push(clock), read(file, timeoutMs));
    const done = await clearFence(leaseConfig(), true, { leaseIo: io, filesystemHere: notHere, now: () => clock, sleep: (ms) => ((clock += ms), Promise.resolve()) });
    assert.match(done, /^lease \/nfs\/lease cleared: it was held by db2 \(pid 812, counter 41\), unchanged for 16\.0 s; now released by db1$/);
    assert.deepEqual(reads, [0, 2000, 4000, 6000, 8000, 10000, 12000, 14000, 16000], 'read every updateMs for takeoverAfterMs');
    const now = JSON.parse(store.read('/nfs/lease') ?? '{}') as LeaseRecord;
    assert.equal(now.state, 'released');
    assert.equal(now.node, 'db1');
  });

  it('clearFence on a free lease says so and writes nothing', async () => {
    const store = new LeaseStore();
    assert.match(await clearFence(leaseConfig(), true, { leaseIo: memoryLeaseIo(store), filesystemHere: notHere }), /is free already: nothing to clear/);
    assert.equal(store.writes.length, 0);
  });
});

