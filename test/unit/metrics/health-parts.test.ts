// The `part` label of fence_agent_health_problem: each problem src/health.ts words is classified
// into the fixed set. The verdicts come from evaluate() itself, so that a rewording in health.ts
// fails here (as `other`) instead of going unnoticed in the metrics.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate } from '../../../src/health.ts';
import type { Observation } from '../../../src/probes/observe.ts';
import type { AgentState } from '../../../src/state.ts';
import { BOOT, NOW_MONO, backupObservation, config, masterObservation, state } from '../../helpers/health-fixtures.ts';
import { failingParts, healthPart, type HealthPart } from '../../../src/metrics/health-parts.ts';

const backup = backupObservation;
const master = masterObservation;

/** The parts of evaluate()'s problems for this observation and state. */
const parts = (observation: Observation, s: AgentState | null = state()): HealthPart[] =>
  [...failingParts(evaluate({ config, observation, state: s, daemonAlive: true, nowMono: NOW_MONO, bootId: BOOT }).problems)].sort();

describe('health parts (fence_agent_health_problem{part})', () => {
  it('a healthy node has no failing part', () => {
    assert.deepEqual(parts(backup()), []);
    assert.deepEqual(parts(master(), state({ role: 'MASTER' })), []);
  });

  it('a MASTER: not mounted, read-only, another device, mysqld gone, SQL not answering, fence not held', () => {
    assert.deepEqual(parts({ ...master(), mount: { ...master().mount!, mounted: false, mountpoints: [] } }), ['mount']);
    assert.deepEqual(parts({ ...master(), mount: { ...master().mount!, readOnly: true } }), ['mount']);
    assert.deepEqual(parts({ ...master(), mount: { ...master().mount!, otherAtMountpoint: '/dev/sdc1' } }), ['mount']);
    assert.deepEqual(parts({ ...master(), mysqld: { pidFilePid: 4242, pidFileAlive: false, pids: [], sql: null } }), ['mysqld']);
    assert.deepEqual(parts({ ...master(), mysqld: { pidFilePid: null, pidFileAlive: false, pids: [], sql: null } }), ['mysqld']);
    assert.deepEqual(parts({ ...master(), mysqld: { ...master().mysqld!, sql: { ok: false, latencyMs: 1000, error: 'timeout', source: 'daemon', ageMs: 500 } } }), ['sql']);
    assert.deepEqual(parts({ ...master(), fence: { held: false, holder: 'db2', registrants: [], detail: 'lease held by db2' } }), ['fence']);
  });

  it('a BACKUP: mounted, mysqld running, fence held without the VIP', () => {
    assert.deepEqual(parts({ ...backup(), mount: { ...backup().mount!, mounted: true, mountpoints: ['/data'] } }), ['mount']);
    assert.deepEqual(parts({ ...backup(), mysqld: { pidFilePid: 7, pidFileAlive: true, pids: [7], sql: null } }), ['mysqld']);
    assert.deepEqual(parts({ ...backup(), fence: { held: true, holder: 'db1', registrants: [], detail: 'lease held by db1' } }), ['fence']);
  });

  it('either role: probes failed, interface gone, VIP elsewhere, device unusable or offline, mounted twice, two mysqld', () => {
    assert.deepEqual(parts({ ...backup(), mount: null, errors: { mount: 'timed out' } }), ['mount']);
    assert.deepEqual(parts({ ...backup(), mysqld: null, errors: { mysqld: 'EIO' } }), ['mysqld']);
    assert.deepEqual(parts({ ...backup(), fence: null, errors: { fence: 'ETIMEDOUT' } }), ['fence']);
    assert.deepEqual(parts({ ...backup(), vip: { held: false, interfacePresent: false, elsewhere: [] } }), ['vip']);
    assert.deepEqual(parts({ ...backup(), vip: { held: false, interfacePresent: true, elsewhere: ['eth1'] } }), ['vip']);
    assert.deepEqual(parts({ ...backup(), mount: { ...backup().mount!, deviceError: 'ENOENT' } }), ['device']);
    assert.deepEqual(parts({ ...master(), mount: { ...master().mount!, deviceState: 'transport-offline' } }), ['device']);
    assert.deepEqual(parts({ ...master(), mount: { ...master().mount!, mountpoints: ['/data', '/mnt'] } }), ['mount']);
    assert.deepEqual(parts({ ...master(), mysqld: { ...master().mysqld!, pids: [4242, 4243] } }), ['mysqld']);
  });

  it('the latches and holds: fenced-in, self-fence, hold-down, start hold, switchover, maintenance', () => {
    assert.deepEqual(parts(backup(), state({ role: 'FENCED-IN' })), ['fenced-in']);
    assert.deepEqual(parts(backup(), state({ selfFence: { at: '2024-11-22T09:00:00.000Z', reason: 'lease taken over' } })), ['self-fence']);
    assert.deepEqual(parts(backup(), state({ holdDown: { at: '', untilMono: NOW_MONO + 1000, untilAt: '', reason: 'holder alive' } })), ['hold-down']);
    assert.deepEqual(parts(backup(), state({ startHold: { at: '', reason: 'previous boot held the disk', untilMono: null } })), ['start-hold']);
    assert.deepEqual(parts(backup(), state({ switchover: { at: '', phase: 'handing-over', startedMono: NOW_MONO - 10, deadlineMono: NOW_MONO + 1000, outcome: 'running', detail: null, endedAt: null } })), ['switchover']);
    assert.deepEqual(parts(backup(), state({ maintenance: { at: '2024-11-22T09:00:00.000Z', reason: 'kernel update' } })), ['maintenance']);
  });

  it('wording it does not know is `other`', () => {
    assert.equal(healthPart('something new went wrong'), 'other');
  });
});
