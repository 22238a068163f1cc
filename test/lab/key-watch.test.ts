// lab/iscsi/key-watch.ts KeyHistory: which node the storage takes writes from, in a window of time,
// from a third initiator's reads of the keys.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KeyHistory } from '../../lab/iscsi/key-watch.ts';

const keyOf = { n1: '0x11', n2: '0x22' };

describe('KeyHistory', () => {
  test('knows nothing before the first good read; a failed read adds nothing', () => {
    const history = new KeyHistory(keyOf);
    history.add({ start: 0, end: 5, error: 'no answer' });
    assert.equal(history.verdicts(0, 10), null);
    assert.equal(history.last, null);
  });

  test('a read before the window holds until the next one: the holder registered, the other not able to write', () => {
    const history = new KeyHistory(keyOf);
    history.add({ start: 0, end: 5, keys: ['0x11'], holder: '0x11', type: 5 });
    assert.deepEqual(history.verdicts(100, 110), { n1: { registered: true, ableToWrite: true }, n2: { registered: false, ableToWrite: false } });
    assert.equal(history.holderName(), 'n1');
  });

  test('no reservation at some instant of the window: every node able to write then, none registered', () => {
    const history = new KeyHistory(keyOf);
    history.add({ start: 0, end: 5, keys: [], holder: null, type: null });
    assert.deepEqual(history.verdicts(10, 20), { n1: { registered: false, ableToWrite: true }, n2: { registered: false, ableToWrite: true } });
  });

  test('a change inside the window counts both states (the window is some instant of a sample)', () => {
    const history = new KeyHistory(keyOf);
    history.add({ start: 0, end: 5, keys: ['0x11'], holder: '0x11', type: 5 });
    history.add({ start: 300, end: 305, keys: ['0x22'], holder: '0x22', type: 5 });
    assert.deepEqual(history.verdicts(200, 400), { n1: { registered: true, ableToWrite: true }, n2: { registered: true, ableToWrite: true } });
    assert.deepEqual(history.verdicts(310, 400), { n1: { registered: false, ableToWrite: false }, n2: { registered: true, ableToWrite: true } });
    assert.equal(history.holderName(), 'n2');
  });

  test('a key of no known node is named by itself', () => {
    const history = new KeyHistory(keyOf);
    history.add({ start: 0, end: 5, keys: ['0x99'], holder: '0x99', type: 5 });
    assert.equal(history.holderName(), '0x99');
  });
});
