import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  desireProblem,
  pendingDesirePath,
  readPendingDesire,
  readState,
  roleOf,
  stateFilePath,
  writeJsonAtomic,
  writeState,
  type AgentState,
} from '../../src/state.ts';
import { scratchDir } from '../helpers/scratch.ts';

const { fresh } = scratchDir('state');
/** A fresh, not yet existing directory inside the temp dir. */
const freshDir = (): string => fresh('case');

const sampleState = (): AgentState => ({
  version: 1,
  node: 'db1',
  bootId: 'boot-1',
  keepalivedState: 'MASTER',
  daemon: { pid: 1234, startedAt: '2024-11-22T09:00:00.000Z' },
  desired: { vrrpState: 'MASTER', source: 'notify', issuedAt: 1732266000123.5, detail: 'INSTANCE VI_1 prio 100' },
  role: 'MASTER',
  transition: null,
  lastTransition: {
    id: 't-1732266000123-1',
    kind: 'promote',
    reason: 'notify',
    desire: { vrrpState: 'MASTER', source: 'notify', issuedAt: 1732266000123.5 },
    startedAt: '2024-11-22T09:00:00.200Z',
    startedMono: 120_000.25,
    deadlineMs: 135000,
    endedAt: '2024-11-22T09:00:04.000Z',
    durationMs: 3800,
    outcome: 'ok',
    error: null,
    steps: [{ name: 'fence', startedAt: '2024-11-22T09:00:00.200Z', deadlineMs: 15000, durationMs: 12, outcome: 'ok', detail: null }],
  },
  selfFence: null,
  watchdog: { device: '/dev/watchdog0', kind: 'kernel', timeoutMs: 5000, armed: true, petting: true },
  updatedAt: '2024-11-22T09:00:04.000Z',
});

describe('writeJsonAtomic', () => {
  it('writeJsonAtomic creates missing parent directories and writes pretty JSON with a final newline', () => {
    const file = path.join(freshDir(), 'deep', 'value.json');
    writeJsonAtomic(file, { a: 1, b: [true, null] });
    assert.equal(readFileSync(file, 'utf8'), '{\n  "a": 1,\n  "b": [\n    true,\n    null\n  ]\n}\n');
  });

  it('writeJsonAtomic replaces an existing file and leaves no temporary file behind', () => {
    const target = freshDir();
    const file = path.join(target, 'value.json');
    writeJsonAtomic(file, { generation: 1 });
    writeJsonAtomic(file, { generation: 2 });
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { generation: 2 });
    assert.deepEqual(readdirSync(target), ['value.json']);
  });

  it('writeJsonAtomic creates the file with the requested mode', () => {
    const file = path.join(freshDir(), 'secret.json');
    writeJsonAtomic(file, { secret: true }, 0o600);
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });
});

describe('readState and writeState', () => {
  it('readState returns what writeState wrote, with a fresh updatedAt', () => {
    const stateDir = freshDir();
    const state = sampleState();
    const writeStarted = Date.now();
    writeState(stateDir, state);
    const read = readState(stateDir);
    assert.ok(read);
    assert.deepEqual({ ...read, updatedAt: state.updatedAt }, state);
    assert.ok(Date.parse(read.updatedAt) >= writeStarted - 1, `updatedAt ${read.updatedAt} is the time of writing`);
    assert.equal(stateFilePath(stateDir), path.join(stateDir, 'state.json'));
  });

  it('readState round-trips a state written with writeJsonAtomic unchanged', () => {
    const stateDir = freshDir();
    writeJsonAtomic(stateFilePath(stateDir), sampleState());
    assert.deepEqual(readState(stateDir), sampleState());
  });

  it('readState returns null when the state file is missing', () => {
    assert.equal(readState(freshDir()), null);
  });

  it('readState returns null for a garbage state file', () => {
    const stateDir = freshDir();
    mkdirSync(stateDir);
    writeFileSync(stateFilePath(stateDir), '{"version": 1, "node": "db1"');
    assert.equal(readState(stateDir), null);
  });

  it('readState returns null for a state file of another version or JSON null', () => {
    const stateDir = freshDir();
    writeJsonAtomic(stateFilePath(stateDir), { ...sampleState(), version: 2 });
    assert.equal(readState(stateDir), null);
    writeJsonAtomic(stateFilePath(stateDir), null);
    assert.equal(readState(stateDir), null);
  });
});

describe('readPendingDesire', () => {
  it('readPendingDesire returns a desire left by notify', () => {
    const stateDir = freshDir();
    const desire = { vrrpState: 'BACKUP' as const, source: 'notify', issuedAt: 1732266000999.25 };
    writeJsonAtomic(pendingDesirePath(stateDir), desire);
    assert.deepEqual(readPendingDesire(stateDir), desire);
  });

  it('readPendingDesire returns null for a missing file or one without issuedAt', () => {
    const stateDir = freshDir();
    assert.equal(readPendingDesire(stateDir), null);
    assert.equal(existsSync(stateDir), false);
    writeJsonAtomic(pendingDesirePath(stateDir), { vrrpState: 'MASTER', source: 'notify' });
    assert.equal(readPendingDesire(stateDir), null);
  });
});

describe('roleOf', () => {
  it('roleOf maps MASTER to MASTER', () => {
    assert.equal(roleOf('MASTER'), 'MASTER');
  });

  it('roleOf maps BACKUP, FAULT, STOP and DELETED to BACKUP', () => {
    for (const state of ['BACKUP', 'FAULT', 'STOP', 'DELETED'] as const) assert.equal(roleOf(state), 'BACKUP', state);
  });
});

describe('desireProblem', () => {
  it('desireProblem accepts a well-formed request', () => {
    assert.equal(desireProblem({ vrrpState: 'FAULT', source: 'notify', issuedAt: 1_795_000_000_000.5, detail: 'INSTANCE VI_1' }), null);
    assert.equal(desireProblem({ vrrpState: 'MASTER', source: 'notify', issuedAt: 1_795_000_000_000, order: { boot: 'b0000000-0000-4000-8000-000000000001', bootMs: 81_230, tie: 4101 } }), null);
  });

  it('desireProblem names the field of a malformed request', () => {
    assert.match(desireProblem({ vrrpState: 'LEADER', source: 'notify', issuedAt: 1 }) ?? '', /^vrrpState: expected one of MASTER\|BACKUP/);
    assert.match(desireProblem({ vrrpState: 'MASTER', source: '', issuedAt: 1 }) ?? '', /^source:/);
    assert.match(desireProblem({ vrrpState: 'MASTER', source: 'x', issuedAt: Number.NaN }) ?? '', /^issuedAt:/);
    assert.match(desireProblem({ vrrpState: 'MASTER', source: 'x', issuedAt: 1, detail: 7 }) ?? '', /^detail:/);
    assert.match(desireProblem({ vrrpState: 'MASTER', source: 'x', issuedAt: 1, order: { boot: 'b', bootMs: 'soon', tie: 0 } }) ?? '', /^order: bootMs:/);
    assert.equal(desireProblem(null), 'expected an object');
  });
});
