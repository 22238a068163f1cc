// The PR command layer against sg_persist's real output formats and a scripted fake target
// (test/unit/fixtures/fake-sg): two initiators, tgtd's quirks, stuck and failing commands.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { monoNow } from '../../../../src/clock.ts';
import { PrCommandError, PrDevice, WERO, parseReadKeys, parseReadReservation, parseReportCapabilities, senseOf } from '../../../../fence/scsi-pr/sg-persist.ts';
import { FakeTarget } from '../../../helpers/fake-sg.ts';

const DEV = '/dev/sdb';
const K1 = 0x1111n;
const K2 = 0x2222n;
const targets: FakeTarget[] = [];
const target = (): FakeTarget => {
  const t = new FakeTarget();
  targets.push(t);
  return t;
};
after(() => {
  for (const t of targets) t.remove();
});

const rejectsWith = async (promise: Promise<unknown>, code: string): Promise<PrCommandError> => {
  const error = await promise.then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof PrCommandError, String(error));
  assert.equal(error.code, code, error.message);
  return error;
};

describe('sg_persist output', () => {
  it('parseReadKeys reads the generation and every key, and an empty list', () => {
    assert.deepEqual(parseReadKeys('  PR generation=0x1b, there are NO registered reservation keys\n'), { generation: 0x1b, keys: [] });
    assert.deepEqual(parseReadKeys('  PR generation=0x1, 1 registered reservation key follows:\n    0x1111\n'), { generation: 1, keys: [K1] });
    assert.deepEqual(parseReadKeys('  PR generation=0xc2, 2 registered reservation keys follow:\n    0xfdfe0001\n    0xea1b2a62b1dd8f34\n'), {
      generation: 0xc2,
      keys: [0xfdfe0001n, 0xea1b2a62b1dd8f34n],
    });
  });

  it('parseReadKeys refuses output whose key count does not match what it announced', () => {
    assert.throws(() => parseReadKeys('  PR generation=0x2, 2 registered reservation keys follow:\n    0x1111\n'), { code: 'EPRPARSE' });
    assert.throws(() => parseReadKeys('persistent reserve in: transport error\n'), { code: 'EPRPARSE' });
  });

  it('parseReadReservation reads the holder, its scope and its type, or none', () => {
    assert.deepEqual(parseReadReservation('  PR generation=0x6c, there is NO reservation held\n'), { generation: 0x6c, holder: null });
    assert.deepEqual(parseReadReservation('  PR generation=0x6c, Reservation follows:\n    Key=0xea1b2a62b1dd8f34\n    scope: LU_SCOPE,  type: Write Exclusive, registrants only\n'), {
      generation: 0x6c,
      holder: { key: 0xea1b2a62b1dd8f34n, type: WERO, scope: 'LU_SCOPE' },
    });
    assert.equal(parseReadReservation('  PR generation=0x3, Reservation follows:\n    Key=0x2222\n    scope: LU_SCOPE,  type: Write Exclusive\n').holder?.type, 1, 'a prefix of the WERO name is another type');
  });

  it('parseReportCapabilities reads PTPL_C and PTPL_A, and refuses output without PTPL_C', () => {
    const lio = 'Report capabilities response:\n  Compatible Reservation Handling(CRH): 1\n  Persist Through Power Loss Capable(PTPL_C): 1\n  Type Mask Valid(TMV): 1\n  Persist Through Power Loss Active(PTPL_A): 0\n';
    assert.deepEqual(parseReportCapabilities(lio), { ptplCapable: true, ptplActive: false });
    assert.deepEqual(parseReportCapabilities(lio.replace('(PTPL_C): 1', '(PTPL_C): 0')), { ptplCapable: false, ptplActive: false });
    assert.throws(() => parseReportCapabilities('Report capabilities response:\n'), { code: 'EPRPARSE' });
  });

  it('senseOf picks the additional sense sg3_utils printed', () => {
    assert.equal(senseOf('Fixed format, current; Sense key: Unit Attention\n Additional sense: Reservations preempted\nsg_persist failed: Unit attention\n'), 'Reservations preempted');
    assert.equal(senseOf('sg_persist failed: Illegal request\n'), null);
  });
});

/** A fresh LU reserved WERO by node1 (K1), with node2 registered (K2) beside it. */
async function reservedByNode1WithNode2Registered(): Promise<{ lu: FakeTarget; node1: PrDevice; node2: PrDevice }> {
  const lu = target();
  const node1 = new PrDevice(DEV, lu.deviceOptions('iqn.test:node1'));
  const node2 = new PrDevice(DEV, lu.deviceOptions('iqn.test:node2'));
  await node1.register(K1);
  await node1.reserve(K1);
  await node2.register(K2);
  return { lu, node1, node2 };
}

describe('PrDevice', () => {
  it('registers, reserves WERO and reads both back', async () => {
    const lu = target();
    const node1 = new PrDevice(DEV, lu.deviceOptions('iqn.test:node1'));
    assert.deepEqual((await node1.readKeys()).keys, []);
    await node1.register(K1);
    await node1.reserve(K1);
    assert.deepEqual((await node1.readKeys()).keys, [K1]);
    assert.deepEqual((await node1.readReservation()).holder, { key: K1, type: WERO, scope: 'LU_SCOPE' });
  });

  it('passes the device and keys as arguments, PR IN read-only and without the inquiry', async () => {
    const lu = target();
    const node1 = new PrDevice('/dev/disk/by-id/scsi-360000000000000000e00000000010001 with space', lu.deviceOptions('iqn.test:node1'));
    await node1.readKeys();
    await node1.register(K1);
    await node1.unregister(K1);
    assert.deepEqual(lu.read().log, ['iqn.test:node1 read-keys', 'iqn.test:node1 register', 'iqn.test:node1 register']);
    assert.deepEqual(lu.read().registrations, [], 'unregistered');
  });

  it('a reserve while the peer holds the reservation fails with EPRCONFLICT', async () => {
    const { node2 } = await reservedByNode1WithNode2Registered();
    await rejectsWith(node2.reserve(K2), 'EPRCONFLICT');
  });

  it('PREEMPT removes the victim key and moves the reservation; the victim sees a unit attention once', async () => {
    const { node1, node2 } = await reservedByNode1WithNode2Registered();
    await node2.preempt(K2, K1, { abort: false });
    assert.deepEqual((await node2.readKeys()).keys, [K2]);
    assert.deepEqual((await node2.readReservation()).holder?.key, K2);
    const ua = await rejectsWith(node1.readKeys(), 'EPRUNITATTENTION');
    assert.equal(ua.sense, 'Reservations preempted');
    assert.deepEqual((await node1.readKeys()).keys, [K2], 'reported once, then cleared');
  });

  it('PREEMPT AND ABORT refused as tgtd refuses it fails with EPRILLEGAL and changes nothing', async () => {
    const { lu, node2 } = await reservedByNode1WithNode2Registered();
    lu.update((s) => s.faults.push({ op: 'preempt-abort', exit: 5, stderr: 'PR out (Preempt and abort): bad field in cdb or parameter list (perhaps unsupported service action)\nsg_persist failed: Illegal request\n' }));
    const error = await rejectsWith(node2.preempt(K2, K1, { abort: true }), 'EPRILLEGAL');
    assert.equal(error.status, 5);
    assert.match(error.message, /Illegal request/);
    assert.deepEqual((await node2.readKeys()).keys, [K1, K2]);
  });

  it('clearUnitAttentions retries TEST UNIT READY through pending unit attentions and says which it saw', async () => {
    const lu = target();
    lu.update((s) => (s.ua['iqn.test:node1'] = ['Power on, reset, or bus device reset occurred', 'Reservations preempted']));
    const node1 = new PrDevice(DEV, lu.deviceOptions('iqn.test:node1'));
    assert.deepEqual(await node1.clearUnitAttentions(), ['Power on, reset, or bus device reset occurred', 'Reservations preempted']);
    assert.deepEqual(await node1.clearUnitAttentions(), []);
  });

  it('clearUnitAttentions gives up after its tries with the last unit attention', async () => {
    const lu = target();
    lu.update((s) => (s.ua['iqn.test:node1'] = ['Reservations preempted', 'Reservations preempted', 'Reservations preempted']));
    const node1 = new PrDevice(DEV, lu.deviceOptions('iqn.test:node1'));
    await rejectsWith(node1.clearUnitAttentions(2), 'EPRUNITATTENTION');
  });

  it('NOT READY and a reservation conflict keep their codes', async () => {
    const lu = target();
    lu.update((s) => s.faults.push({ op: 'turs', exit: 2, stderr: ' Additional sense: Logical unit not ready, cause not reportable\ntest unit ready: Not ready\n' }));
    const node1 = new PrDevice(DEV, lu.deviceOptions('iqn.test:node1'));
    const notReady = await rejectsWith(node1.clearUnitAttentions(), 'EPRNOTREADY');
    assert.equal(notReady.sense, 'Logical unit not ready, cause not reportable');
    await rejectsWith(node1.reserve(K1), 'EPRCONFLICT');
  });

  it('a command that does not answer is killed at its bound and reported ETIMEDOUT, although it may have executed', async () => {
    const lu = target();
    lu.update((s) => s.faults.push({ op: 'register', hangMs: 30_000, apply: true }));
    // the bound leaves the fake (a node process) time to start and apply the command on a loaded machine
    const node1 = new PrDevice(DEV, lu.deviceOptions('iqn.test:node1', 3000));
    const started = monoNow();
    const error = await rejectsWith(node1.register(K1), 'ETIMEDOUT');
    assert.match(error.message, /outcome unknown/);
    assert.ok(monoNow() - started < 10_000, 'returned at its bound, not after the hang');
    assert.deepEqual((await node1.readKeys()).keys, [K1], 'the read-back shows it executed');
  });

  it('runs one command at a time per device: the next starts only when the previous process exited', async () => {
    const lu = target();
    lu.update((s) => s.faults.push({ op: 'read-reservation', hangMs: 700 }));
    const node1 = new PrDevice(DEV, lu.deviceOptions('iqn.test:node1', 5000));
    const first = node1.readReservation().catch((e: unknown) => e);
    const second = node1.readKeys();
    await second;
    await first;
    assert.deepEqual(lu.read().log, ['iqn.test:node1 read-reservation', 'iqn.test:node1 read-keys'], 'in order');
  });

  it('a command stuck past its bound keeps the device busy: the next fails ETIMEDOUT without starting', async () => {
    const lu = target();
    // SIGKILL does not end this one: a grandchild keeps its output open for 3 s, as the kernel
    // keeps a command stuck in D state (bound 3 s: time for the fake to start and leave it)
    lu.update((s) => s.faults.push({ op: 'read-keys', hangMs: 30_000, holdOutputMs: 10_000 }));
    const node1 = new PrDevice(DEV, lu.deviceOptions('iqn.test:node1', 3000));
    await rejectsWith(node1.readKeys(), 'ETIMEDOUT');
    const queued = await rejectsWith(node1.readReservation(), 'ETIMEDOUT');
    assert.match(queued.message, /an earlier command on this device did not exit/);
    assert.deepEqual(lu.read().log, ['iqn.test:node1 read-keys'], 'the queued command never ran');
  });

  it('a missing sg_persist is EPRFAILED with no status', async () => {
    const node1 = new PrDevice(DEV, { commandTimeoutMs: 2000, sgPersist: '/nonexistent/sg_persist' });
    const error = await rejectsWith(node1.readKeys(), 'EPRFAILED');
    assert.equal(error.status, null);
  });
});
