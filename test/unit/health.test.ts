import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate, type VerdictInput } from '../../src/health.ts';
import type { Observation } from '../../src/probes/observe.ts';
import type { TransitionRecord } from '../../src/state.ts';
import { BOOT, NOW, NOW_MONO, backupObservation, config, masterObservation, state } from '../helpers/health-fixtures.ts';

const transition = (kind: 'promote' | 'demote', startedAgoMs: number, deadlineMs: number, steps: string[] = []): TransitionRecord => ({
  id: 't-1-1',
  kind,
  reason: 'notify',
  desire: { vrrpState: kind === 'promote' ? 'MASTER' : 'BACKUP', source: 'notify', issuedAt: NOW - startedAgoMs },
  startedAt: new Date(NOW - startedAgoMs).toISOString(),
  startedMono: NOW_MONO - startedAgoMs,
  deadlineMs,
  endedAt: null,
  durationMs: null,
  outcome: null,
  error: null,
  steps: steps.map((name) => ({ name, startedAt: new Date(NOW - 100).toISOString(), deadlineMs: 1000, durationMs: null, outcome: 'running', detail: null })),
});

const input = (observation: Observation, patch: Partial<VerdictInput> = {}): VerdictInput => ({
  config,
  observation,
  state: null,
  daemonAlive: false,
  nowMono: NOW_MONO,
  bootId: BOOT,
  ...patch,
});

describe('evaluate: healthy states', () => {
  it('evaluate reports a clean idle node as a healthy BACKUP', () => {
    const verdict = evaluate(input(backupObservation()));
    assert.deepEqual(verdict, {
      healthy: true,
      known: true,
      role: 'BACKUP',
      inTransition: false,
      line: 'healthy BACKUP: no VIP, not mounted, no mysqld, fence not held',
      problems: [],
    });
  });

  it('evaluate reports a node with VIP, mount, answering mysqld and fence as a healthy MASTER', () => {
    const verdict = evaluate(input(masterObservation()));
    assert.equal(verdict.healthy, true);
    assert.equal(verdict.known, true);
    assert.equal(verdict.role, 'MASTER');
    assert.equal(verdict.inTransition, false);
    assert.deepEqual(verdict.problems, []);
    assert.equal(
      verdict.line,
      'healthy MASTER: VIP 10.0.0.100 held, /dev/sdb1 mounted on /data, mysqld pid 4242 answering SQL in 3 ms, fence held',
    );
  });

  it('evaluate accepts a MASTER whose SQL was not pinged', () => {
    const o = masterObservation();
    o.mysqld = { pidFilePid: 4242, pidFileAlive: true, pids: [4242], sql: null };
    const verdict = evaluate(input(o));
    assert.equal(verdict.healthy, true);
    assert.equal(verdict.line, 'healthy MASTER: VIP 10.0.0.100 held, /dev/sdb1 mounted on /data, mysqld pid 4242, fence held');
  });

  it('evaluate accepts fence method none (held null) on a MASTER', () => {
    const o = masterObservation();
    o.fence = { held: null, holder: null, registrants: [], detail: 'no fencing (method none)' };
    const verdict = evaluate(input(o));
    assert.equal(verdict.healthy, true);
    assert.match(verdict.line, /, no fencing$/);
  });

  it('evaluate accepts fence method none (held null) on a BACKUP', () => {
    const o = backupObservation();
    o.fence = { held: null, holder: null, registrants: [], detail: 'no fencing (method none)' };
    const verdict = evaluate(input(o));
    assert.equal(verdict.healthy, true);
    assert.equal(verdict.line, 'healthy BACKUP: no VIP, not mounted, no mysqld, no fencing');
  });

  it('evaluate accepts a BACKUP whose fence is held by the peer', () => {
    const o = backupObservation();
    o.fence = { held: false, holder: 'db2', registrants: [], detail: 'lease held by db2 (pid 7)' };
    assert.equal(evaluate(input(o)).healthy, true);
  });
});

describe('evaluate: MASTER problems', () => {
  const unhealthyMaster = (o: Observation, expected: string): void => {
    const verdict = evaluate(input(o));
    assert.equal(verdict.healthy, false);
    assert.equal(verdict.known, true);
    assert.equal(verdict.role, 'MASTER');
    assert.equal(verdict.inTransition, false);
    assert.deepEqual(verdict.problems, [expected]);
    assert.equal(verdict.line, `UNHEALTHY MASTER: ${expected}`);
  };

  it('evaluate reports a MASTER whose device is not mounted', () => {
    const o = masterObservation();
    o.mount = { mounted: false, readOnly: false, majorMinor: '8:17', deviceError: null, otherAtMountpoint: null, mountpoints: [], deviceState: null };
    unhealthyMaster(o, '/dev/sdb1 not mounted on /data');
  });

  it('evaluate reports a MASTER with another filesystem on the mountpoint', () => {
    const o = masterObservation();
    o.mount = { mounted: false, readOnly: false, majorMinor: '8:17', deviceError: null, otherAtMountpoint: '/dev/sdc1', mountpoints: [], deviceState: null };
    unhealthyMaster(o, '/dev/sdc1 (not /dev/sdb1) is mounted on /data');
  });

  it('evaluate reports a MASTER whose filesystem is read-only', () => {
    const o = masterObservation();
    o.mount = { mounted: true, readOnly: true, majorMinor: '8:17', deviceError: null, otherAtMountpoint: null, mountpoints: ['/data'], deviceState: null };
    unhealthyMaster(o, '/dev/sdb1 is mounted read-only on /data');
  });

  it('evaluate reports a MASTER whose mysqld from the pid file is gone', () => {
    const o = masterObservation();
    o.mysqld = { pidFilePid: 4242, pidFileAlive: false, pids: [], sql: null };
    unhealthyMaster(o, 'mysqld not running (pid 4242 from /run/mysqld/mysqld.pid is gone)');
  });

  it('evaluate reports a MASTER without any mysqld and without a pid file', () => {
    const o = masterObservation();
    o.mysqld = { pidFilePid: null, pidFileAlive: false, pids: [], sql: null };
    unhealthyMaster(o, 'mysqld not running (no pid in /run/mysqld/mysqld.pid)');
  });

  it('evaluate reports a MASTER whose mysqld does not answer SQL', () => {
    const o = masterObservation();
    o.mysqld = { pidFilePid: 4242, pidFileAlive: true, pids: [4242], sql: { ok: false, latencyMs: 1000, error: 'ETIMEDOUT', source: 'own', ageMs: 0 } };
    unhealthyMaster(o, 'mysqld pid 4242 not answering SQL (ETIMEDOUT)');
  });

  it('evaluate reports a MASTER that does not hold the fence', () => {
    const o = masterObservation();
    o.fence = { held: false, holder: 'db2', registrants: [], detail: 'lease held by db2 (pid 7)' };
    unhealthyMaster(o, 'fence not held (lease held by db2 (pid 7))');
  });

  it('evaluate names every problem of a MASTER that has only the VIP', () => {
    const o = backupObservation();
    o.vip = { held: true, interfacePresent: true, elsewhere: [] };
    const verdict = evaluate(input(o));
    assert.equal(verdict.healthy, false);
    assert.deepEqual(verdict.problems, [
      '/dev/sdb1 not mounted on /data',
      'mysqld not running (no pid in /run/mysqld/mysqld.pid)',
      'fence not held (lease /nfs/fence-agent/lease free)',
    ]);
    assert.equal(verdict.line, `UNHEALTHY MASTER: ${verdict.problems.join('; ')}`);
  });
});

describe('evaluate: BACKUP problems', () => {
  const unhealthyBackup = (o: Observation, expected: string): void => {
    const verdict = evaluate(input(o));
    assert.equal(verdict.healthy, false);
    assert.equal(verdict.known, true);
    assert.equal(verdict.role, 'BACKUP');
    assert.deepEqual(verdict.problems, [expected]);
    assert.equal(verdict.line, `UNHEALTHY BACKUP: ${expected}`);
  };

  it('evaluate reports a BACKUP that has the device mounted without the VIP', () => {
    const o = backupObservation();
    o.mount = { mounted: true, readOnly: false, majorMinor: '8:17', deviceError: null, otherAtMountpoint: null, mountpoints: ['/data'], deviceState: null };
    unhealthyBackup(o, '/dev/sdb1 mounted on /data without the VIP');
  });

  it('evaluate reports a BACKUP that runs mysqld without the VIP', () => {
    const o = backupObservation();
    o.mysqld = { pidFilePid: 4242, pidFileAlive: true, pids: [4242], sql: null };
    unhealthyBackup(o, 'mysqld running (pid 4242) without the VIP');
  });

  it('evaluate reports a BACKUP that holds the fence without the VIP', () => {
    const o = backupObservation();
    o.fence = { held: true, holder: 'db1', registrants: [], detail: 'lease held by db1 (pid 100)' };
    unhealthyBackup(o, 'fence held without the VIP, which blocks the peer (lease held by db1 (pid 100))');
  });
});

describe('evaluate: problems on either side', () => {
  it('evaluate reports a missing VIP interface', () => {
    const o = backupObservation();
    o.vip = { held: false, interfacePresent: false, elsewhere: [] };
    const verdict = evaluate(input(o));
    assert.equal(verdict.healthy, false);
    assert.deepEqual(verdict.problems, ['interface eth0 not found (or down)']);
  });

  it('evaluate reports the VIP on another interface', () => {
    const o = backupObservation();
    o.vip = { held: false, interfacePresent: true, elsewhere: ['eth1'] };
    assert.deepEqual(evaluate(input(o)).problems, ['VIP 10.0.0.100 is on eth1, not on eth0']);
  });

  it('evaluate reports an unusable device node', () => {
    const o = backupObservation();
    o.mount = { mounted: false, readOnly: false, majorMinor: null, deviceError: 'ENOENT', otherAtMountpoint: null, mountpoints: [], deviceState: null };
    assert.deepEqual(evaluate(input(o)).problems, ['device /dev/sdb1 unusable (ENOENT)']);
  });

  it('evaluate reports a MASTER whose iSCSI device went transport-offline (replacement_timeout passed)', () => {
    const o = masterObservation();
    o.mount = { mounted: true, readOnly: false, majorMinor: '8:17', deviceError: null, otherAtMountpoint: null, mountpoints: ['/data'], deviceState: 'transport-offline' };
    const verdict = evaluate(input(o));
    assert.equal(verdict.healthy, false);
    assert.deepEqual(verdict.problems, ['device /dev/sdb1 is transport-offline (the storage path is gone: its I/O fails)']);
  });

  it('evaluate keeps a MASTER whose iSCSI session is recovering (device blocked) healthy', () => {
    const o = masterObservation();
    o.mount = { mounted: true, readOnly: false, majorMinor: '8:17', deviceError: null, otherAtMountpoint: null, mountpoints: ['/data'], deviceState: 'blocked' };
    assert.equal(evaluate(input(o)).healthy, true);
  });

  it('evaluate reports a MASTER whose device is also mounted elsewhere', () => {
    const o = masterObservation();
    o.mount = { mounted: true, readOnly: false, majorMinor: '8:17', deviceError: null, otherAtMountpoint: null, mountpoints: ['/data', '/mnt/copy'], deviceState: null };
    const verdict = evaluate(input(o));
    assert.equal(verdict.healthy, false);
    assert.deepEqual(verdict.problems, ['/dev/sdb1 also mounted on /mnt/copy']);
  });

  it('evaluate reports more than one mysqld process on a MASTER', () => {
    const o = masterObservation();
    o.mysqld = { pidFilePid: 4242, pidFileAlive: true, pids: [4242, 4343], sql: { ok: true, latencyMs: 2, error: null, source: 'own', ageMs: 0 } };
    assert.deepEqual(evaluate(input(o)).problems, ['2 mysqld processes (pids 4242, 4343)']);
  });

  it('evaluate reports a fenced-in node as unhealthy', () => {
    const verdict = evaluate(input(backupObservation(), { state: state({ role: 'FENCED-IN' }), daemonAlive: true }));
    assert.equal(verdict.healthy, false);
    assert.deepEqual(verdict.problems, ['fenced-in: the last demotion could not verify the unmount (the filesystem may still be written); the daemon demotes again every 30.0 s once keepalived has left MASTER: find what holds the filesystem (its log names the step)']);
  });
});

describe('evaluate: probe errors', () => {
  it('evaluate marks the verdict unknown and unhealthy when the fence probe failed', () => {
    const o = backupObservation();
    o.fence = null;
    o.errors = { fence: 'fence verification did not finish within 1000 ms' };
    const verdict = evaluate(input(o));
    assert.equal(verdict.known, false);
    assert.equal(verdict.healthy, false);
    assert.deepEqual(verdict.problems, ['fence probe failed: fence verification did not finish within 1000 ms']);
  });

  it("evaluate tolerates check's failing fence read younger than the tolerance: a healthy BACKUP that says so (issue 11 §6)", () => {
    const o = backupObservation();
    o.fence = null;
    o.errors = { fence: 'EIO reading /nfs/fence-agent/lease' };
    const verdict = evaluate(input(o, { fenceRead: { failingForMs: 2500, toleranceMs: 30_000 } }));
    assert.equal(verdict.healthy, true);
    assert.equal(verdict.known, false, 'the fence is still unknown');
    assert.deepEqual(verdict.problems, []);
    assert.equal(verdict.line, 'healthy BACKUP: no VIP, not mounted, no mysqld, fence read failing for 2.5 s (tolerated up to 30.0 s: EIO reading /nfs/fence-agent/lease)');
  });

  it('evaluate makes a fence read failing as long as the tolerance a problem, on either side', () => {
    for (const o of [backupObservation(), masterObservation()]) {
      o.fence = null;
      o.errors = { fence: 'EIO' };
      const verdict = evaluate(input(o, { fenceRead: { failingForMs: 30_000, toleranceMs: 30_000 } }));
      assert.equal(verdict.healthy, false);
      assert.deepEqual(verdict.problems, ['fence probe failed: EIO']);
    }
  });

  it('evaluate tolerates only the fence probe: a failing mount probe beside it is still a problem', () => {
    const o = backupObservation();
    o.fence = null;
    o.mount = null;
    o.errors = { fence: 'EIO', mount: 'EACCES' };
    const verdict = evaluate(input(o, { fenceRead: { failingForMs: 0, toleranceMs: 30_000 } }));
    assert.equal(verdict.healthy, false);
    assert.deepEqual(verdict.problems, ['mount probe failed: EACCES']);
  });

  it('evaluate marks the verdict unknown when the mount and mysqld probes failed on a MASTER', () => {
    const o = masterObservation();
    o.mount = null;
    o.mysqld = null;
    o.errors = { mount: 'EACCES', mysqld: 'mysqld probe did not finish within 1000 ms' };
    const verdict = evaluate(input(o));
    assert.equal(verdict.known, false);
    assert.equal(verdict.healthy, false);
    assert.equal(verdict.role, 'MASTER');
    assert.deepEqual(verdict.problems, ['mount probe failed: EACCES', 'mysqld probe failed: mysqld probe did not finish within 1000 ms']);
  });
});

describe('evaluate: transitions in progress', () => {
  // The VIP arrived, the daemon is mounting: unhealthy on its face.
  const promoting = (): Observation => {
    const o = backupObservation();
    o.vip = { held: true, interfacePresent: true, elsewhere: [] };
    return o;
  };

  it('evaluate counts a promotion within its deadline as healthy while the daemon is alive', () => {
    const s = state({ transition: transition('promote', 2000, 10000, ['fence', 'mount']) });
    const verdict = evaluate(input(promoting(), { state: s, daemonAlive: true }));
    assert.equal(verdict.healthy, true);
    assert.equal(verdict.inTransition, true);
    assert.equal(verdict.role, 'MASTER');
    assert.equal(verdict.known, true);
    assert.equal(verdict.line, 'healthy MASTER: promote in progress (step mount, 2.0 s of 10.0 s)');
    assert.ok(verdict.problems.length > 0, 'the problems are still listed');
  });

  it('evaluate names the step "starting" for a transition without steps yet', () => {
    const s = state({ transition: transition('promote', 0, 10000) });
    const verdict = evaluate(input(promoting(), { state: s, daemonAlive: true }));
    assert.equal(verdict.line, 'healthy MASTER: promote in progress (step starting, 0.0 s of 10.0 s)');
  });

  it('evaluate does not count a transition as healthy when the daemon is dead', () => {
    const s = state({ transition: transition('promote', 2000, 10000, ['mount']) });
    const verdict = evaluate(input(promoting(), { state: s, daemonAlive: false }));
    assert.equal(verdict.healthy, false);
    assert.equal(verdict.inTransition, false);
    assert.match(verdict.line, /^UNHEALTHY MASTER: /);
  });

  it('evaluate counts a hand-off to the next daemon (systemctl restart) as healthy without a live daemon, until its deadline', () => {
    const handOff = { ...transition('promote', 2000, 10000, ['fence.retake']), handOff: true };
    const during = evaluate(input(promoting(), { state: state({ transition: handOff }), daemonAlive: false }));
    assert.equal(during.healthy, true);
    assert.equal(during.inTransition, true);
    const late = evaluate(input(promoting(), { state: state({ transition: { ...transition('promote', 10001, 10000, ['fence.retake']), handOff: true } }), daemonAlive: false }));
    assert.equal(late.healthy, false, 'past its deadline: the next daemon never came');
  });

  it('evaluate does not count a transition past its deadline as healthy', () => {
    const s = state({ transition: transition('promote', 10001, 10000, ['mount']) });
    const verdict = evaluate(input(promoting(), { state: s, daemonAlive: true }));
    assert.equal(verdict.healthy, false);
    assert.equal(verdict.inTransition, false);
  });

  it('evaluate still counts a transition exactly at its deadline as healthy', () => {
    const s = state({ transition: transition('demote', 10000, 10000, ['stop-mysqld']) });
    const o = backupObservation();
    o.mysqld = { pidFilePid: 4242, pidFileAlive: true, pids: [4242], sql: null };
    const verdict = evaluate(input(o, { state: s, daemonAlive: true }));
    assert.equal(verdict.healthy, true);
    assert.equal(verdict.line, 'healthy BACKUP: demote in progress (step stop-mysqld, 10.0 s of 10.0 s)');
  });

  it('evaluate does not count a transition recorded on another boot (its monotonic times mean nothing now)', () => {
    const s = state({ transition: transition('promote', 2000, 10000, ['mount']), bootId: 'boot-0' });
    const verdict = evaluate(input(backupObservation(), { state: s, daemonAlive: true }));
    assert.equal(verdict.inTransition, false);
  });

  it('evaluate reports a healthy node as not in transition even while one runs', () => {
    const s = state({ transition: transition('promote', 1000, 10000, ['sql-ready']) });
    const verdict = evaluate(input(masterObservation(), { state: s, daemonAlive: true }));
    assert.equal(verdict.healthy, true);
    assert.equal(verdict.inTransition, false);
    assert.match(verdict.line, /^healthy MASTER: VIP /);
  });
});

describe('evaluate: self-fence latch', () => {
  it('evaluate reports a self-fenced MASTER as unhealthy even though nothing else is off', () => {
    const selfFence = { at: '2024-11-22T09:59:00.000Z', reason: 'lease lost' };
    const o = masterObservation();
    const verdict = evaluate(input(o, { state: state({ role: 'MASTER', selfFence }), daemonAlive: true }));
    assert.equal(verdict.healthy, false);
    assert.deepEqual(verdict.problems, ['FENCED: the fence was lost at 2024-11-22T09:59:00.000Z (lease lost); the node self-fenced and stays out until keepalived leaves MASTER']);
  });

  it('evaluate reports a self-fenced node that has stopped and unmounted as an unhealthy MASTER while it keeps the VIP', () => {
    const selfFence = { at: '2024-11-22T09:59:00.000Z', reason: 'lease taken by db2' };
    const o = backupObservation();
    o.vip = { held: true, interfacePresent: true, elsewhere: [] };
    const verdict = evaluate(input(o, { state: state({ selfFence }), daemonAlive: true }));
    assert.equal(verdict.healthy, false);
    assert.equal(verdict.role, 'MASTER');
    assert.ok(verdict.problems.includes('FENCED: the fence was lost at 2024-11-22T09:59:00.000Z (lease taken by db2); the node self-fenced and stays out until keepalived leaves MASTER'));
  });
});

describe('evaluate: hold-down and a deferred BACKUP request (issue 9 §2)', () => {
  const holdDown = { at: '2024-11-22T09:59:30.000Z', untilMono: NOW_MONO + 40_000, untilAt: '2024-11-22T10:00:40.000Z', reason: 'holder alive: MMP sequence moving' };
  const deferredBackup = { desire: { vrrpState: 'BACKUP' as const, source: 'notify', issuedAt: NOW - 1000 }, at: '2024-11-22T09:59:59.000Z', untilMono: NOW_MONO + 59_000, reason: 'no other key registered' };
  /** A MASTER whose keepalived has just taken the VIP off: everything else still up. */
  const vipTakenOff = (): Observation => ({ ...masterObservation(), vip: { held: false, interfacePresent: true, elsewhere: [] } });

  it('evaluate reports a clean BACKUP in hold-down as unhealthy, naming the reason and the time left', () => {
    const verdict = evaluate(input(backupObservation(), { state: state({ holdDown }), daemonAlive: true }));
    assert.equal(verdict.healthy, false);
    assert.deepEqual(verdict.problems, ['HOLD-DOWN: holder alive: MMP sequence moving; no promotion for 40.0 s more (until 2024-11-22T10:00:40.000Z)']);
  });

  it('evaluate reports the hold-down without a live daemon too (check reads the state file)', () => {
    assert.equal(evaluate(input(backupObservation(), { state: state({ holdDown }), daemonAlive: false })).healthy, false);
  });

  it('evaluate forgets a hold-down past its end, or recorded on another boot', () => {
    assert.equal(evaluate(input(backupObservation(), { state: state({ holdDown }), nowMono: NOW_MONO + 40_000 })).healthy, true);
    assert.equal(evaluate(input(backupObservation(), { state: state({ holdDown, bootId: 'boot-0' }) })).healthy, true);
  });

  it('evaluate counts a MASTER whose BACKUP request is deferred as healthy while the daemon lives, and says so', () => {
    const verdict = evaluate(input(vipTakenOff(), { state: state({ role: 'MASTER', deferredBackup }), daemonAlive: true }));
    assert.equal(verdict.healthy, true);
    assert.equal(verdict.inTransition, true);
    assert.equal(verdict.line, "healthy BACKUP: keepalived's BACKUP request deferred 59.0 s more (no other key registered)");
    assert.ok(verdict.problems.some((p) => /mounted on \/data without the VIP/.test(p)), 'the problems are still listed');
  });

  it('evaluate does not count a deferred BACKUP request without a live daemon, or past its bound', () => {
    assert.equal(evaluate(input(vipTakenOff(), { state: state({ role: 'MASTER', deferredBackup }), daemonAlive: false })).healthy, false);
    assert.equal(evaluate(input(vipTakenOff(), { state: state({ role: 'MASTER', deferredBackup }), daemonAlive: true, nowMono: NOW_MONO + 59_000 })).healthy, false);
  });
});

describe('evaluate: a planned switchover (fence-agent switchover)', () => {
  const running = { at: '2024-11-22T09:59:50.000Z', phase: 'handing-over' as const, startedMono: NOW_MONO - 10_000, deadlineMono: NOW_MONO + 50_000, outcome: 'running' as const, detail: null, endedAt: null };

  it('evaluate reports a healthy MASTER as unhealthy while its switchover runs, saying SWITCHOVER and the time left', () => {
    const verdict = evaluate(input(masterObservation(), { state: state({ role: 'MASTER', switchover: running }), daemonAlive: true }));
    assert.equal(verdict.healthy, false);
    assert.deepEqual(verdict.problems, ['SWITCHOVER: handing the MASTER role to the peer (50.0 s left)']);
  });

  it('evaluate keeps it unhealthy during its own demotion, which would otherwise count as healthy', () => {
    const demoting = transition('demote', 2000, 60_000, ['mysqld.stop']);
    const verdict = evaluate(input(masterObservation(), { state: state({ role: 'MASTER', switchover: running, transition: demoting }), daemonAlive: true }));
    assert.equal(verdict.healthy, false);
    assert.equal(verdict.inTransition, false);
    assert.match(verdict.line, /^UNHEALTHY MASTER: SWITCHOVER: /);
  });

  it('evaluate does not force a switchover still demoting: keepalived keeps the node MASTER until the fence is released', () => {
    const demoting = transition('demote', 2000, 60_000, ['mysqld.stop']);
    const verdict = evaluate(input(masterObservation(), { state: state({ role: 'MASTER', switchover: { ...running, phase: 'demoting' }, transition: demoting }), daemonAlive: true }));
    assert.equal(verdict.healthy, true);
    assert.equal(verdict.inTransition, false, 'nothing is off yet: a healthy MASTER');
  });

  it('evaluate forgets a switchover that ended, passed its deadline, lost its daemon or is from another boot', () => {
    const healthy = (patch: Partial<VerdictInput>): boolean => evaluate(input(masterObservation(), { daemonAlive: true, ...patch })).healthy;
    assert.equal(healthy({ state: state({ role: 'MASTER', switchover: { ...running, outcome: 'aborted', detail: 'x', endedAt: '2024-11-22T10:00:00.000Z' } }) }), true);
    assert.equal(healthy({ state: state({ role: 'MASTER', switchover: running }), nowMono: NOW_MONO + 50_000 }), true);
    assert.equal(healthy({ state: state({ role: 'MASTER', switchover: running }), daemonAlive: false }), true);
    assert.equal(healthy({ state: state({ role: 'MASTER', switchover: running, bootId: 'boot-0' }) }), true);
  });
});

describe('evaluate: maintenance (fence-agent maintenance on)', () => {
  const maintenance = { at: '2024-11-22T09:00:00.000Z', reason: 'kernel update' };
  const noMysqld = (): Observation => ({ ...masterObservation(), mysqld: { pidFilePid: null, pidFileAlive: false, pids: [], sql: null } });

  it('evaluate counts a MASTER in maintenance as healthy whatever its probes find, and lists what it does not act on', () => {
    const verdict = evaluate(input(noMysqld(), { state: state({ role: 'MASTER', maintenance }), daemonAlive: true }));
    assert.equal(verdict.healthy, true);
    assert.match(verdict.line, /^healthy MASTER: MAINTENANCE since 2024-11-22T09:00:00.000Z \(kernel update\): no action taken; not acted on: mysqld not running/);
    assert.ok(verdict.problems.length > 0, 'the problems are still reported');
  });

  it('evaluate counts a fenced MASTER in maintenance as unhealthy (self-fenced or fenced-in): it cannot serve, the VIP should move', () => {
    const bare = (): Observation => ({ ...masterObservation(), mount: backupObservation().mount, mysqld: { pidFilePid: null, pidFileAlive: false, pids: [], sql: null } });
    const selfFence = { at: '2024-11-22T09:59:00.000Z', reason: 'our key is no longer registered on /dev/sdb' };
    const fenced = evaluate(input(bare(), { state: state({ role: 'BACKUP', maintenance, selfFence }), daemonAlive: true }));
    assert.equal(fenced.healthy, false);
    assert.match(fenced.line, /^UNHEALTHY MASTER: MAINTENANCE since 2024-11-22T09:00:00.000Z \(kernel update\), but this node is fenced: it cannot serve; keepalived should give the VIP to the peer; .*FENCED: the fence was lost/);
    const fencedIn = evaluate(input(masterObservation(), { state: state({ role: 'FENCED-IN', maintenance }), daemonAlive: true }));
    assert.equal(fencedIn.healthy, false);
    assert.match(fencedIn.line, /but this node is fenced/);
  });

  it('evaluate counts a BACKUP in maintenance as unhealthy: it takes no role', () => {
    const verdict = evaluate(input(backupObservation(), { state: state({ maintenance }), daemonAlive: true }));
    assert.equal(verdict.healthy, false);
    assert.equal(verdict.line, 'UNHEALTHY BACKUP: MAINTENANCE since 2024-11-22T09:00:00.000Z (kernel update): this node takes no role until maintenance off');
  });

  it('evaluate lets a running switchover win over maintenance (the daemon refuses to start one in maintenance)', () => {
    const running = { at: '2024-11-22T09:59:50.000Z', startedMono: NOW_MONO - 10_000, deadlineMono: NOW_MONO + 50_000, outcome: 'running' as const, detail: null, endedAt: null };
    assert.equal(evaluate(input(masterObservation(), { state: state({ role: 'MASTER', maintenance, switchover: running }), daemonAlive: true })).healthy, false);
  });
});

describe('evaluate: the start hold (keepalived.startMode clean)', () => {
  const reason = 'the previous boot ended while this node held the disk';

  it('evaluate reports a clean BACKUP on start hold as unhealthy until rejoin, naming the reason', () => {
    const verdict = evaluate(input(backupObservation(), { state: state({ startHold: { at: '2024-11-22T09:59:00.000Z', reason, untilMono: null } }) }));
    assert.equal(verdict.healthy, false);
    assert.deepEqual(verdict.problems, [`START HOLD: ${reason}; not a candidate until fence-agent rejoin`]);
  });

  it('evaluate says how long a timed start hold lasts, and forgets it past its end or on another boot', () => {
    const startHold = { at: '2024-11-22T09:59:00.000Z', reason, untilMono: NOW_MONO + 30_000 };
    assert.deepEqual(evaluate(input(backupObservation(), { state: state({ startHold }) })).problems, [`START HOLD: ${reason}; not a candidate for 30.0 s more, or until fence-agent rejoin`]);
    assert.equal(evaluate(input(backupObservation(), { state: state({ startHold }), nowMono: NOW_MONO + 30_000 })).healthy, true);
    assert.equal(evaluate(input(backupObservation(), { state: state({ startHold, bootId: 'boot-0' }) })).healthy, true);
  });
});
