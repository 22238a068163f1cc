import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FenceAgentError } from '../../src/errors.ts';
import { createHelperLeaseIo, createInlineLeaseIo, type HelperLeaseIo, type LeaseIo } from '../../src/lease-io.ts';
import { scratchDir } from '../helpers/scratch.ts';
import { waitFor } from '../../lab/wait.ts';

const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'lease-io-child.ts');
/** `--require` it to delay a node process's start by 1.5 s */
const SLOW_START = path.join(import.meta.dirname, 'fixtures', 'slow-start.cjs');
const PROJECT = path.resolve(import.meta.dirname, '..', '..');

const { dir, fresh } = scratchDir('lease-io');

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const fifo = (): string => {
  const file = fresh('fifo');
  execFileSync('mkfifo', [file]);
  return file;
};

/** Lets a reader blocked in open(2) of `file` go (it then reads end-of-file); no-op without one. */
const releaseFifo = (file: string): void => {
  try {
    closeSync(openSync(file, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    // ENXIO: nobody is blocked on it
  }
};

const rejectsWith =
  (code: string, message?: RegExp) =>
  (error: unknown): boolean => {
    assert.ok(error instanceof FenceAgentError, `expected a FenceAgentError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return true;
  };

const waitUntil = async (condition: () => boolean, ms: number): Promise<boolean> => {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await sleep(20);
  return condition();
};

const tempFilesIn = (directory: string): string[] => readdirSync(directory).filter((name) => name.includes('.tmp.'));

/** A record of `size` characters of padding, recognisable when read back whole. */
const record = (n: number, size: number): string => JSON.stringify({ n, size, pad: String(n % 10).repeat(size) });

// Reads FILE in a busy loop until STOP exists; prints 'ready', then one JSON line: how many
// reads, how many were not a whole record (and the first few of them), how many distinct records.
const READER = String.raw`
const fs = require('node:fs');
const [file, stop] = process.argv.slice(1);
let reads = 0;
const bad = [];
const seen = new Set();
process.stdout.write('ready\n');
while (!fs.existsSync(stop)) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    bad.push(error.code);
    continue;
  }
  reads++;
  try {
    const r = JSON.parse(text);
    if (r.pad.length !== r.size) bad.push('short ' + r.pad.length);
    seen.add(r.n);
  } catch {
    bad.push('partial, ' + text.length + ' chars');
  }
}
process.stdout.write(JSON.stringify({ reads, bad: bad.length, firstBad: bad.slice(0, 5), distinct: seen.size }) + '\n');
`;

interface ReaderResult {
  reads: number;
  bad: number;
  firstBad: string[];
  distinct: number;
}

/** Starts READER on `file`; resolves once it reads, with a function that stops it and gets its result. */
function startReader(file: string): Promise<() => Promise<ReaderResult>> {
  const stop = fresh('stop');
  const child = spawn(process.execPath, ['-e', READER, file, stop], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  const ended = new Promise<ReaderResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const last = output.trim().split('\n').at(-1) ?? '';
      if (code === 0) resolve(JSON.parse(last) as ReaderResult);
      else reject(new Error(`reader exited with ${code}: ${output}`));
    });
  });
  return new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const wasReady = output.includes('ready\n');
      output += chunk;
      if (!wasReady && output.includes('ready\n'))
        resolve(() => {
          writeFileSync(stop, '');
          return ended;
        });
    });
    ended.catch(reject);
  });
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

/** Runs the fixture; one still running after `limitMs` is SIGTERMed (never SIGKILL: some modes are expected to SIGKILL themselves). */
const runFixture = (args: string[], limitMs = 15_000): Promise<Run> =>
  new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, ...args], { cwd: PROJECT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGTERM'), limitMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, elapsedMs: performance.now() - started });
    });
  });

const implementations: [string, () => LeaseIo][] = [
  ['helper', () => createHelperLeaseIo()],
  ['inline', () => createInlineLeaseIo()],
];

for (const [name, make] of implementations) {
  describe(`LeaseIo (${name})`, () => {
    const io = make();
    after(() => io.close());

    it('read of a file that does not exist is null', async () => {
      assert.equal(await io.read(fresh('missing'), 2000), null);
      assert.equal(await io.read(path.join(fresh('no-directory'), 'lease'), 2000), null);
    });

    it('read returns the text of the file, and an empty string for an empty file', async () => {
      const file = fresh('lease');
      writeFileSync(file, '{"holder":"db1","n":1}\n«ünïcode»\n');
      assert.equal(await io.read(file, 2000), '{"holder":"db1","n":1}\n«ünïcode»\n');
      const empty = fresh('empty');
      writeFileSync(empty, '');
      assert.equal(await io.read(empty, 2000), '');
    });

    it('read rejects EIO naming the errno when the path cannot be read as a file', async () => {
      const sub = fresh('directory');
      mkdirSync(sub);
      await assert.rejects(io.read(sub, 2000), rejectsWith('EIO', /EISDIR/));
    });

    it('replaceIf with expected null creates an absent file and replaces an empty one, and returns the text it found', async () => {
      const sub = fresh('dir-absent');
      mkdirSync(sub);
      const file = path.join(sub, 'lease');
      assert.deepEqual(await io.replaceIf(file, null, 'first', 2000), { replaced: true, current: null });
      assert.equal(readFileSync(file, 'utf8'), 'first');
      writeFileSync(file, '');
      assert.deepEqual(await io.replaceIf(file, null, 'second', 2000), { replaced: true, current: null });
      assert.equal(readFileSync(file, 'utf8'), 'second');
      assert.deepEqual(tempFilesIn(sub), []);
    });

    it('replaceIf replaces only when the file holds the expected text, and returns the text it found either way', async () => {
      const sub = fresh('dir-match');
      mkdirSync(sub);
      const file = path.join(sub, 'lease');
      writeFileSync(file, 'A');
      assert.deepEqual(await io.replaceIf(file, 'B', 'C', 2000), { replaced: false, current: 'A' });
      assert.equal(readFileSync(file, 'utf8'), 'A');
      assert.deepEqual(await io.replaceIf(file, null, 'C', 2000), { replaced: false, current: 'A' });
      assert.deepEqual(await io.replaceIf(file, 'A', 'B', 2000), { replaced: true, current: 'A' });
      assert.equal(readFileSync(file, 'utf8'), 'B');
      assert.deepEqual(await io.replaceIf(path.join(sub, 'absent'), 'B', 'C', 2000), { replaced: false, current: null });
      assert.equal(existsSync(path.join(sub, 'absent')), false);
      assert.deepEqual(tempFilesIn(sub), []);
    });

    it('replaceIf rejects EIO and leaves no temp file when the directory is missing', async () => {
      const file = path.join(fresh('no-such-dir'), 'lease');
      await assert.rejects(io.replaceIf(file, null, 'x', 2000), rejectsWith('EIO', /ENOENT/));
    });

    it('replaceIf writes atomically: a reader in another process reading all along never sees a partial record', async () => {
      const sub = fresh('dir-atomic');
      mkdirSync(sub);
      const file = path.join(sub, 'lease');
      let previous = record(0, 20_000);
      writeFileSync(file, previous);
      const stopReader = await startReader(file);
      let result: ReaderResult;
      try {
        for (let n = 1; n <= 200; n++) {
          // sizes that shrink and grow, so that a torn write would show as a short or broken record
          const next = record(n, n % 2 === 0 ? 40_000 + n : 1000 + n);
          assert.deepEqual(await io.replaceIf(file, previous, next, 5000), { replaced: true, current: previous });
          previous = next;
        }
      } finally {
        result = await stopReader();
      }
      assert.equal(result.bad, 0, `the reader saw ${result.bad} bad reads, e.g. ${result.firstBad.join('; ')}`);
      assert.ok(result.reads > 0 && result.distinct > 1, `the reader ran alongside the writes: ${JSON.stringify(result)}`);
      assert.equal(readFileSync(file, 'utf8'), previous);
      assert.deepEqual(tempFilesIn(sub), []);
    });

    it('statfs returns the f_type of the filesystem (as stat -f reports it) of the scratch directory and of /dev/shm', async () => {
      for (const where of [dir, '/dev/shm'].filter((p) => existsSync(p))) {
        const expected = parseInt(execFileSync('stat', ['-f', '-c', '%t', where], { encoding: 'utf8' }).trim(), 16);
        const value = await io.statfs(where, 2000);
        assert.equal(value.type, expected, `f_type of ${where}`);
        assert.ok(value.bsize > 0 && value.blocks > 0, JSON.stringify(value));
      }
    });

    it('deviceOf returns major:minor of st_dev as stat reports it', async () => {
      const file = fresh('device');
      writeFileSync(file, 'x');
      for (const where of [file, dir, '/dev/shm', '/proc/self'].filter((p) => existsSync(p))) {
        const expected = execFileSync('stat', ['-c', '%Hd:%Ld', where], { encoding: 'utf8' }).trim();
        assert.equal(await io.deviceOf(where, 2000), expected, where);
      }
    });

    it('statfs and deviceOf reject EIO naming ENOENT for a missing path', async () => {
      await assert.rejects(io.statfs(fresh('missing'), 2000), rejectsWith('EIO', /ENOENT/));
      await assert.rejects(io.deviceOf(fresh('missing'), 2000), rejectsWith('EIO', /ENOENT/));
    });

    it('a read that hangs (opening a FIFO nobody writes to) rejects ETIMEDOUT close to its bound', async () => {
      const file = fifo();
      const started = performance.now();
      try {
        await assert.rejects(io.read(file, 300), rejectsWith('ETIMEDOUT', new RegExp(`^read ${file} did not return within 300 ms \\(storage not answering\\?\\)$`)));
      } finally {
        if (name === 'inline') releaseFifo(file); // else this test process could not exit (the threadpool trap)
      }
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 295, `rejected after ${elapsed} ms, before the 300 ms bound`);
      assert.ok(elapsed < 1000, `rejected after ${elapsed} ms, long after the 300 ms bound`);
    });
  });
}

describe('createHelperLeaseIo', () => {
  const ios: HelperLeaseIo[] = [];
  const make = (): HelperLeaseIo => {
    const io = createHelperLeaseIo();
    ios.push(io);
    return io;
  };
  after(() => {
    for (const io of ios) io.close();
  });
  const gone = (pid: number): boolean => !existsSync(`/proc/${pid}`);

  it('serves many requests from one helper process', async () => {
    const io = make();
    const file = fresh('lease');
    writeFileSync(file, 'x');
    assert.equal(io.helperPid, null, 'no helper before the first request');
    await io.read(file, 2000);
    const pid = io.helperPid;
    assert.ok(pid !== null);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? io.read(file, 2000) : io.deviceOf(file, 2000))));
    assert.equal(results.length, 20);
    assert.equal(io.helperPid, pid);
  });

  it('after a timeout the hung helper is SIGKILLed and gone, and the next request succeeds on a fresh helper', async () => {
    const io = make();
    const file = fresh('lease');
    writeFileSync(file, 'held');
    assert.equal(await io.read(file, 2000), 'held');
    const first = io.helperPid as number;
    await assert.rejects(io.read(fifo(), 300), rejectsWith('ETIMEDOUT'));
    assert.equal(io.helperPid, null, 'the hung helper is let go at once');
    assert.equal(await io.read(file, 2000), 'held');
    const second = io.helperPid;
    assert.ok(second !== null && second !== first, `a fresh helper: ${first} then ${second}`);
    assert.ok(await waitUntil(() => gone(first), 2000), `helper ${first} (blocked opening the FIFO) is gone from /proc`);
  });

  it('a request queued behind a hung one rejects ETIMEDOUT at its own bound, counted from its call', async () => {
    const io = make();
    const file = fresh('lease');
    writeFileSync(file, 'held');
    const started = performance.now();
    const hung = io.read(fifo(), 700);
    // queued behind the hung read, with a shorter bound: it must expire while still queued, at its
    // own 300 ms from its call — not 300 ms after it would have reached a helper
    const queued = io.read(file, 300);
    await assert.rejects(queued, rejectsWith('ETIMEDOUT'));
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 295 && elapsed < 650, `the queued request rejected after ${elapsed} ms with a 300 ms bound, before the hung one's 700 ms`);
    await assert.rejects(hung, rejectsWith('ETIMEDOUT'));
    assert.equal(await io.read(file, 2000), 'held', 'a fresh helper answers afterwards');
  });

  /** A helper lease I/O whose helper needs 1.5 s and more to start, its log lines, and a lease file holding 'held'. */
  const slowStarting = (): { io: HelperLeaseIo; lines: string[]; file: string } => {
    const lines: string[] = [];
    const io = createHelperLeaseIo({ log: (line) => lines.push(line), helperExecArgv: ['--require', SLOW_START] });
    ios.push(io);
    const file = fresh('lease');
    writeFileSync(file, 'held');
    return { io, lines, file };
  };

  it('a request that times out while the helper is still starting rejects ETIMEDOUT unsent, and that same helper serves the next request', async () => {
    const { io, lines, file } = slowStarting();
    await assert.rejects(io.read(file, 300), rejectsWith('ETIMEDOUT', /helper was still starting .* the request was not sent/));
    const starting = io.helperPid;
    assert.ok(starting !== null && !gone(starting), 'the starting helper is kept, not killed');
    assert.equal(await io.read(file, 5000), 'held');
    assert.equal(io.helperPid, starting, 'served by the helper that was starting, not a new one');
    assert.ok(lines.some((line) => line.includes(`pid ${starting} still starting`) && line.includes('timed out unsent')), lines.join('\n'));
    assert.ok(lines.some((line) => line.includes(`pid ${starting} ready`)), lines.join('\n'));
  });

  it('a request left with less than half its bound when the helper it waited for gets ready is rejected unsent, and the helper is kept', async () => {
    const { io, lines, file } = slowStarting();
    // the helper needs 1.5 s and more to start: 1.8 s ends before it is ready, or leaves less than 0.9 s
    await assert.rejects(io.read(file, 1800), rejectsWith('ETIMEDOUT', /the request was not sent/));
    const kept = io.helperPid;
    assert.ok(kept !== null && !gone(kept), 'the helper is not killed');
    assert.equal(await io.read(file, 5000), 'held');
    assert.equal(io.helperPid, kept);
    assert.ok(!lines.some((line) => line.includes('SIGKILLed')), lines.join('\n'));
  });

  it('requests made while the helper starts are sent once it is ready, each within its own bound', async () => {
    const { io, file } = slowStarting();
    const results = await Promise.all([io.read(file, 5000), io.deviceOf(file, 5000), io.read(file, 5000)]);
    assert.equal(results[0], 'held');
    assert.match(results[1], /^\d+:\d+$/);
    assert.equal(results[2], 'held');
  });

  it('a helper that dies rejects its request EIO, and the next request runs on a new helper', async () => {
    const lines: string[] = [];
    const io = createHelperLeaseIo({ log: (line) => lines.push(line) });
    ios.push(io);
    const file = fresh('lease');
    writeFileSync(file, 'held');
    await io.read(file, 2000);
    const first = io.helperPid as number;
    const pending = io.read(fifo(), 10_000);
    await sleep(100);
    process.kill(first, 'SIGKILL');
    const started = performance.now();
    await assert.rejects(pending, rejectsWith('EIO', /helper was killed by SIGKILL/));
    assert.ok(performance.now() - started < 2000, 'rejected when the helper died, not at the timeout');
    assert.equal(await io.read(file, 2000), 'held');
    assert.notEqual(io.helperPid, first);
    assert.ok(lines.some((line) => line.includes(`pid ${first} was killed by SIGKILL during read`)), lines.join('\n'));
  });

  it('resolves a relative path against this process, not the helper (which runs in /)', async () => {
    const io = make();
    const file = fresh('relative');
    writeFileSync(file, 'here');
    assert.equal(await io.read(path.relative(process.cwd(), file), 2000), 'here');
    assert.equal(readlinkSync(`/proc/${io.helperPid}/cwd`), '/');
  });

  it('close kills the helper and rejects what is pending and what comes after with EIO', async () => {
    const io = make();
    const file = fresh('lease');
    writeFileSync(file, 'held');
    await io.read(file, 2000);
    const pid = io.helperPid as number;
    const pending = io.read(fifo(), 10_000);
    await sleep(50);
    io.close();
    io.close();
    await assert.rejects(pending, rejectsWith('EIO', /closed/));
    await assert.rejects(io.read(file, 2000), rejectsWith('EIO', /closed/));
    assert.equal(io.helperPid, null);
    assert.ok(await waitUntil(() => gone(pid), 2000), `helper ${pid} is gone`);
  });

  it('the helper does not keep a process alive: a script that did one read and returned from main exits on its own', async () => {
    const file = fresh('lease');
    writeFileSync(file, 'held by db1\n');
    const run = await runFixture(['helper-idle', file], 8000);
    assert.equal(run.signal, null, `the script did not exit on its own: ${run.stderr}`);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, '"held by db1\\n"\n');
  });

  it('prestart starts the helper before any request, and the first request is served by it', async () => {
    const { io, lines, file } = slowStarting();
    io.prestart();
    const started = io.helperPid;
    assert.ok(started !== null, 'a helper runs before the first request');
    io.prestart();
    assert.equal(io.helperPid, started, 'a second prestart starts nothing');
    // the fixture's start (1.5 s and more) is over before the request is made: it logs its ready line
    await waitFor('the prestarted helper ready', () => lines.some((line) => line.includes(`pid ${started} ready`)), 15_000, 50);
    assert.equal(await io.read(file, 300), 'held', 'a bound shorter than the start: the helper was already ready');
    assert.equal(io.helperPid, started);
    assert.equal(lines.filter((line) => line.includes('started')).length, 1, lines.join('\n'));
  });

  it('prestart does not keep a process alive: a script that only prestarted the helper exits on its own', async () => {
    const run = await runFixture(['helper-prestart', 'unused'], 8000);
    assert.equal(run.signal, null, `the script did not exit on its own: ${run.stderr}`);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'helper started\n');
  });

  it('a helper request in flight keeps the process alive until it is answered or timed out', async () => {
    const run = await runFixture(['helper-pending', fifo()], 8000);
    assert.equal(run.signal, null, run.stderr);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'ETIMEDOUT\n', 'the process was still there when the read timed out');
  });
});

describe('exitProcess (in a child process)', () => {
  it('ends the process with SIGKILL when an inline read is still pending', async () => {
    const run = await runFixture(['pending', fifo()]);
    assert.equal(run.stdout, 'ETIMEDOUT\n', run.stderr);
    assert.equal(run.signal, 'SIGKILL');
    assert.ok(run.elapsedMs < 10_000, `took ${run.elapsedMs} ms`);
  });

  it('exits with the given code when nothing is pending', async () => {
    const file = fresh('lease');
    writeFileSync(file, 'held');
    const run = await runFixture(['idle', file]);
    assert.equal(run.signal, null, run.stderr);
    assert.equal(run.code, 3);
    assert.equal(run.stdout, '"held"\n');
  });

  it('one copy of the module SIGKILLs the process for a read pending in another copy (as dist/cli.cjs and dist/full.mjs each bundle one)', async () => {
    const run = await runFixture(['copies', fifo()]);
    assert.equal(run.stdout, 'distinct\nETIMEDOUT\n', run.stderr);
    assert.equal(run.signal, 'SIGKILL');
  });
});
