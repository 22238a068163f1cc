import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newNonce, parseLease, sameIdentity, serializeLease, type LeaseRecord } from '../../../../fence/lease/record.ts';

const record = (patch: Partial<LeaseRecord> = {}): LeaseRecord => ({
  version: 2,
  state: 'held',
  node: 'db1',
  bootId: 'boot-a',
  machineId: 'machine-a',
  pid: 812,
  nonce: '0123456789abcdef',
  counter: 41,
  writtenAt: '2026-12-02T00:00:00.000Z',
  ...patch,
});

describe('parseLease', () => {
  it('reads no file and an empty file as free', () => {
    assert.deepEqual(parseLease(null), { kind: 'free', record: null });
    assert.deepEqual(parseLease(' \n'), { kind: 'free', record: null });
  });

  it('reads a held record as held and a released one as free', () => {
    assert.deepEqual(parseLease(serializeLease(record())), { kind: 'held', record: record() });
    assert.deepEqual(parseLease(serializeLease(record({ state: 'released' }))), { kind: 'free', record: record({ state: 'released' }) });
  });

  it('reads garbage, a torn write and the old version 1 record as unreadable (held by someone unknown)', () => {
    assert.equal(parseLease('{"version":2,"state":"he').kind, 'unreadable');
    assert.equal(parseLease('{"node":"db1","pid":1,"bootId":"x","at":"y"}').kind, 'unreadable');
    assert.equal(parseLease(JSON.stringify({ ...record(), counter: 1.5 })).kind, 'unreadable');
    assert.equal(parseLease(JSON.stringify({ ...record(), nonce: '' })).kind, 'unreadable');
  });
});

describe('sameIdentity', () => {
  it('needs the node name, the boot id and the machine id to match', () => {
    const me = { node: 'db1', bootId: 'boot-a', machineId: 'machine-a' };
    assert.equal(sameIdentity(record(), me), true);
    assert.equal(sameIdentity(record({ bootId: 'boot-b' }), me), false);
    assert.equal(sameIdentity(record({ machineId: 'machine-b' }), me), false);
    assert.equal(sameIdentity(record({ node: 'db2' }), me), false);
  });
});

describe('newNonce', () => {
  it('is 16 hex digits and differs each time', () => {
    const a = newNonce();
    assert.match(a, /^[0-9a-f]{16}$/);
    assert.notEqual(a, newNonce());
  });
});
