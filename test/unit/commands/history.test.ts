// `fence-agent history`: its output (text and --json) from a history file written as the daemon
// writes it, its --limit, and its exit codes. The command's main() is called in-process, and the
// yargs surface through runYargs (test/cli spawns the built dist/cli.cjs, which these tests do not
// build): the command writes through a function the test gives it; the CLI's stderr is captured.
import { describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_LIMIT, formatEvent, main, parseLimit, type HistoryReport } from '../../../src/commands/history.ts';
import { runYargs } from '../../../src/cli/yargs.ts';
import { FenceAgentError } from '../../../src/errors.ts';
import { HistoryWriter, historyFilePath } from '../../../src/events/history.ts';
import type { AgentEvent } from '../../../src/events/types.ts';
import { logStub } from '../../helpers/log-stub.ts';
import { scratchDir } from '../../helpers/scratch.ts';
import { agentEvent } from '../../helpers/events.ts';

const { fresh } = scratchDir('history-cmd');

const event = agentEvent;

/** A configuration file whose stateDir holds `events` as the daemon appends them. */
const setup = (events: AgentEvent[]): { config: string; stateDir: string } => {
  const dir = fresh('node');
  const stateDir = path.join(dir, 'state');
  mkdirSync(stateDir, { recursive: true, mode: 0o755 });
  const history = new HistoryWriter({ stateDir, maxEntries: 1000, log: logStub().log });
  for (const e of events) history.append(e);
  const config = path.join(dir, 'config.json');
  const raw = { node: 'db1', cluster: 'pair1', vip: { address: '10.0.0.100', interface: 'eth0' }, disk: { device: '/dev/sdb1', mountpoint: '/data' }, mysqld: { systemdUnit: 'mariadb' }, fence: { method: 'none' }, stateDir, runDir: path.join(dir, 'run') };
  writeFileSync(config, JSON.stringify(raw), { mode: 0o600 });
  return { config, stateDir };
};

/** Runs the command's main() with its output captured. */
const run = (config: string, json: boolean, limit: string | undefined): { result: number; stdout: string } => {
  let stdout = '';
  const result = main(config, json, limit, (text) => (stdout += text));
  return { result, stdout };
};

/** Runs the CLI's yargs surface with stderr captured (stdout is node:test's own channel: not touched). */
async function cli(argv: string[]): Promise<{ result: number; stderr: string }> {
  let stderr = '';
  const err = mock.method(process.stderr, 'write', (chunk: string) => ((stderr += chunk), true));
  try {
    return { result: await runYargs(argv), stderr };
  } finally {
    err.mock.restore();
  }
}

describe('fence-agent history', () => {
  it('prints the events oldest first, one line each: time, kind, outcome, duration, role, why', () => {
    const events = [event(1, { kind: 'fenced', role: 'MASTER', durationMs: undefined, outcome: undefined, detail: 'FENCE LOST: lease taken' }), event(2, { kind: 'self-fenced', role: 'FENCED', durationMs: 900 }), event(3, { kind: 'maintenance', role: 'BACKUP', durationMs: undefined, outcome: 'on', detail: 'maintenance on (kernel update): no action on this node until maintenance off' })];
    for (const e of events) if (e.durationMs === undefined) delete e.durationMs;
    for (const e of events) if (e.outcome === undefined) delete e.outcome;
    const { config, stateDir } = setup(events);
    const { result, stdout } = run(config, false, undefined);
    assert.equal(result, 0);
    assert.equal(
      stdout,
      [
        `history of db1 (${historyFilePath(stateDir)}): 3 events, oldest first`,
        '2026-12-05T10:00:01.000Z  fenced         -                    -  MASTER     FENCE LOST: lease taken',
        '2026-12-05T10:00:02.000Z  self-fenced    ok               0.9 s  FENCED     event 2',
        '2026-12-05T10:00:03.000Z  maintenance    on                   -  BACKUP     maintenance on (kernel update): no action on this node until maintenance off',
        '',
      ].join('\n'),
    );
    assert.equal(formatEvent(events[1]!), stdout.split('\n')[2]);
  });

  it(`--limit N keeps the newest N (default ${DEFAULT_LIMIT}), still oldest first`, () => {
    const { config } = setup(Array.from({ length: 25 }, (_, i) => event(i + 1)));
    const three = run(config, false, '3');
    assert.deepEqual(three.stdout.trim().split('\n').slice(1).map((line) => line.replace(/^.* MASTER +/, '')), ['event 23', 'event 24', 'event 25']);
    assert.match(three.stdout, /: the last 3 of 25 events, oldest first\n/);
    const byDefault = run(config, false, undefined);
    assert.equal(byDefault.stdout.trim().split('\n').length, 1 + DEFAULT_LIMIT);
  });

  it('--json gives the entries as the daemon wrote them, with the file, the total and the lines skipped', () => {
    const { config, stateDir } = setup([event(1), event(2), event(3)]);
    writeFileSync(historyFilePath(stateDir), '{"torn', { flag: 'a' });
    const { result, stdout } = run(config, true, '2');
    assert.equal(result, 0);
    const report = JSON.parse(stdout) as HistoryReport;
    assert.deepEqual(report, { version: 1, node: 'db1', file: historyFilePath(stateDir), total: 3, skipped: 1, entries: [event(2), event(3)] });
  });

  it('a torn line is skipped and said so in the text output', () => {
    const { config, stateDir } = setup([event(1)]);
    writeFileSync(historyFilePath(stateDir), '{"version":1,"ki', { flag: 'a' });
    const { stdout } = run(config, false, undefined);
    assert.match(stdout, /: 1 events, oldest first\n.*event 1\n\(1 lines skipped: torn by a crash, or not an event of this version\)\n$/);
  });

  it('no history yet is not an error', () => {
    const { config, stateDir } = setup([]);
    const { result, stdout } = run(config, false, undefined);
    assert.equal(result, 0);
    assert.equal(stdout, `no events recorded yet on db1 (${historyFilePath(stateDir)})\n`);
  });

  it('a history file that cannot be read is EHISTORY, exit 1', () => {
    const { config, stateDir } = setup([]);
    mkdirSync(historyFilePath(stateDir));
    assert.throws(() => main(config, false, undefined), (error: unknown) => error instanceof FenceAgentError && error.code === 'EHISTORY' && error.exitCode === 1 && /cannot read .*history\.jsonl: .*EISDIR/.test(error.message));
  });

  it('a bad --limit is a usage error (exit 2) naming what was given, before the configuration is read', () => {
    assert.equal(parseLimit('1'), 1);
    assert.equal(parseLimit('100000'), 100000);
    for (const bad of ['0', '-1', 'abc', '1.5', '100001', '', ' 3', '1e3']) {
      assert.throws(() => parseLimit(bad), (error: unknown) => error instanceof FenceAgentError && error.code === 'EUSAGE' && error.exitCode === 2 && error.message === `--limit: expected an integer 1..100000, got ${JSON.stringify(bad)}`, bad);
    }
    assert.throws(() => main(fresh('no-config.json'), false, 'abc'), { code: 'EUSAGE' });
  });

  it('is a command of the CLI: exit 2 and one stderr line for a bad --limit, 6 for a bad configuration', async () => {
    const { config } = setup([event(1)]);
    const bad = await cli(['history', '--config', config, '--limit', 'many']);
    assert.equal(bad.result, 2);
    assert.equal(bad.stderr, 'fence-agent history: --limit: expected an integer 1..100000, got "many"\n');
    const missing = await cli(['history', '--config', fresh('missing.json')]);
    assert.equal(missing.result, 6);
    assert.match(missing.stderr, /^fence-agent history: config .*missing\.json: cannot read it \(ENOENT\)\n$/);
  });
});
