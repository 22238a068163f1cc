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
  it('parseNotifyArgs accepts each single-word state in any letter case', () => {
    for (const [word, state] of [
      ['master', 'MASTER'],
      ['BACKUP', 'BACKUP'],
      ['Fault', 'FAULT'],
      ['sToP', 'STOP'],
    ] as const) {
      assert.deepEqual(parseNotifyArgs([word]), { vrrpState: state, type: null, name: null, priority: null });
    }
  });

  it('parseNotifyArgs rejects an unknown single word with EUSAGE and exit code 2', () => {
    assertUsageError(['primary'], /^notify: unknown state "primary"/);
  });

  it('parseNotifyArgs rejects deleted as a single word', () => {
    assertUsageError(['deleted'], /^notify: unknown state "deleted"/);
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

  it('parseNotifyArgs reads type and state case-insensitively but keeps the instance name as given', () => {
    assert.deepEqual(parseNotifyArgs(['instance', 'vi_Db', 'fault', '255']), { vrrpState: 'FAULT', type: 'INSTANCE', name: 'vi_Db', priority: 255 });
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
