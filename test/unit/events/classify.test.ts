// Which events the daemon's facts make: an ended transition (kind, mode, reason, outcome, steps,
// the roles around it, the fence's last takeover), a lost fence, maintenance on and off.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fenceLostEvent, maintenanceEvent, transitionEvents, type TransitionFacts } from '../../../src/events/classify.ts';
import type { TransitionRecord } from '../../../src/state.ts';
import { promotion } from '../metrics/fixtures.ts';

/** An ended graceful demotion for keepalived's BACKUP: 2.5 s. */
const demotion = (patch: Partial<TransitionRecord> = {}): TransitionRecord =>
  promotion({
    kind: 'demote',
    reason: 'fifo',
    desire: { vrrpState: 'BACKUP', source: 'fifo', issuedAt: 0, detail: 'VI_1' },
    durationMs: 2500,
    steps: [
      { name: 'mysqld.stop', startedAt: '', deadlineMs: 60000, durationMs: 2000, outcome: 'ok', detail: null },
      { name: 'unmount', startedAt: '', deadlineMs: 30000, durationMs: 400, outcome: 'ok', detail: null },
      { name: 'fence.release', startedAt: '', deadlineMs: 5000, durationMs: 100, outcome: 'ok', detail: null },
    ],
    ...patch,
  });

const facts = (patch: Partial<TransitionFacts> = {}): TransitionFacts => ({
  record: promotion(),
  mode: 'graceful',
  roleBefore: 'BACKUP',
  roleAfter: 'MASTER',
  node: 'db1',
  takeover: null,
  selfFenceReason: null,
  restartAttempt: null,
  ...patch,
});

const TAKEOVER = { from: 'db2', detail: 'lease /nfs/lease taken over from db2 (pid 812, counter 41): unchanged for 16.0 s on this node\'s clock' };

describe('transitionEvents', () => {
  it('a promotion that found the fence free is a promotion, with its outcome, duration and who asked', () => {
    assert.deepEqual(transitionEvents(facts()), [{ kind: 'promotion', role: 'MASTER', outcome: 'ok', durationMs: 4200, detail: 'MASTER requested by notify' }]);
  });

  it('a promotion whose acquire took the fence over from the peer is a failover, naming the peer and how', () => {
    const [event, ...rest] = transitionEvents(facts({ takeover: TAKEOVER }));
    assert.deepEqual(rest, []);
    assert.equal(event?.kind, 'failover');
    assert.equal(event?.outcome, 'ok');
    assert.equal(event?.durationMs, 4200);
    assert.equal(event?.detail, `took the MASTER role from db2: ${TAKEOVER.detail}; MASTER requested by notify`);
  });

  it('a takeover is no failover when the promotion did not end ok, did not run the acquire, or took the record of this node itself', () => {
    const rolledBack = transitionEvents(facts({ takeover: TAKEOVER, roleAfter: 'BACKUP', record: promotion({ outcome: 'rolled-back', error: 'promotion failed: mount: EIO' }) }));
    assert.deepEqual(rolledBack.map((e) => [e.kind, e.outcome, e.detail]), [['promotion', 'rolled-back', 'MASTER requested by notify; promotion failed: mount: EIO']]);
    const held = promotion();
    held.steps[0] = { ...held.steps[0]!, outcome: 'skipped' };
    assert.equal(transitionEvents(facts({ takeover: TAKEOVER, record: held }))[0]?.kind, 'promotion', 'the fence was already held: an older takeover is not this one');
    assert.equal(transitionEvents(facts({ takeover: { from: 'db1', detail: 'lease taken over from db1 (another boot)' } }))[0]?.kind, 'promotion');
  });

  it('a demotion is a demotion; the transition reason is named when it is not the request source', () => {
    assert.deepEqual(transitionEvents(facts({ record: demotion(), roleBefore: 'MASTER', roleAfter: 'BACKUP' })), [{ kind: 'demotion', role: 'BACKUP', outcome: 'ok', durationMs: 2500, detail: 'BACKUP requested by fifo (VI_1)' }]);
    const shutdown = demotion({ reason: 'shutdown', desire: { vrrpState: 'STOP', source: 'shutdown', issuedAt: 0 } });
    assert.equal(transitionEvents(facts({ record: shutdown, roleAfter: 'BACKUP' }))[0]?.detail, 'STOP requested by shutdown');
    const switchover = demotion({ reason: 'notify', desire: { vrrpState: 'BACKUP', source: 'switchover', issuedAt: 0 } });
    assert.equal(transitionEvents(facts({ record: switchover, roleAfter: 'BACKUP' }))[0]?.detail, 'notify: BACKUP requested by switchover');
  });

  it('the self-fence demotion is self-fenced, with the reason the fence was lost', () => {
    const record = demotion({ reason: 'self-fence', durationMs: 900 });
    assert.deepEqual(transitionEvents(facts({ record, mode: 'fenced', roleBefore: 'MASTER', roleAfter: 'FENCED', selfFenceReason: 'lease taken over by db2' })), [
      { kind: 'self-fenced', role: 'FENCED', outcome: 'ok', durationMs: 900, detail: 'lease taken over by db2: mysqld and the filesystem gone' },
    ]);
  });

  it('a self-fence that could not verify the unmount is self-fenced (failed) and then fenced-in', () => {
    const record = demotion({ reason: 'self-fence', outcome: 'failed', error: 'unmount: EBUSY' });
    const events = transitionEvents(facts({ record, mode: 'fenced', roleBefore: 'MASTER', roleAfter: 'FENCED-IN', selfFenceReason: 'key removed' }));
    assert.deepEqual(events.map((e) => [e.kind, e.role, e.outcome]), [['self-fenced', 'FENCED-IN', 'failed'], ['fenced-in', 'FENCED-IN', undefined]]);
    assert.equal(events[0]?.detail, 'key removed: the self-fence demotion did not finish; unmount: EBUSY');
    assert.match(events[1]?.detail ?? '', /^demote failed: the filesystem could not be verified gone; the fence is kept .*; unmount: EBUSY$/);
    assert.equal(events[1]?.durationMs, undefined);
  });

  it('a node already fenced-in makes no fenced-in event again, and its retries that leave it fenced-in make none at all', () => {
    const failedAgain = demotion({ reason: 'fenced-in-retry', outcome: 'failed', error: 'unmount: EBUSY' });
    assert.deepEqual(transitionEvents(facts({ record: failedAgain, roleBefore: 'FENCED-IN', roleAfter: 'FENCED-IN' })), []);
    const cleared = demotion({ reason: 'fenced-in-retry' });
    assert.deepEqual(transitionEvents(facts({ record: cleared, roleBefore: 'FENCED-IN', roleAfter: 'BACKUP' })).map((e) => [e.kind, e.outcome]), [['demotion', 'ok']]);
    const promoteFailed = promotion({ outcome: 'failed', error: 'rollback: unmount: EBUSY' });
    assert.deepEqual(transitionEvents(facts({ record: promoteFailed, roleBefore: 'FENCED-IN', roleAfter: 'FENCED-IN' })).map((e) => e.kind), ['promotion']);
  });

  it('the promotion of a local restart is local-restart, with which attempt it was', () => {
    const record = promotion({ reason: 'mysqld-restart', durationMs: 3100 });
    record.steps[0] = { ...record.steps[0]!, outcome: 'skipped' };
    assert.deepEqual(transitionEvents(facts({ record, roleBefore: 'MASTER', restartAttempt: '1 of 3 within 300000 ms' })), [
      { kind: 'local-restart', role: 'MASTER', outcome: 'ok', durationMs: 3100, detail: 'mysqld gone on the MASTER: restarted in place (1 of 3 within 300000 ms)' },
    ]);
  });

  it('a transition that has not ended makes nothing; control characters in a reason stay on one line', () => {
    assert.deepEqual(transitionEvents(facts({ record: promotion({ outcome: null, durationMs: null }) })), []);
    const record = promotion({ desire: { vrrpState: 'MASTER', source: 'manual', issuedAt: 0, detail: 'line one\nline two' }, reason: 'manual' });
    assert.equal(transitionEvents(facts({ record }))[0]?.detail, 'MASTER requested by manual (line one\\nline two)');
  });
});

describe('fenceLostEvent and maintenanceEvent', () => {
  it('the fence lost is fenced, on the role the node still has', () => {
    assert.deepEqual(fenceLostEvent('lease taken over by db2', 'MASTER'), { kind: 'fenced', role: 'MASTER', detail: 'FENCE LOST: lease taken over by db2' });
  });

  it('maintenance on carries the operator\'s reason; off says since when it was on', () => {
    assert.deepEqual(maintenanceEvent({ on: true, now: { at: '2026-12-05T10:00:00.000Z', reason: 'kernel update' } }, 'BACKUP'), {
      kind: 'maintenance',
      role: 'BACKUP',
      outcome: 'on',
      detail: 'maintenance on (kernel update): no action on this node until maintenance off',
    });
    assert.deepEqual(maintenanceEvent({ on: false, was: { at: '2026-12-05T10:00:00.000Z', reason: null } }, 'MASTER'), {
      kind: 'maintenance',
      role: 'MASTER',
      outcome: 'off',
      detail: 'maintenance off (on since 2026-12-05T10:00:00.000Z): acting again',
    });
  });
});
