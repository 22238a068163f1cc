import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isForInstance, NOTIFY_USAGE, parseFifoLine, parseNotifyArgs, type NotifyEvent } from '../../src/keepalived.ts';
import { FenceAgentError } from '../../src/errors.ts';

const assertUsageError = (args: string[], pattern: RegExp): void => {
  assert.throws(
    () => parseNotifyArgs(args),
    (error: unknown) => {
      assert.ok(error instanceof FenceAgentError, `expected a FenceAgentError, got ${String(error)}`);
      assert.equal(error.code, 'EUSAGE');
      assert.equal(error.exitCode, 2);
      assert.match(error.message, pattern);
      assert.ok(error.message.endsWith(NOTIFY_USAGE), error.message);
      return true;
    },
  );
};

describe('parseNotifyArgs', () => {
  it('parseNotifyArgs accepts each single-word state in lower case, as documented, or upper case', () => {
    for (const [word, state] of [
      ['master', 'MASTER'],
      ['BACKUP', 'BACKUP'],
      ['fault', 'FAULT'],
      ['STOP', 'STOP'],
      ['deleted', 'DELETED'],
    ] as const) {
      assert.deepEqual(parseNotifyArgs([word]), { vrrpState: state, type: null, name: null, priority: null });
    }
  });

  it('parseNotifyArgs rejects an unknown single word with EUSAGE and exit code 2', () => {
    assertUsageError(['primary'], /^unknown state "primary"/);
  });

  it('parseNotifyArgs rejects words that only case-fold to a state: mixed case, and the long s, the st ligature and the dotless i that toUpperCase() maps to ASCII', () => {
    for (const word of ['Master', 'sToP', 'maſter', 'ﬆop', 'faılt', 'MAſTER']) assertUsageError([word], /^unknown state /);
    for (const state of ['Master', 'maſter', 'master', 'ﬆOP']) assertUsageError(['INSTANCE', 'VI_1', state, '100'], /^unknown state /);
    for (const type of ['instance', 'Instance', 'ınstance', 'GROUP ']) assertUsageError([type, 'VI_1', 'MASTER', '100'], /expected INSTANCE or GROUP/);
  });

  it('parseNotifyArgs refuses an argument over 256 characters and quotes only its first 40, with its length', () => {
    const huge = 'M'.repeat(100_000);
    for (const args of [[huge], ['INSTANCE', huge, 'MASTER', '100']]) {
      assert.throws(
        () => parseNotifyArgs(args),
        (error: unknown) => {
          assert.ok(error instanceof FenceAgentError && error.code === 'EUSAGE');
          assert.match(error.message, /is longer than 256 characters: "M{40}"… \(100000 characters\)/);
          assert.ok(error.message.length < 400, `${error.message.length} characters`);
          return true;
        },
      );
    }
    assert.equal(parseNotifyArgs(['INSTANCE', 'V'.repeat(256), 'MASTER', '100']).name, 'V'.repeat(256));
  });

  it('parseNotifyArgs quotes a control character in a rejected argument instead of writing it raw', () => {
    assertUsageError(['mas\u001b[2Jter'], /^unknown state "mas\\u001b\[2Jter"/);
  });

  it('parseNotifyArgs parses the four-argument notify form', () => {
    assert.deepEqual(parseNotifyArgs(['INSTANCE', 'VI_1', 'MASTER', '100']), {
      vrrpState: 'MASTER',
      type: 'INSTANCE',
      name: 'VI_1',
      priority: 100,
    });
    assert.deepEqual(parseNotifyArgs(['GROUP', 'VG_1', 'BACKUP', '0']), { vrrpState: 'BACKUP', type: 'GROUP', name: 'VG_1', priority: 0 });
  });

  it('parseNotifyArgs keeps the instance name as given', () => {
    assert.deepEqual(parseNotifyArgs(['INSTANCE', 'vi_Db', 'FAULT', '255']), { vrrpState: 'FAULT', type: 'INSTANCE', name: 'vi_Db', priority: 255 });
  });

  it('parseNotifyArgs accepts DELETED in the four-argument form', () => {
    assert.equal(parseNotifyArgs(['INSTANCE', 'VI_1', 'DELETED', '100']).vrrpState, 'DELETED');
  });

  it('parseNotifyArgs rejects a type other than INSTANCE or GROUP', () => {
    assertUsageError(['VS', 'VI_1', 'MASTER', '100'], /expected INSTANCE or GROUP, got "VS"/);
  });

  it('parseNotifyArgs rejects an unknown state in the four-argument form', () => {
    assertUsageError(['INSTANCE', 'VI_1', 'LEADER', '100'], /unknown state "LEADER"/);
  });

  it('parseNotifyArgs rejects a priority that is not 0..255', () => {
    assertUsageError(['INSTANCE', 'VI_1', 'MASTER', '256'], /expected a priority 0\.\.255, got "256"/);
    assertUsageError(['INSTANCE', 'VI_1', 'MASTER', '-1'], /expected a priority 0\.\.255, got "-1"/);
    assertUsageError(['INSTANCE', 'VI_1', 'MASTER', 'high'], /expected a priority 0\.\.255, got "high"/);
    assertUsageError(['INSTANCE', 'VI_1', 'MASTER', ''], /expected a priority 0\.\.255, got ""/);
  });

  it('parseNotifyArgs rejects an empty instance name', () => {
    assertUsageError(['INSTANCE', '', 'MASTER', '100'], /empty instance name/);
  });

  it('parseNotifyArgs rejects any number of arguments other than 1 or 4', () => {
    assertUsageError([], /expected 1 or 4 arguments, got 0/);
    assertUsageError(['INSTANCE', 'VI_1'], /expected 1 or 4 arguments, got 2/);
    assertUsageError(['INSTANCE', 'VI_1', 'MASTER'], /expected 1 or 4 arguments, got 3/);
    assertUsageError(['INSTANCE', 'VI_1', 'MASTER', '100', 'extra'], /expected 1 or 4 arguments, got 5/);
  });
});

describe('parseFifoLine', () => {
  it('parseFifoLine parses an INSTANCE state line', () => {
    assert.deepEqual(parseFifoLine('INSTANCE "VI_1" MASTER 100'), { vrrpState: 'MASTER', type: 'INSTANCE', name: 'VI_1', priority: 100 });
  });

  it('parseFifoLine parses a GROUP state line', () => {
    assert.deepEqual(parseFifoLine('GROUP "VG_1" BACKUP 0'), { vrrpState: 'BACKUP', type: 'GROUP', name: 'VG_1', priority: 0 });
  });

  it('parseFifoLine tolerates a trailing newline and surrounding whitespace', () => {
    assert.deepEqual(parseFifoLine('  INSTANCE "VI_1" FAULT 90\n'), { vrrpState: 'FAULT', type: 'INSTANCE', name: 'VI_1', priority: 90 });
  });

  it('parseFifoLine parses DELETED (an instance removed by a reload, with notify_deleted)', () => {
    assert.deepEqual(parseFifoLine('INSTANCE "VI_1" DELETED 100'), { vrrpState: 'DELETED', type: 'INSTANCE', name: 'VI_1', priority: 100 });
  });

  it('parseFifoLine ignores a state or type that only case-folds to keepalived\'s (the long s, the dotless i)', () => {
    assert.equal(parseFifoLine('INSTANCE "VI_1" MAſTER 100'), null);
    assert.equal(parseFifoLine('ınstance "VI_1" MASTER 100'), null);
  });

  it('parseFifoLine ignores MASTER_RX_LOWER_PRI and priority-change lines', () => {
    assert.equal(parseFifoLine('INSTANCE "VI_1" MASTER_RX_LOWER_PRI 100'), null);
    assert.equal(parseFifoLine('INSTANCE "VI_1" MASTER_PRIORITY 150'), null);
  });

  it('parseFifoLine ignores virtual server lines, lower-case states and garbage', () => {
    assert.equal(parseFifoLine('VS [10.0.0.1]:tcp:3306 UP'), null);
    assert.equal(parseFifoLine('INSTANCE "VI_1" master 100'), null);
    assert.equal(parseFifoLine('INSTANCE VI_1 MASTER 100'), null);
    assert.equal(parseFifoLine('INSTANCE "VI_1" MASTER'), null);
    assert.equal(parseFifoLine(''), null);
    assert.equal(parseFifoLine('hello world'), null);
  });
});

describe('isForInstance', () => {
  const event = (name: string | null): NotifyEvent => ({ vrrpState: 'MASTER', type: name === null ? null : 'INSTANCE', name, priority: null });

  it('isForInstance accepts every event when no instance is configured', () => {
    assert.equal(isForInstance(event('VI_2'), null), true);
  });

  it('isForInstance accepts a single-word notify that names no instance', () => {
    assert.equal(isForInstance(event(null), 'VI_1'), true);
  });

  it('isForInstance accepts the configured instance and rejects another one', () => {
    assert.equal(isForInstance(event('VI_1'), 'VI_1'), true);
    assert.equal(isForInstance(event('VI_2'), 'VI_1'), false);
  });
});
