// The history file: appended in order, read back oldest first, bounded, a torn line skipped and
// never glued to the next event, and a write failure logged once per kind, never thrown.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HistoryWriter, historyFilePath, parseHistory, readHistory, trimSlack } from '../../../src/events/history.ts';
import type { AgentEvent } from '../../../src/events/types.ts';
import { logStub } from '../../helpers/log-stub.ts';
import { scratchDir } from '../../helpers/scratch.ts';
import { agentEvent } from '../../helpers/events.ts';

const { fresh } = scratchDir('history');

const event = (n: number, patch: Partial<AgentEvent> = {}): AgentEvent => agentEvent(n, { durationMs: 100 + n, ...patch });

/** A fresh state directory and a writer over it. */
const writer = (maxEntries = 1000) => {
  const stateDir = fresh('state');
  mkdirSync(stateDir);
  const { log, lines } = logStub();
  return { stateDir, lines, history: new HistoryWriter({ stateDir, maxEntries, log }) };
};

const details = (stateDir: string): string[] => readHistory(stateDir).entries.map((e) => e.detail);

describe('HistoryWriter and readHistory', () => {
  it('appends one JSON line per event to <stateDir>/history.jsonl, read back oldest first and equal', () => {
    const { stateDir, history } = writer();
    for (let n = 1; n <= 3; n++) history.append(event(n));
    assert.equal(history.file, path.join(stateDir, 'history.jsonl'));
    const text = readFileSync(historyFilePath(stateDir), 'utf8');
    assert.equal(text.split('\n').length, 4, 'three lines and the final newline');
    assert.deepEqual(readHistory(stateDir), { entries: [event(1), event(2), event(3)], skipped: 0 });
  });

  it('a history written by an earlier daemon is appended to, not replaced (it survives restarts)', () => {
    const { stateDir, history } = writer();
    history.append(event(1));
    const { log } = logStub();
    const next = new HistoryWriter({ stateDir, maxEntries: 1000, log });
    next.append(event(2));
    assert.deepEqual(details(stateDir), ['event 1', 'event 2']);
  });

  it('no file yet reads as an empty history', () => {
    assert.deepEqual(readHistory(fresh('none')), { entries: [], skipped: 0 });
  });

  it('a torn last line (a crash mid-write) is skipped on read, and the next event starts a line of its own', () => {
    const { stateDir, history } = writer();
    writeFileSync(historyFilePath(stateDir), `${JSON.stringify(event(1))}\n${JSON.stringify(event(2)).slice(0, 40)}`);
    assert.deepEqual(readHistory(stateDir), { entries: [event(1)], skipped: 1 });
    history.append(event(3));
    assert.deepEqual(readHistory(stateDir), { entries: [event(1), event(3)], skipped: 1 });
  });

  it('lines that are not events of this version are counted as skipped, blank lines ignored', () => {
    const lines = ['{"version":2,"kind":"promotion"}', 'not json', JSON.stringify({ ...event(1), kind: 'reboot' }), '', JSON.stringify(event(2)), '   '];
    assert.deepEqual(parseHistory(lines.join('\n')), { entries: [event(2)], skipped: 3 });
  });

  it('stays bounded: past maxEntries plus the slack it is cut back to the newest maxEntries, in order', () => {
    const maxEntries = 10;
    assert.equal(trimSlack(maxEntries), 10);
    assert.equal(trimSlack(1000), 100);
    const { stateDir, history } = writer(maxEntries);
    for (let n = 1; n <= 20; n++) history.append(event(n));
    assert.equal(readHistory(stateDir).entries.length, 20, 'within the slack: not trimmed yet');
    history.append(event(21));
    assert.deepEqual(details(stateDir), Array.from({ length: 10 }, (_, i) => `event ${i + 12}`));
    for (let n = 22; n <= 200; n++) history.append(event(n));
    const entries = readHistory(stateDir).entries;
    assert.ok(entries.length <= maxEntries + trimSlack(maxEntries), `${entries.length} entries`);
    assert.equal(entries.at(-1)?.detail, 'event 200');
    assert.deepEqual(readdirSync(stateDir), ['history.jsonl'], 'no temp file left');
  });

  it('a file already over its bound when the daemon starts is trimmed at the next append, torn lines dropped', () => {
    const stateDir = fresh('big');
    mkdirSync(stateDir);
    const old = Array.from({ length: 30 }, (_, i) => JSON.stringify(event(i + 1))).join('\n');
    writeFileSync(historyFilePath(stateDir), `${old}\n{"torn`);
    const { log } = logStub();
    new HistoryWriter({ stateDir, maxEntries: 10, log }).append(event(31));
    assert.deepEqual(readHistory(stateDir), { entries: Array.from({ length: 10 }, (_, i) => event(i + 22)), skipped: 0 });
  });

  it('a history that cannot be written is logged once per kind of failure, never thrown, and appended to again once it can be', () => {
    const { stateDir, history, lines } = writer();
    history.append(event(1));
    // a directory where the file should be: EISDIR on every append (root ignores mode bits)
    rmSync(historyFilePath(stateDir));
    mkdirSync(historyFilePath(stateDir));
    for (let n = 2; n <= 5; n++) assert.doesNotThrow(() => history.append(event(n)));
    const errors = lines.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1, errors.map((l) => l.message).join('\n'));
    assert.match(errors[0]?.message ?? '', /^history: cannot write .*history\.jsonl \(.*EISDIR.*\); events are not kept there until it can be written \(logged once per kind of failure\)$/);
    // another kind of failure is logged once too
    rmSync(historyFilePath(stateDir), { recursive: true });
    rmSync(stateDir, { recursive: true });
    history.append(event(6));
    history.append(event(7));
    assert.equal(lines.filter((l) => l.level === 'error').length, 2);
    assert.match(lines.filter((l) => l.level === 'error')[1]?.message ?? '', /ENOENT/);
    mkdirSync(stateDir);
    history.append(event(8));
    assert.deepEqual(details(stateDir), ['event 8']);
    assert.match(lines.at(-1)?.message ?? '', /^history: .* written again$/);
  });

  it('a history file that exists but cannot be read makes readHistory throw its fs error', () => {
    const stateDir = fresh('unreadable');
    mkdirSync(historyFilePath(stateDir), { recursive: true });
    assert.throws(() => readHistory(stateDir), { code: 'EISDIR' });
  });
});
