import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { mtimeMsBounded, readFileBounded } from '../../src/bounded-io.ts';
import { FenceAgentError } from '../../src/errors.ts';
import { isAlive } from '../../src/proc.ts';
import { scratchDir } from '../helpers/scratch.ts';

const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'inline-io.ts');
const PROJECT = path.resolve(import.meta.dirname, '..', '..');

const { fresh } = scratchDir('bounded-io');


const fifo = (): string => {
  const file = fresh('fifo');
  execFileSync('mkfifo', [file]);
  return file;
};

const isTimeout = (error: unknown): boolean => {
  assert.ok(error instanceof FenceAgentError, `expected a FenceAgentError, got ${String(error)}`);
  assert.equal(error.code, 'ETIMEDOUT');
  return true;
};

/** Live (non-zombie) processes whose command line is exactly `argv`. */
const processesRunning = (argv: readonly string[]): number[] => {
  const wanted = `${argv.join('\0')}\0`;
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8') === wanted && isAlive(pid)) pids.push(pid);
    } catch {
      // gone
    }
  }
  return pids;
};

const environOf = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return '';
  }
};

describe('readFileBounded (child strategy)', () => {
  it('readFileBounded returns the content of a regular file', async () => {
    const file = fresh('lease');
    writeFileSync(file, '{"holder":"db1"}\nsecond line\n');
    assert.equal(await readFileBounded(file, 2000), '{"holder":"db1"}\nsecond line\n');
  });

  it('readFileBounded returns an empty string for an empty file', async () => {
    const file = fresh('empty');
    writeFileSync(file, '');
    assert.equal(await readFileBounded(file, 2000), '');
  });

  it('readFileBounded returns null for a file that does not exist', async () => {
    assert.equal(await readFileBounded(fresh('missing'), 2000), null);
  });

  it('readFileBounded rejects with EIO when the path cannot be read as a file', async () => {
    const sub = fresh('directory');
    mkdirSync(sub);
    await assert.rejects(readFileBounded(sub, 2000), (error: unknown) => {
      assert.ok(error instanceof FenceAgentError);
      assert.equal(error.code, 'EIO');
      assert.match(error.message, /Is a directory/);
      return true;
    });
  });

  it('readFileBounded rejects with ETIMEDOUT close to its timeout when the read never returns', async () => {
    const file = fifo();
    const started = performance.now();
    await assert.rejects(readFileBounded(file, 300), isTimeout);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 290, `rejected after ${elapsed} ms, before the 300 ms timeout`);
    assert.ok(elapsed < 1500, `rejected after ${elapsed} ms, long after the 300 ms timeout`);
  });

  it('readFileBounded leaves no reader process behind after a timeout', async () => {
    const file = fifo();
    await assert.rejects(readFileBounded(file, 200), isTimeout);
    const deadline = Date.now() + 2000;
    while (processesRunning(['cat', '--', file]).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(processesRunning(['cat', '--', file]), []);
  });
});

describe('mtimeMsBounded (child strategy)', () => {
  it('mtimeMsBounded returns the modification time of a file within a few ms of fs.statSync', async () => {
    const file = fresh('stamped');
    writeFileSync(file, 'x');
    const mtimeMs = await mtimeMsBounded(file, 2000);
    assert.ok(mtimeMs !== null);
    assert.ok(Math.abs(mtimeMs - statSync(file).mtimeMs) <= 2, `${mtimeMs} vs ${statSync(file).mtimeMs}`);
  });

  it('mtimeMsBounded keeps millisecond precision for an explicitly set mtime', async () => {
    const file = fresh('utimes');
    writeFileSync(file, 'x');
    const when = new Date('2024-11-22T10:00:00.123Z');
    execFileSync('touch', ['-d', when.toISOString(), file]);
    assert.equal(await mtimeMsBounded(file, 2000), when.getTime());
  });

  it('mtimeMsBounded returns null for a file that does not exist', async () => {
    assert.equal(await mtimeMsBounded(fresh('missing'), 2000), null);
  });

  it('mtimeMsBounded rejects with ETIMEDOUT close to its timeout when stat never returns', async () => {
    // A stat that hangs (dead NFS) cannot be produced here; a fake `stat` first on PATH that
    // never answers stands in for it (the child strategy runs `stat` by name).
    const bin = fresh('bin');
    mkdirSync(bin);
    writeFileSync(path.join(bin, 'stat'), '#!/bin/sh\nexec sleep 30\n');
    chmodSync(path.join(bin, 'stat'), 0o755);
    const savedPath = process.env.PATH;
    process.env.PATH = `${bin}:${savedPath ?? ''}`;
    const file = fresh('lease');
    writeFileSync(file, 'x');
    const started = performance.now();
    try {
      await assert.rejects(mtimeMsBounded(file, 300), isTimeout);
    } finally {
      if (savedPath === undefined) delete process.env.PATH;
      else process.env.PATH = savedPath;
    }
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 290 && elapsed < 1500, `rejected after ${elapsed} ms with a 300 ms timeout`);
    const hungStats = (): number[] => processesRunning(['sleep', '30']).filter((pid) => environOf(pid).includes(`PATH=${bin}:`));
    const deadline = Date.now() + 2000;
    while (hungStats().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(hungStats(), [], 'the hung stat was killed');
  });
});

interface FixtureRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

/** Runs the inline-io fixture; a fixture still running after 15 s is ended with SIGTERM (never SIGKILL, which is what the fixture is expected to do to itself). */
const runFixture = (args: string[]): Promise<FixtureRun> =>
  new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, ...args], { cwd: PROJECT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGTERM'), 15_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, elapsedMs: performance.now() - started });
    });
  });

describe('inline strategy (in a child process)', () => {
  it('exitProcess ends the process with SIGKILL when an inline read is still pending', async () => {
    const result = await runFixture(['pending', fifo()]);
    assert.equal(result.stdout, 'ETIMEDOUT\n', `stderr: ${result.stderr}`);
    assert.equal(result.signal, 'SIGKILL');
    assert.equal(result.code, null);
    assert.ok(result.elapsedMs < 10_000, `the fixture took ${result.elapsedMs} ms`);
  });

  it('exitProcess exits normally with the given code when no inline read is pending', async () => {
    const file = fresh('lease');
    writeFileSync(file, 'held by db1\n');
    const result = await runFixture(['idle', file, fresh('missing')]);
    assert.equal(result.signal, null, `stderr: ${result.stderr}`);
    assert.equal(result.code, 1);
    const output = JSON.parse(result.stdout) as { content: string | null; mtimeMs: number | null; missingContent: string | null; missingMtimeMs: number | null };
    assert.equal(output.content, 'held by db1\n');
    assert.equal(output.mtimeMs, statSync(file).mtimeMs);
    assert.equal(output.missingContent, null);
    assert.equal(output.missingMtimeMs, null);
  });
});
