import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { acquireDaemonLock, daemonPidPath, runningDaemonPid } from '../../../src/daemon/lock.ts';
import { FenceAgentError } from '../../../src/errors.ts';
import { isAlive } from '../../../src/proc.ts';
import { scratchDir } from '../../helpers/scratch.ts';

const { fresh } = scratchDir('daemon-lock');
/** Release functions of locks taken by a test, called after it (idempotent through the flag). */
let held: (() => Promise<void>)[] = [];
/** Errors passed to onCompromised by any lock of the current test. */
let compromised: Error[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const release of held) await release();
  held = [];
  assert.deepEqual(compromised, [], 'no lock was compromised');
  compromised = [];
});

after(() => {
  for (const child of children) child.kill('SIGKILL');
});

const runDir = (): string => {
  const run = fresh('run');
  mkdirSync(run);
  return run;
};

const lockDirOf = (run: string): string => `${daemonPidPath(run)}.lock`;

/** Acquires the lock and remembers to release it (once) after the test. */
const acquire = async (run: string): Promise<() => Promise<void>> => {
  const release = await acquireDaemonLock(run, (error) => compromised.push(error));
  let released = false;
  const once = async (): Promise<void> => {
    if (released) return;
    released = true;
    await release();
  };
  held.push(once);
  return once;
};

/** The pid of a process that has already exited (and been reaped). */
const deadPid = (): number => {
  const pid = spawnSync('true').pid;
  assert.ok(typeof pid === 'number' && pid > 0);
  assert.equal(isAlive(pid), false);
  return pid;
};

/** A live process that is not this one: `sleep 30`, killed in after(). */
const livePid = async (): Promise<number> => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(child);
  await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
  assert.ok(child.pid !== undefined && isAlive(child.pid));
  return child.pid;
};

/** Leaves what a daemon that died (or is alive elsewhere) would leave: its pid and a lock directory `ageMs` old. */
const leaveLock = (run: string, pid: number, ageMs: number): void => {
  writeFileSync(daemonPidPath(run), `${pid}\n`);
  mkdirSync(lockDirOf(run));
  const when = new Date(Date.now() - ageMs);
  utimesSync(lockDirOf(run), when, when);
};

const isDaemonRunning = (pattern: RegExp) => (error: unknown): boolean => {
  assert.ok(error instanceof FenceAgentError, `expected a FenceAgentError, got ${String(error)}`);
  assert.equal(error.code, 'EDAEMONRUNNING');
  assert.match(error.message, pattern);
  return true;
};

describe('acquireDaemonLock', () => {
  it('acquireDaemonLock writes our pid into daemon.pid and holds the lock directory', async () => {
    const run = runDir();
    await acquire(run);
    assert.equal(readFileSync(daemonPidPath(run), 'utf8'), `${process.pid}\n`);
    assert.ok(statSync(lockDirOf(run)).isDirectory());
  });

  it('the release function removes the lock directory so the lock can be taken again', async () => {
    const run = runDir();
    const release = await acquire(run);
    await release();
    assert.equal(existsSync(lockDirOf(run)), false);
    await acquire(run);
    assert.equal(readFileSync(daemonPidPath(run), 'utf8'), `${process.pid}\n`);
    assert.ok(existsSync(lockDirOf(run)));
  });

  it('acquireDaemonLock keeps refreshing the lock directory while it is held', async () => {
    const run = runDir();
    await acquire(run);
    const first = statSync(lockDirOf(run)).mtimeMs;
    await new Promise((resolve) => setTimeout(resolve, 1600));
    assert.ok(statSync(lockDirOf(run)).mtimeMs > first, 'the lock mtime was refreshed');
  });

  it('a second acquireDaemonLock while the first is held rejects with EDAEMONRUNNING after the contention wait', async () => {
    const run = runDir();
    await acquire(run);
    const started = Date.now();
    await assert.rejects(acquireDaemonLock(run, (error) => compromised.push(error)), isDaemonRunning(/pid unknown/));
    const waited = Date.now() - started;
    assert.ok(waited >= 3900 && waited < 6000, `rejected after ${waited} ms`);
    assert.equal(readFileSync(daemonPidPath(run), 'utf8'), `${process.pid}\n`, 'the holder\'s pid is untouched');
    assert.ok(existsSync(lockDirOf(run)), 'the holder still has its lock');
  });

  it('acquireDaemonLock rejects at once with EDAEMONRUNNING naming the pid of another live daemon', async () => {
    const run = runDir();
    const other = await livePid();
    leaveLock(run, other, 0);
    const started = Date.now();
    await assert.rejects(acquireDaemonLock(run, (error) => compromised.push(error)), isDaemonRunning(new RegExp(`pid ${other}\\b`)));
    assert.ok(Date.now() - started < 1000, 'no waiting when the holder is known to be alive');
    assert.equal(readFileSync(daemonPidPath(run), 'utf8'), `${other}\n`, 'the other daemon\'s pid file is untouched');
    assert.ok(existsSync(lockDirOf(run)), 'the other daemon\'s lock is untouched');
  });

  it('acquireDaemonLock reclaims a stale lock (10 s old) left by a dead daemon', async () => {
    const run = runDir();
    leaveLock(run, deadPid(), 10_000);
    const started = Date.now();
    await acquire(run);
    assert.ok(Date.now() - started < 1000);
    assert.equal(readFileSync(daemonPidPath(run), 'utf8'), `${process.pid}\n`);
    assert.ok(Date.now() - statSync(lockDirOf(run)).mtimeMs < 2000, 'the lock directory is ours (fresh)');
  });

  it('acquireDaemonLock reclaims a lock 3 s old left by a dead daemon before proper-lockfile would call it stale', async () => {
    const run = runDir();
    leaveLock(run, deadPid(), 3000);
    const started = Date.now();
    await acquire(run);
    assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
    assert.equal(readFileSync(daemonPidPath(run), 'utf8'), `${process.pid}\n`);
  });

  it('acquireDaemonLock reclaims a fresh lock of a dead daemon once it has gone unrefreshed for 1.25 s', async () => {
    const run = runDir();
    leaveLock(run, deadPid(), 0);
    const started = Date.now();
    await acquire(run);
    const waited = Date.now() - started;
    assert.ok(waited >= 1200 && waited < 3000, `acquired after ${waited} ms`);
    assert.equal(readFileSync(daemonPidPath(run), 'utf8'), `${process.pid}\n`);
  });

  it('acquireDaemonLock takes a lock whose pid file is garbage once it has gone unrefreshed', async () => {
    const run = runDir();
    writeFileSync(daemonPidPath(run), 'not a pid\n');
    mkdirSync(lockDirOf(run));
    const old = new Date(Date.now() - 3000);
    utimesSync(lockDirOf(run), old, old);
    await acquire(run);
    assert.equal(readFileSync(daemonPidPath(run), 'utf8'), `${process.pid}\n`);
  });
});

describe('runningDaemonPid', () => {
  it('runningDaemonPid returns the pid in daemon.pid when that process is alive', async () => {
    const run = runDir();
    const other = await livePid();
    writeFileSync(daemonPidPath(run), `${other}\n`);
    assert.equal(await runningDaemonPid(run), other);
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
