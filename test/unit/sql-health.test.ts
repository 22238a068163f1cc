import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { monoNow } from '../../src/clock.ts';
import { clearSqlHealth, freshSqlHealth, sqlHealthPath, writeSqlHealth, type SqlHealthRecord } from '../../src/sql-health.ts';
import { scratchDir } from '../helpers/scratch.ts';

const { dir, fresh } = scratchDir('sql-health');

/** A fresh, existing run directory. */
const runDir = (): string => {
  const run = fresh('run');
  mkdirSync(run);
  return run;
};

/** a time on the monotonic clock, ms */
const NOW = 5_000_000;
const PID = 4242;

const record = (patch: Partial<SqlHealthRecord> = {}): SqlHealthRecord => ({ pid: PID, ok: true, latencyMs: 3, error: null, atMono: NOW, ...patch });

describe('sql health record', () => {
  it('sqlHealthPath names sql-health.json in the run directory', () => {
    assert.equal(sqlHealthPath('/run/fence-agent'), '/run/fence-agent/sql-health.json');
  });

  it('freshSqlHealth returns what writeSqlHealth wrote for the same pid', () => {
    const run = runDir();
    writeSqlHealth(run, record());
    assert.deepEqual(freshSqlHealth(run, PID, 5000, NOW + 100), record());
  });

  it('freshSqlHealth returns a failed ping with its error as it was written', () => {
    const run = runDir();
    const failed = record({ ok: false, latencyMs: 2000, error: 'connect ETIMEDOUT' });
    writeSqlHealth(run, failed);
    assert.deepEqual(freshSqlHealth(run, PID, 5000, NOW), failed);
  });

  it('freshSqlHealth uses the current monotonic time when no time is given', () => {
    const run = runDir();
    const now = record({ atMono: monoNow() });
    writeSqlHealth(run, now);
    assert.deepEqual(freshSqlHealth(run, PID, 60_000), now);
    writeSqlHealth(run, record({ atMono: monoNow() - 120_000 }));
    assert.equal(freshSqlHealth(run, PID, 60_000), null);
  });

  it('writeSqlHealth writes the file with mode 0600 and leaves no temporary file behind', () => {
    const run = runDir();
    writeSqlHealth(run, record());
    assert.equal(statSync(sqlHealthPath(run)).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(run), ['sql-health.json']);
  });

  it('writeSqlHealth creates a missing run directory', () => {
    const run = path.join(fresh('run'), 'nested');
    writeSqlHealth(run, record());
    assert.deepEqual(freshSqlHealth(run, PID, 5000, NOW), record());
  });

  it('writeSqlHealth replaces an earlier record', () => {
    const run = runDir();
    writeSqlHealth(run, record({ atMono: NOW - 1000, latencyMs: 9 }));
    writeSqlHealth(run, record({ atMono: NOW, latencyMs: 1 }));
    assert.equal(freshSqlHealth(run, PID, 5000, NOW)?.latencyMs, 1);
  });

  it('freshSqlHealth returns null for a record about another mysqld pid', () => {
    const run = runDir();
    writeSqlHealth(run, record({ pid: PID + 1 }));
    assert.equal(freshSqlHealth(run, PID, 5000, NOW), null);
  });

  it('freshSqlHealth accepts a record exactly maxAgeMs old and refuses one a millisecond older', () => {
    const run = runDir();
    writeSqlHealth(run, record());
    assert.deepEqual(freshSqlHealth(run, PID, 5000, NOW + 5000), record());
    assert.equal(freshSqlHealth(run, PID, 5000, NOW + 5001), null);
  });

  it('freshSqlHealth returns null for a record much older than maxAgeMs', () => {
    const run = runDir();
    writeSqlHealth(run, record({ atMono: NOW - 3_600_000 }));
    assert.equal(freshSqlHealth(run, PID, 5000, NOW), null);
  });

  it('freshSqlHealth refuses a record from the future of the monotonic clock (another boot) even by a millisecond', () => {
    const run = runDir();
    writeSqlHealth(run, record({ atMono: NOW }));
    assert.deepEqual(freshSqlHealth(run, PID, 5000, NOW), record({ atMono: NOW }));
    writeSqlHealth(run, record({ atMono: NOW + 1 }));
    assert.equal(freshSqlHealth(run, PID, 5000, NOW), null);
  });

  it('freshSqlHealth returns null for a record far in the future', () => {
    const run = runDir();
    writeSqlHealth(run, record({ atMono: NOW + 3_600_000 }));
    assert.equal(freshSqlHealth(run, PID, 5000, NOW), null);
  });

  it('freshSqlHealth returns null when there is no record', () => {
    assert.equal(freshSqlHealth(runDir(), PID, 5000, NOW), null);
  });

  it('freshSqlHealth returns null when the run directory does not exist', () => {
    assert.equal(freshSqlHealth(path.join(dir, 'no-such-run-dir'), PID, 5000, NOW), null);
  });

  it('freshSqlHealth returns null for a file that is not JSON', () => {
    const run = runDir();
    writeFileSync(sqlHealthPath(run), '{"pid": 4242, "ok": tr');
    assert.equal(freshSqlHealth(run, PID, 5000, NOW), null);
  });

  it('freshSqlHealth returns null for JSON that is not a record', () => {
    const run = runDir();
    writeFileSync(sqlHealthPath(run), 'null\n');
    assert.equal(freshSqlHealth(run, PID, 5000, NOW), null);
    writeFileSync(sqlHealthPath(run), '[1, 2, 3]\n');
    assert.equal(freshSqlHealth(run, PID, 5000, NOW), null);
  });

  it('clearSqlHealth removes the record so freshSqlHealth returns null', () => {
    const run = runDir();
    writeSqlHealth(run, record());
    clearSqlHealth(run);
    assert.equal(existsSync(sqlHealthPath(run)), false);
    assert.equal(freshSqlHealth(run, PID, 5000, NOW), null);
  });

  it('clearSqlHealth does nothing when there is no record', () => {
    const run = runDir();
    assert.doesNotThrow(() => clearSqlHealth(run));
    assert.deepEqual(readdirSync(run), []);
  });
});
