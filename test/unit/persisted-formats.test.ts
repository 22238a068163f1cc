// Every file the agent persists, read by this version from the formats earlier versions wrote
// (issue 11, "State across upgrades"). The fixtures in test/fixtures/formats/ are files as an
// agent of that format writes them, kept unchanged: a change that stops this agent from reading
// one fails here. A new format gets a new version number, a new fixture beside the old ones, and a
// reader for both. The lockfile lease record is also read by the peer, which may run the other
// version during a rolling upgrade (README "Upgrading a pair"); the SCSI reservation keys are
// pinned in test/unit/fence/scsi-pr/key.test.ts.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { readPendingDesire, readState, writePendingDesire, writeState, DESIRED_FILE_VERSION, type AgentState } from '../../src/state.ts';
import { parseLease, serializeLease, type LeaseRecord } from '../../fence/lease/record.ts';
import { readTenureFile, tenureFilePath, writeTenureFile, type TenureFile } from '../../fence/lease/tenure-file.ts';
import { fenceReadStreak } from '../../src/fence-read-streak.ts';
import { prStateFilePath, readPrStateFile, writePrStateFile, type PrStateFile } from '../../fence/scsi-pr/state-file.ts';
import { freshSqlHealth, sqlHealthPath, writeSqlHealth } from '../../src/sql-health.ts';
import { HistoryWriter, historyFilePath, readHistory } from '../../src/events/history.ts';
import { logStub } from '../helpers/log-stub.ts';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'formats');
const BOOT = '6f1c2a9e-3b7d-4e0a-9c51-2d8e4f6a7b10';
const fixture = (name: string): string => path.join(FIXTURES, name);
const json = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
/** What a newer agent would leave: `value` as JSON, written plainly. */
const writeJson = (file: string, value: unknown): void => writeFileSync(file, `${JSON.stringify(value)}\n`);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fa-formats-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('state.json (<stateDir>, format 1)', () => {
  test('format 1 is read whole', () => {
    copyFileSync(fixture('state.v1.json'), path.join(dir, 'state.json'));
    const state = readState(dir);
    assert.equal(state?.role, 'MASTER');
    assert.equal(state?.desired?.order?.bootMs, 123456);
    assert.equal(state?.lastTransition?.steps[0]?.name, 'fence.acquire');
    assert.equal(state?.watchdog?.armed, true);
  });

  test('is written in format 1', () => {
    const state = json(fixture('state.v1.json')) as unknown as AgentState;
    writeState(dir, state);
    assert.equal(json(path.join(dir, 'state.json')).version, 1);
  });

  test('a later format (a newer agent, then a downgrade) is not read', () => {
    writeJson(path.join(dir, 'state.json'), { ...json(fixture('state.v1.json')), version: 2 });
    assert.equal(readState(dir), null);
  });
});

describe('desired.json (<stateDir>, the request notify could not hand over)', () => {
  test('format 1 is read without its version field', () => {
    copyFileSync(fixture('desired.v1.json'), path.join(dir, 'desired.json'));
    assert.deepEqual(readPendingDesire(dir), {
      vrrpState: 'BACKUP',
      source: 'notify',
      issuedAt: 1796378400000,
      order: { boot: BOOT, bootMs: 123456, tie: 4242 },
      detail: 'VI_1 priority 90 pid 4242',
    });
  });

  test('the file written before formats had a version (a bare request) is read the same', () => {
    copyFileSync(fixture('desired.unversioned.json'), path.join(dir, 'desired.json'));
    assert.deepEqual(readPendingDesire(dir), { vrrpState: 'BACKUP', source: 'notify', issuedAt: 1796378400000, detail: 'VI_1 priority 90 pid 4242' });
  });

  test('is written in format 1 and read back equal', () => {
    const desire = { vrrpState: 'MASTER' as const, source: 'notify', issuedAt: 1, order: { boot: BOOT, bootMs: 5, tie: 7 } };
    writePendingDesire(dir, desire);
    assert.equal(DESIRED_FILE_VERSION, 1);
    assert.equal(json(path.join(dir, 'desired.json')).version, 1);
    assert.deepEqual(readPendingDesire(dir), desire);
  });

  test('a later format is not read', () => {
    writeJson(path.join(dir, 'desired.json'), { ...json(fixture('desired.v1.json')), version: 2 });
    assert.equal(readPendingDesire(dir), null);
  });
});

describe('the lockfile lease record (shared storage, format 2, read by both nodes)', () => {
  test('format 2 is read as held by its node', () => {
    const view = parseLease(readFileSync(fixture('lease.v2.json'), 'utf8'));
    assert.equal(view.kind, 'held');
    assert.equal(view.kind === 'held' ? `${view.record.node} ${view.record.counter} ${view.record.nonce}` : null, 'db1 41 a1b2c3d4e5f60718');
  });

  test('is written in format 2, byte for byte as the fixture', () => {
    const text = readFileSync(fixture('lease.v2.json'), 'utf8');
    assert.equal(serializeLease(JSON.parse(text) as LeaseRecord), text);
  });

  test('a record of another format is unreadable (held by someone unknown), never free', () => {
    const text = readFileSync(fixture('lease.v2.json'), 'utf8').replace('"version":2', '"version":3');
    assert.equal(parseLease(text).kind, 'unreadable');
  });
});

describe('lease-tenure.json (<runDir>, format 1)', () => {
  test('format 1 is read on its own boot, not on another', () => {
    copyFileSync(fixture('lease-tenure.v1.json'), tenureFilePath(dir));
    assert.equal(readTenureFile(dir, BOOT)?.tenure?.rightEndsAtMs, 133000);
    assert.equal(readTenureFile(dir, 'another-boot'), null);
  });

  test('is written in format 1', () => {
    writeTenureFile(dir, json(fixture('lease-tenure.v1.json')) as unknown as TenureFile);
    assert.equal(json(tenureFilePath(dir)).version, 1);
  });
});

describe('pr-state.json (<runDir>, the scsi-pr fence as the daemon holds it, format 1)', () => {
  test('format 1 is read on its own boot, not on another', () => {
    copyFileSync(fixture('pr-state.v1.json'), prStateFilePath(dir));
    assert.deepEqual(readPrStateFile(dir, BOOT)?.status?.registrants, ['0x730733771d49aebb']);
    assert.equal(readPrStateFile(dir, 'another-boot'), null);
  });

  test('is written in format 1', () => {
    writePrStateFile(dir, json(fixture('pr-state.v1.json')) as unknown as PrStateFile);
    assert.equal(json(prStateFilePath(dir)).version, 1);
  });
});

describe("fence-read-failing.json (<runDir>, check's failing-read streak, format 1)", () => {
  for (const name of ['fence-read-failing.v1.json', 'fence-read-failing.unversioned.json']) {
    test(`${name} continues its streak`, () => {
      copyFileSync(fixture(name), path.join(dir, 'fence-read-failing.json'));
      assert.equal(fenceReadStreak(dir, true, 125000, BOOT), 5000);
    });
  }

  test('a new streak is written in format 1', () => {
    assert.equal(fenceReadStreak(dir, true, 1000, BOOT), 0);
    assert.deepEqual(json(path.join(dir, 'fence-read-failing.json')), { version: 1, bootId: BOOT, sinceMono: 1000 });
  });

  test('a later format starts a new streak', () => {
    writeJson(path.join(dir, 'fence-read-failing.json'), { version: 2, bootId: BOOT, sinceMono: 120000 });
    assert.equal(fenceReadStreak(dir, true, 125000, BOOT), 0);
  });
});

describe("sql-health.json (<runDir>, the daemon's SQL ping for check, format 1)", () => {
  for (const name of ['sql-health.v1.json', 'sql-health.unversioned.json']) {
    test(`${name} is read as a fresh record of its mysqld`, () => {
      copyFileSync(fixture(name), sqlHealthPath(dir));
      assert.deepEqual(freshSqlHealth(dir, 5668, 5000, 131000), { pid: 5668, ok: true, latencyMs: 3, error: null, atMono: 130000 });
    });
  }

  test('is written in format 1', () => {
    writeSqlHealth(dir, { pid: 1, ok: true, latencyMs: 2, error: null, atMono: 3 });
    assert.equal(json(sqlHealthPath(dir)).version, 1);
  });

  test('a later format is not read (check pings on its own)', () => {
    writeJson(sqlHealthPath(dir), { ...json(fixture('sql-health.v1.json')), version: 2 });
    assert.equal(freshSqlHealth(dir, 5668, 5000, 131000), null);
  });
});

describe("history.jsonl (<stateDir>, the daemon's events for fence-agent history, format 1 per line)", () => {
  test('format 1 is read line by line, oldest first', () => {
    copyFileSync(fixture('history.v1.jsonl'), historyFilePath(dir));
    const { entries, skipped } = readHistory(dir);
    assert.equal(skipped, 0);
    assert.deepEqual(entries.map((e) => e.kind), ['fenced', 'self-fenced', 'failover', 'maintenance']);
    assert.equal(entries[2]?.durationMs, 21500);
    assert.equal(entries[3]?.outcome, 'on');
  });

  test('is appended to in format 1, and a line of a later format (a newer agent, then a downgrade) is skipped, not fatal', () => {
    copyFileSync(fixture('history.v1.jsonl'), historyFilePath(dir));
    writeFileSync(historyFilePath(dir), `${JSON.stringify({ version: 2, kind: 'promotion' })}\n`, { flag: 'a' });
    new HistoryWriter({ stateDir: dir, maxEntries: 1000, log: logStub().log }).append({ version: 1, kind: 'demotion', at: '2026-12-05T12:00:00.000Z', node: 'db1', cluster: 'shop', role: 'BACKUP', detail: 'x', durationMs: 1, outcome: 'ok' });
    const { entries, skipped } = readHistory(dir);
    assert.equal(skipped, 1);
    assert.deepEqual(entries.map((e) => e.kind), ['fenced', 'self-fenced', 'failover', 'maintenance', 'demotion']);
    const last = readFileSync(historyFilePath(dir), 'utf8').trimEnd().split('\n').at(-1) ?? '';
    assert.equal((JSON.parse(last) as { version: unknown }).version, 1, 'the appended line carries its format');
  });
});
