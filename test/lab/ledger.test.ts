// The write ledger's bookkeeping, without a lab: the ack file the client appends to (`ID AT SERVER`
// per acknowledged INSERT) and the queries later scenarios make of it.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Ledger, parseAcks, serverIdOf } from '../../lab/ledger.ts';
import type { PairLab } from '../../lab/pair.ts';
import { scratchDir } from '../helpers/scratch.ts';

const scratch = scratchDir('ledger');

describe('ledger acks', () => {
  test('parseAcks reads id, time and acknowledging server per line', () => {
    assert.deepEqual(parseAcks('1001 1700000000000 1\n1002 1700000000020 2\n'), [
      { id: 1001, at: 1700000000000, server: 1 },
      { id: 1002, at: 1700000000020, server: 2 },
    ]);
    assert.deepEqual(parseAcks(''), []);
  });

  test('parseAcks leaves out an unfinished last line and refuses a malformed complete one', () => {
    assert.deepEqual(parseAcks('1001 1700000000000 1\n1002 17000'), [{ id: 1001, at: 1700000000000, server: 1 }]);
    assert.throws(() => parseAcks('1001 1700000000000\n'), /malformed ack line "1001 1700000000000"/);
    assert.throws(() => parseAcks('1001 soon 1\n'), /malformed ack line/);
  });

  test('acksFrom picks one server\'s acks at or after a time; serverIdOf follows my.cnf', () => {
    const dir = scratch.dir;
    const ledger = new Ledger({ dir } as unknown as PairLab);
    writeFileSync(ledger.ackFile, ['1 100 1', '2 200 1', '3 300 2', '4 400 1', '5 500 2', ''].join('\n'));
    assert.deepEqual(
      ledger.acksFrom(1, 200).map((a) => a.id),
      [2, 4],
    );
    assert.deepEqual(
      ledger.acksFrom(2, 301).map((a) => a.id),
      [5],
    );
    assert.deepEqual(ledger.acksFrom(1, 401), []);
    assert.equal(ledger.firstAckAfter(250)?.id, 3);
    assert.equal(serverIdOf('db1'), 1);
    assert.equal(serverIdOf({ name: 'db2' }), 2);
    assert.throws(() => serverIdOf('db3'), /no pair node db3/);
  });
});
