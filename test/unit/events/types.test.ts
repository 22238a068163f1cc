// What counts as an event of this version (the history's reader skips anything else).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EVENT_KINDS, eventProblem } from '../../../src/events/types.ts';

const good = { version: 1, kind: 'promotion', at: '2026-12-05T10:00:00.000Z', node: 'db1', cluster: 'pair1', role: 'MASTER', detail: 'MASTER requested by notify' };

describe('eventProblem', () => {
  it('accepts every kind, with or without duration and outcome', () => {
    for (const kind of EVENT_KINDS) assert.equal(eventProblem({ ...good, kind }), null, kind);
    assert.equal(eventProblem({ ...good, durationMs: 4200, outcome: 'ok' }), null);
  });

  it('names what is wrong: another version, an unknown kind, a missing field, a negative duration', () => {
    assert.equal(eventProblem([good]), 'expected an object');
    assert.equal(eventProblem({ ...good, version: 2 }), 'version: expected 1, got 2');
    assert.match(eventProblem({ ...good, kind: 'reboot' }) ?? '', /^kind: expected one of fenced\|self-fenced\|fenced-in\|promotion\|demotion\|failover\|local-restart\|maintenance$/);
    assert.equal(eventProblem({ ...good, detail: undefined }), 'detail: expected a string');
    assert.equal(eventProblem({ ...good, durationMs: -1 }), 'durationMs: expected ms');
    assert.equal(eventProblem({ ...good, outcome: 1 }), 'outcome: expected a string');
  });
});
