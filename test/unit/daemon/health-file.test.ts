// The daemon's health file for keepalived's track_file: the value it writes after fall/rise
// verdicts in a row, the atomic replace, the log line per change, and the loop. Real files in a
// temp dir; the verdicts are scripted.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HealthFile, healthFilePath, type HealthFileOptions } from '../../../src/daemon/health-file.ts';
import type { Verdict } from '../../../src/health.ts';
import type { Logger } from '../../../src/log.ts';
import { delay } from '../../../lab/wait.ts';
import { scratchDir } from '../../helpers/scratch.ts';

const scratch = scratchDir('health-file');

const healthy: Verdict = { healthy: true, known: true, role: 'BACKUP', inTransition: false, line: 'healthy BACKUP: no VIP, not mounted, no mysqld, fence not held', problems: [] };
const unhealthy: Verdict = { healthy: false, known: true, role: 'MASTER', inTransition: false, line: 'UNHEALTHY MASTER: mysqld not running', problems: ['mysqld not running'] };

interface LogCall {
  level: 'info' | 'warn' | 'error';
  message: string;
}

const logStub = (): { log: Logger; calls: LogCall[] } => {
  const calls: LogCall[] = [];
  const record =
    (level: LogCall['level']) =>
    (first: unknown, second?: unknown): void => {
      calls.push({ level, message: typeof first === 'string' ? first : String(second) });
    };
  return { log: { info: record('info'), warn: record('warn'), error: record('error') } as unknown as Logger, calls };
};

let files: HealthFile[] = [];
afterEach(async () => {
  await Promise.all(files.map((f) => f.stop()));
  files = [];
});

const make = (overrides: Partial<HealthFileOptions> = {}): { health: HealthFile; file: string; calls: LogCall[] } => {
  const dir = scratch.fresh('run');
  mkdirSync(dir);
  const { log, calls } = logStub();
  const file = healthFilePath(dir);
  const health = new HealthFile({ file, intervalMs: 1000, fall: 2, rise: 3, evaluate: () => Promise.resolve(healthy), log, ...overrides });
  files.push(health);
  return { health, file, calls };
};

const value = (file: string): string => readFileSync(file, 'utf8');

describe('HealthFile', () => {
  it('healthFilePath is <runDir>/health', () => {
    assert.equal(healthFilePath('/run/fence-agent'), '/run/fence-agent/health');
  });

  it('fault writes 1 at once without waiting for fall, and healthy verdicts need rise in a row to undo it', () => {
    const { health, file, calls } = make();
    health.apply(healthy);
    assert.equal(value(file), '0\n');
    health.fault('UNHEALTHY: self-fencing (key removed)');
    assert.equal(value(file), '1\n', 'fall is 2: apply would have waited for a second verdict');
    assert.match(calls.at(-1)?.message ?? '', /health 1 for keepalived \(FAULT\) at once: UNHEALTHY: self-fencing/);
    health.apply(healthy);
    health.apply(healthy);
    assert.equal(value(file), '1\n');
    health.apply(healthy);
    assert.equal(value(file), '0\n', 'rise is 3');
  });

  it('apply writes the first verdict at once, whatever fall and rise say', () => {
    const { health, file } = make();
    assert.equal(existsSync(file), false);
    health.apply(unhealthy);
    assert.equal(value(file), '1\n');
    assert.equal(health.snapshot().value, 1);
  });

  it('apply writes 1 only after fall unhealthy verdicts in a row', () => {
    const { health, file } = make({ fall: 2 });
    health.apply(healthy);
    health.apply(unhealthy);
    assert.equal(value(file), '0\n', 'one unhealthy verdict is not enough');
    assert.equal(health.snapshot().pending, 1);
    health.apply(healthy);
    health.apply(unhealthy);
    assert.equal(value(file), '0\n', 'a healthy verdict between restarts the count');
    health.apply(unhealthy);
    assert.equal(value(file), '1\n');
    assert.equal(health.snapshot().pending, 0);
  });

  it('apply writes 0 again only after rise healthy verdicts in a row', () => {
    const { health, file } = make({ rise: 3 });
    health.apply(unhealthy);
    health.apply(healthy);
    health.apply(healthy);
    assert.equal(value(file), '1\n');
    health.apply(healthy);
    assert.equal(value(file), '0\n');
  });

  it('apply replaces the file atomically and leaves no temporary file', () => {
    const { health, file } = make({ fall: 1 });
    writeFileSync(file, '0\n');
    health.apply(unhealthy);
    assert.equal(value(file), '1\n');
    assert.deepEqual(readdirSync(path.dirname(file)), ['health']);
  });

  it('apply logs one line per change of the value, naming the verdict', () => {
    const { health, calls } = make({ fall: 1, rise: 1 });
    health.apply(healthy);
    health.apply(healthy);
    health.apply(unhealthy);
    health.apply(unhealthy);
    health.apply(healthy);
    assert.deepEqual(
      calls.map((c) => `${c.level} ${c.message}`),
      [
        `info health 0 for keepalived: ${healthy.line}`,
        `warn health 1 for keepalived (FAULT): ${unhealthy.line}`,
        `info health back to 0 for keepalived: ${healthy.line}`,
      ],
    );
  });

  it('apply logs an error and retries at the next verdict when the file cannot be written', () => {
    const { log, calls } = logStub();
    const dir = scratch.fresh('missing');
    const health = new HealthFile({ file: healthFilePath(dir), intervalMs: 1000, fall: 1, rise: 1, evaluate: () => Promise.resolve(healthy), log });
    health.apply(unhealthy);
    assert.equal(health.snapshot().value, null);
    assert.match(calls[0]?.message ?? '', /cannot write the health file/);
    mkdirSync(dir);
    health.apply(unhealthy);
    assert.equal(value(healthFilePath(dir)), '1\n');
  });

  it('apply keeps the last verdict for the snapshot and calls onChange only when the health or the problems change, not the wording', () => {
    let changes = 0;
    const { health } = make({ onChange: () => changes++ });
    assert.equal(health.snapshot().verdict, null);
    health.apply(healthy);
    assert.equal(changes, 1, 'the first verdict is a change');
    health.apply({ ...healthy, line: 'healthy BACKUP: reworded' });
    assert.equal(changes, 1, 'a new line with the same health and problems is not');
    assert.equal(health.snapshot().verdict?.line, 'healthy BACKUP: reworded');
    health.apply(unhealthy);
    health.apply(unhealthy);
    assert.equal(changes, 2);
    health.apply({ ...unhealthy, problems: ['mysqld not running', 'not mounted'] });
    assert.equal(changes, 3, 'another problem is a change');
    assert.deepEqual(health.snapshot().verdict?.problems, ['mysqld not running', 'not mounted']);
  });

  it('evaluateNow counts a failed evaluation as an unhealthy verdict', async () => {
    const { health, file } = make({ evaluate: () => Promise.reject(new Error('probe exploded')) });
    await health.evaluateNow();
    assert.equal(value(file), '1\n');
    assert.match(health.snapshot().line ?? '', /the evaluation failed \(probe exploded\)/);
  });

  it('start evaluates at once and then every intervalMs; stop ends the loop and keeps the value', async () => {
    let count = 0;
    const { health, file } = make({ intervalMs: 100, fall: 1, evaluate: () => Promise.resolve(++count >= 3 ? unhealthy : healthy) });
    health.start();
    await delay(50);
    assert.equal(value(file), '0\n', 'the first verdict is written before the first interval');
    await delay(400);
    assert.equal(value(file), '1\n');
    await health.stop();
    const after = count;
    await delay(300);
    assert.equal(count, after, 'no evaluation after stop');
    assert.equal(value(file), '1\n', 'stop leaves the file as it was');
  });

  it('a tick while an evaluation is still running is skipped, not queued', async () => {
    let running = 0;
    let most = 0;
    const { health } = make({
      intervalMs: 50,
      evaluate: async () => {
        most = Math.max(most, ++running);
        await delay(180);
        running--;
        return healthy;
      },
    });
    health.start();
    await delay(500);
    await health.stop();
    assert.equal(most, 1);
  });
});
