import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { acquireDaemonLock, daemonLockName, daemonPidPath, runningDaemonPid } from '../../../src/daemon/lock.ts';
import { FenceAgentError } from '../../../src/errors.ts';
import { isAlive } from '../../../src/proc.ts';
import { scratchDir } from '../../helpers/scratch.ts';

const { fresh } = scratchDir('daemon-lock');
/** Release functions of locks taken by a test, called after it. */
let held: (() => Promise<void>)[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const release of held) await release();
  held = [];
});

after(() => {
  for (const child of children) child.kill('SIGKILL');
});

const runDir = (): string => {
  const run = fresh('run');
  mkdirSync(run);
  return run;
};

const acquire = async (run: string): Promise<() => Promise<void>> => {
  const release = await acquireDaemonLock(run);
  held.push(release);
  return release;
};

/** The pid of a process that has already exited (and been reaped). */
const deadPid = (): number => {
  const pid = spawnSync('true').pid;
  assert.ok(typeof pid === 'number' && pid > 0);
  assert.equal(isAlive(pid), false);
  return pid;
};

/**
 * Another process holding the lock of `run`, as a second daemon would: a child node process that
 * takes it and prints "held". Resolves with the child once it holds it.
 */
const otherHolder = async (run: string): Promise<ChildProcess> => {
  const module = path.resolve(import.meta.dirname, '../../../src/daemon/lock.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', `const { acquireDaemonLock } = await import(${JSON.stringify(module)}); await acquireDaemonLock(${JSON.stringify(run)}); process.stdout.write('held\\n'); setInterval(() => {}, 1 << 30);`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('held')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the holder exited ${code}`)));
  });
  return child;
};

const isDaemonRunning = (pattern: RegExp) => (error: unknown): boolean => {
  assert.ok(error instanceof FenceAgentError, `expected a FenceAgentError, got ${String(error)}`);
  assert.equal(error.code, 'EDAEMONRUNNING');
  assert.match(error.message, pattern);
  return true;
};

describe('acquireDaemonLock', () => {
  it('acquireDaemonLock takes a free lock and writes our pid to daemon.pid', async () => {
    const run = runDir();
    await acquire(run);
    assert.equal(readFileSync(daemonPidPath(run), 'utf8'), `${process.pid}\n`);
  });

  it('a second acquireDaemonLock in another process while the first is held rejects at once with EDAEMONRUNNING naming the holder', async () => {
    const run = runDir();
    const holder = await otherHolder(run);
    writeFileSync(daemonPidPath(run), `${holder.pid}\n`);
    const started = Date.now();
    await assert.rejects(acquireDaemonLock(run), isDaemonRunning(new RegExp(`pid ${holder.pid}\\b`)));
    assert.ok(Date.now() - started < 1000, 'no waiting');
  });

  it('the lock of a daemon killed with SIGKILL is free at once: no staleness to wait out', async () => {
    const run = runDir();
    const holder = await otherHolder(run);
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    holder.kill('SIGKILL');
    await exited;
    const started = Date.now();
    await acquire(run);
    assert.ok(Date.now() - started < 500, `took ${Date.now() - started} ms`);
    assert.equal(readFileSync(daemonPidPath(run), 'utf8'), `${process.pid}\n`);
  });

  it('a release frees the lock for the next daemon, and releasing twice is harmless', async () => {
    const run = runDir();
    const release = await acquireDaemonLock(run);
    await release();
    await release();
    await acquire(run);
  });

  it('locks of two run directories are independent', async () => {
    await acquire(runDir());
    await acquire(runDir());
  });

  it('daemonLockName is an abstract socket name (leading NUL) derived from the resolved runDir', () => {
    assert.equal(daemonLockName('/run/fence-agent'), '\0fence-agent-daemon:/run/fence-agent');
    assert.equal(daemonLockName('/run/fence-agent/'), daemonLockName('/run/fence-agent'));
  });
});

describe('runningDaemonPid', () => {
  it('runningDaemonPid returns the pid in daemon.pid when that process is alive', async () => {
    const run = runDir();
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(child);
    writeFileSync(daemonPidPath(run), `${child.pid}\n`);
    assert.equal(await runningDaemonPid(run), child.pid);
  });

  it('runningDaemonPid returns null for a dead pid, our own pid, garbage and a missing file', async () => {
    const run = runDir();
    assert.equal(await runningDaemonPid(run), null);
    writeFileSync(daemonPidPath(run), `${deadPid()}\n`);
    assert.equal(await runningDaemonPid(run), null);
    writeFileSync(daemonPidPath(run), `${process.pid}\n`);
    assert.equal(await runningDaemonPid(run), null);
    writeFileSync(daemonPidPath(run), 'garbage\n');
    assert.equal(await runningDaemonPid(run), null);
    writeFileSync(daemonPidPath(run), '');
    assert.equal(await runningDaemonPid(run), null);
  });
});
