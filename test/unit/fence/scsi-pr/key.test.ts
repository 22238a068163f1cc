import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatKey, parseKey, reservationKey } from '../../../../fence/scsi-pr/key.ts';

describe('reservation keys', () => {
  it('reservationKey is stable, 8 bytes, non-zero, and differs between the two nodes of a cluster', () => {
    const a = reservationKey('shop-db', '1');
    assert.equal(reservationKey('shop-db', '1'), a, 'the same inputs give the same key');
    assert.notEqual(reservationKey('shop-db', '2'), a);
    assert.notEqual(reservationKey('other-db', '1'), a, 'another cluster on the same node ids');
    assert.ok(a > 0n && a < 1n << 64n);
  });

  it('reservationKey is frozen across versions: a node upgraded under a held reservation must find its own key (issue 11, state across upgrades)', () => {
    // Changing these values strands every running cluster's registrations: a new agent would
    // take its own old key for a stranger's and preempt itself. Never change them.
    assert.equal(formatKey(reservationKey('shop-db', '1')), '0x730733771d49aebb');
    assert.equal(formatKey(reservationKey('shop-db', '2')), '0x6be70c4206b1bdb1');
    assert.equal(formatKey(reservationKey('vmlab', 'node1')), '0x6ca92226dbc0478b');
  });

  it('reservationKey refuses an empty cluster name or node id with ECONFIG', () => {
    assert.throws(() => reservationKey('', '1'), { code: 'ECONFIG' });
    assert.throws(() => reservationKey('shop-db', ''), { code: 'ECONFIG' });
  });

  it('formatKey prints what sg_persist prints and parseKey reads it back', () => {
    assert.equal(formatKey(0x1111n), '0x1111');
    assert.equal(formatKey(0xea1b2a62b1dd8f34n), '0xea1b2a62b1dd8f34');
    assert.equal(parseKey('0xEA1B2A62B1DD8F34'), 0xea1b2a62b1dd8f34n);
    assert.equal(parseKey(' 4369 '), 0x1111n);
  });

  it('parseKey refuses zero, more than 8 bytes and anything that is not a number', () => {
    for (const text of ['0', '0x0', '0x10000000000000000', '18446744073709551616', 'abc', '0x', '-1', '1e3']) {
      assert.throws(() => parseKey(text), { code: 'EPRPARSE' }, text);
    }
  });
});
