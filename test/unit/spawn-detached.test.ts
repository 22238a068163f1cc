import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FenceAgentError } from '../../src/errors.ts';
import { isAlive } from '../../src/proc.ts';
import { spawnDetached, type DetachedExit } from '../../src/spawn-detached.ts';
import { scratchDir } from '../helpers/scratch.ts';

const PARENT_FIXTURE = path.join(import.meta.dirname, 'fixtures', 'spawn-detached-parent.ts');
const PROJECT = path.resolve(import.meta.dirname, '..', '..');

const { dir, fresh } = scratchDir('spawn-detached');
/** Children started by a test, killed in after() if still there. */
const started: number[] = [];

after(() => {
  for (const pid of started) {
    // Only a process that is still one of ours (not a reused pid): `sleep 30` or the parent fixture.
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue; // gone
    }
    if (isAlive(pid) && (cmdline === 'sleep\x0030\x00' || cmdline.includes(PARENT_FIXTURE))) process.kill(pid, 'SIGKILL');
  }
});


const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits for `promise` with a referenced timer: the child of spawnDetached is unref'd, so without
 * it nothing would keep the event loop alive while the test waits for the child to exit.
 */
const within = async <T>(promise: Promise<T>, ms: number, what: string): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
};

/** Polls the output file until the child has written its pid line ("pid=N"). */
const pidFrom = async (outputFile: string): Promise<number> => {
  const deadline = Date.now() + 5000;
  for (;;) {
    const match = /^pid=(\d+)$/m.exec(existsSync(outputFile) ? readFileSync(outputFile, 'utf8') : '');
    if (match !== null) {
      const pid = Number(match[1]);
      started.push(pid);
      return pid;
    }
    if (Date.now() > deadline) throw new Error(`no pid line in ${outputFile}`);
    await sleep(20);
  }
};

/** The fields of /proc/PID/stat after "(comm)": [state, ppid, pgrp, session, ...]. */
const statFields = (pid: number): string[] => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
};
const sessionOf = (pid: number): number => Number(statFields(pid)[3]);
const processGroupOf = (pid: number): number => Number(statFields(pid)[2]);

/** Starts a shell that prints its pid, writes to stdout and stderr, then becomes `sleep 30` (same pid). */
const startSleeper = (outputFile: string): Promise<DetachedExit> =>
  spawnDetached(['sh', '-c', 'echo pid=$$; echo to-stdout; echo to-stderr >&2; exec sleep 30'], outputFile);

describe('spawnDetached', () => {
  it('spawnDetached starts a process in its own session and process group', async () => {
    const output = fresh('out.log');
    const exited = startSleeper(output);
    const pid = await pidFrom(output);
    assert.equal(sessionOf(pid), pid, 'the child leads its own session');
    assert.equal(processGroupOf(pid), pid, 'the child leads its own process group');
    assert.notEqual(sessionOf(pid), sessionOf(process.pid));
    process.kill(pid, 'SIGKILL');
    await within(exited, 5000, 'child exit');
  });

  it('spawnDetached hands the output file itself to the child as stdout and stderr, opened for appending', async () => {
    const output = fresh('out.log');
    writeFileSync(output, 'earlier line\n');
    const exited = startSleeper(output);
    const pid = await pidFrom(output);
    assert.equal(readlinkSync(`/proc/${pid}/fd/1`), output);
    assert.equal(readlinkSync(`/proc/${pid}/fd/2`), output);
    assert.equal(readlinkSync(`/proc/${pid}/fd/0`), '/dev/null');
    for (const fd of [1, 2]) {
      const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1];
      assert.ok(flags !== undefined);
      assert.ok((parseInt(flags, 8) & 0o2000) !== 0, `fd ${fd} is opened with O_APPEND (flags ${flags})`);
    }
    const deadline = Date.now() + 5000;
    while (!readFileSync(output, 'utf8').includes('to-stderr') && Date.now() < deadline) await sleep(20);
    assert.equal(readFileSync(output, 'utf8'), `earlier line\npid=${pid}\nto-stdout\nto-stderr\n`);
    process.kill(pid, 'SIGKILL');
    await within(exited, 5000, 'child exit');
  });

  it('spawnDetached creates a missing output file with mode 0640', async () => {
    const output = fresh('new.log');
    await within(spawnDetached(['true'], output), 5000, 'child exit');
    assert.ok(existsSync(output));
    assert.equal(statSync(output).mode & 0o777, 0o640);
  });

  it('spawnDetached runs the child in /', async () => {
    const output = fresh('out.log');
    const exited = startSleeper(output);
    const pid = await pidFrom(output);
    assert.equal(readlinkSync(`/proc/${pid}/cwd`), '/');
    process.kill(pid, 'SIGKILL');
    await within(exited, 5000, 'child exit');
  });

  it('spawnDetached resolves with the exit code when the child exits', async () => {
    const output = fresh('out.log');
    assert.deepEqual(await within(spawnDetached(['sh', '-c', 'exit 3'], output), 5000, 'child exit'), { exitCode: 3, signal: null });
    assert.deepEqual(await within(spawnDetached(['true'], output), 5000, 'child exit'), { exitCode: 0, signal: null });
  });

  it('spawnDetached resolves with the signal when the child is killed', async () => {
    const output = fresh('out.log');
    const exited = startSleeper(output);
    const pid = await pidFrom(output);
    process.kill(pid, 'SIGTERM');
    assert.deepEqual(await within(exited, 5000, 'child exit'), { exitCode: null, signal: 'SIGTERM' });
    assert.equal(isAlive(pid), false);
  });

  it('spawnDetached passes the arguments unchanged, without a shell', async () => {
    const output = fresh('out.log');
    await within(spawnDetached(['printf', '%s|', 'a b', '$HOME', '*'], output), 5000, 'child exit');
    assert.equal(readFileSync(output, 'utf8'), 'a b|$HOME|*|');
  });

  it('spawnDetached rejects when the program does not exist', async () => {
    const output = fresh('out.log');
    await assert.rejects(within(spawnDetached([path.join(dir, 'no-such-program'), 'x'], output), 5000, 'spawn error'), { code: 'ENOENT' });
  });

  it('spawnDetached throws ECOMMAND for an empty argv without creating the output file', () => {
    const output = fresh('out.log');
    assert.throws(
      () => spawnDetached([], output),
      (error: unknown) => error instanceof FenceAgentError && error.code === 'ECOMMAND',
    );
    assert.equal(existsSync(output), false);
  });

  it('spawnDetached leaves the child running and writing when the parent is killed with its whole process group', async () => {
    const output = fresh('out.log');
    // The parent gets a process group of its own, as keepalived's notify scripts do, so that the
    // group can be killed the way keepalived kills it.
    const parent = spawn(
      process.execPath,
      ['--import', 'tsx', PARENT_FIXTURE, output, 'sh', '-c', 'echo pid=$$; while [ ! -e "$0.go" ]; do sleep 0.05; done; echo after-parent; exec sleep 30', output],
      { cwd: PROJECT, detached: true, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const parentPid = parent.pid;
    assert.ok(parentPid !== undefined);
    started.push(parentPid);
    const parentGone = new Promise<NodeJS.Signals | null>((resolve) => parent.once('exit', (_code, signal) => resolve(signal)));
    const pid = await pidFrom(output);
    assert.notEqual(processGroupOf(pid), parentPid, 'the child is outside the parent\'s process group');
    process.kill(-parentPid, 'SIGKILL');
    assert.equal(await within(parentGone, 5000, 'parent exit'), 'SIGKILL');
    writeFileSync(`${output}.go`, '');
    const deadline = Date.now() + 5000;
    while (!readFileSync(output, 'utf8').includes('after-parent') && Date.now() < deadline) await sleep(20);
    assert.equal(readFileSync(output, 'utf8'), `pid=${pid}\nafter-parent\n`, 'the child still writes to the file after its parent died');
    assert.equal(isAlive(pid), true);
    process.kill(pid, 'SIGKILL');
  });
});
