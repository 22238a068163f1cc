// The daemon's handle on its events: each stamped with version, time, node and cluster, kept in
// the history and handed to the hook (when one is configured), in order, without waiting.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readHistory } from '../../../src/events/history.ts';
import { EventSink } from '../../../src/events/sink.ts';
import { eventProblem, type AgentEvent } from '../../../src/events/types.ts';
import { logStub } from '../../helpers/log-stub.ts';
import { scratchDir } from '../../helpers/scratch.ts';

const { fresh } = scratchDir('sink');

const AT = new Date('2026-12-05T10:00:00.000Z');

const sink = (exec: string | null, stateDir = fresh('state')) => {
  mkdirSync(stateDir, { recursive: true });
  const { log, lines } = logStub();
  return { stateDir, lines, sink: new EventSink({ node: 'db1', cluster: 'pair1', stateDir, events: { exec, timeoutMs: 5000 }, history: { maxEntries: 1000 }, log, now: () => AT }) };
};

describe('EventSink', () => {
  it('stamps each event and keeps it in the history; no hook is run without events.exec', async () => {
    const { stateDir, sink: events } = sink(null);
    events.emit({ kind: 'fenced', role: 'MASTER', detail: 'FENCE LOST: lease taken' }, { kind: 'self-fenced', role: 'FENCED', detail: 'x', durationMs: 900, outcome: 'ok' });
    await events.idle();
    assert.deepEqual(readHistory(stateDir).entries, [
      { version: 1, kind: 'fenced', at: '2026-12-05T10:00:00.000Z', node: 'db1', cluster: 'pair1', role: 'MASTER', detail: 'FENCE LOST: lease taken' },
      { version: 1, kind: 'self-fenced', at: '2026-12-05T10:00:00.000Z', node: 'db1', cluster: 'pair1', role: 'FENCED', detail: 'x', durationMs: 900, outcome: 'ok' },
    ]);
    await events.stop();
  });

  it('hands the same events to the hook, in order, as the history keeps them', async () => {
    const out = fresh('hook.out');
    const hook = fresh('hook');
    writeFileSync(hook, `#!/bin/sh\ncat >> ${out}\n`, { mode: 0o700 });
    const { stateDir, sink: events } = sink(hook);
    events.emit({ kind: 'maintenance', role: 'BACKUP', detail: 'on', outcome: 'on' });
    events.emit({ kind: 'maintenance', role: 'BACKUP', detail: 'off', outcome: 'off' });
    await events.idle();
    const handed = readFileSync(out, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as AgentEvent);
    assert.deepEqual(handed, readHistory(stateDir).entries);
    assert.equal(handed.length, 2);
    for (const event of handed) assert.equal(eventProblem(event), null);
    await events.stop();
  });

  it('an unwritable history and a failing hook throw nothing into the caller', async () => {
    const { lines, sink: events } = sink(fresh('no-such-hook'), fresh('state'));
    const stateDirGone = fresh('gone');
    const broken = new EventSink({ node: 'db1', cluster: 'pair1', stateDir: stateDirGone, events: { exec: fresh('no-such-hook'), timeoutMs: 5000 }, history: { maxEntries: 1000 }, log: logStub().log });
    assert.doesNotThrow(() => broken.emit({ kind: 'promotion', role: 'MASTER', detail: 'x', outcome: 'ok', durationMs: 1 }));
    assert.equal(existsSync(stateDirGone), false);
    await broken.idle();
    assert.doesNotThrow(() => events.emit({ kind: 'demotion', role: 'BACKUP', detail: 'y', outcome: 'ok', durationMs: 1 }));
    await events.idle();
    assert.match(lines.map((l) => l.message).join('\n'), /events\.exec: .*no-such-hook for the demotion event: could not run: .*ENOENT/);
    await events.stop();
    await broken.stop();
  });
});
