import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readlinkSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { findMountUsers, type MountUser } from '../../../src/disk/users.ts';
import { Children } from '../../helpers/children.ts';
import { scratchDir } from '../../helpers/scratch.ts';

// No real mount is needed: findMountUsers compares the paths /proc shows against the mountpoint.
const { dir } = scratchDir('users');
let mountpoint: string;
/** A sibling whose name starts with the mountpoint's: "/x/data2" is not under "/x/data". */
let sibling: string;
const children = new Children();

before(() => {
  mountpoint = path.join(dir, 'data');
  sibling = path.join(dir, 'data2');
  mkdirSync(path.join(mountpoint, 'mysql'), { recursive: true });
  mkdirSync(sibling);
});

const killChildren = children.killAll;

afterEach(killChildren);

after(async () => {
  await killChildren();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts `file args` and waits until it has been exec'd (and, with `ready`, until that holds). */
const start = async (file: string, args: string[], cwd: string, ready: (pid: number) => boolean = () => true, env?: NodeJS.ProcessEnv): Promise<number> => {
  const child = spawn(file, args, { cwd, stdio: 'ignore', env: env ?? process.env });
  children.push(child);
  await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
  const pid = child.pid!;
  const deadline = Date.now() + 5000;
  for (;;) {
    let isReady = false;
    try {
      isReady = readlinkSync(`/proc/${pid}/exe`).endsWith('sleep') && ready(pid);
    } catch {
      // not there yet
    }
    if (isReady) return pid;
    if (Date.now() > deadline) throw new Error(`${file} ${args.join(' ')} did not get ready`);
    await sleep(20);
  }
};

const hasFd = (pid: number, fd: number, target: string): boolean => {
  try {
    return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(target);
  } catch {
    return false;
  }
};

const usersFor = async (pid: number): Promise<MountUser[]> => (await findMountUsers(mountpoint)).filter((user) => user.pid === pid);

describe('findMountUsers', () => {
  it('findMountUsers finds a process whose working directory is below the mountpoint', async () => {
    const pid = await start('sleep', ['30'], path.join(mountpoint, 'mysql'));
    assert.deepEqual(await usersFor(pid), [{ pid, comm: 'sleep', why: 'cwd' }]);
  });

  it('findMountUsers finds a process whose working directory is the mountpoint itself', async () => {
    const pid = await start('sleep', ['30'], mountpoint);
    assert.deepEqual(await usersFor(pid), [{ pid, comm: 'sleep', why: 'cwd' }]);
  });

  it('findMountUsers finds a process holding a file open below the mountpoint by its descriptor', async () => {
    const file = path.join(mountpoint, 'mysql', 'ibdata1');
    writeFileSync(file, 'x');
    const pid = await start('sh', ['-c', 'exec 3<"$0"; exec sleep 30', file], sibling, (p) => hasFd(p, 3, file));
    const users = await usersFor(pid);
    assert.equal(users.length, 1);
    assert.equal(users[0]?.comm, 'sleep');
    assert.match(users[0]?.why ?? '', /^fd /);
    assert.equal(users[0]?.why, 'fd 3');
  });

  it('findMountUsers still finds a process holding a deleted file below the mountpoint', async () => {
    const file = path.join(mountpoint, 'mysql', 'ib_logfile0');
    writeFileSync(file, 'x');
    const pid = await start('sh', ['-c', 'exec 7<"$0"; exec sleep 30', file], sibling, (p) => hasFd(p, 7, file));
    unlinkSync(file);
    assert.equal(readlinkSync(`/proc/${pid}/fd/7`), `${file} (deleted)`);
    assert.deepEqual(await usersFor(pid), [{ pid, comm: 'sleep', why: 'fd 7' }]);
  });

  it('findMountUsers finds a process running a program stored below the mountpoint', async () => {
    const program = path.join(mountpoint, 'sleep');
    copyFileSync('/bin/sleep', program);
    try {
      const pid = await start(program, ['30'], sibling);
      assert.deepEqual(await usersFor(pid), [{ pid, comm: 'sleep', why: 'exe' }]);
    } finally {
      await killChildren();
      rmSync(program, { force: true });
    }
  });

  it('findMountUsers finds a process that maps a library stored below the mountpoint', async () => {
    // The C library this process maps, copied below the mountpoint and preloaded into `sleep`:
    // then only /proc/PID/maps ties sleep to the mountpoint (no cwd, exe or open descriptor).
    const libc = /\s(\/\S*\/libc\.so\.6)$/m.exec(readFileSync('/proc/self/maps', 'utf8'))?.[1];
    assert.ok(libc !== undefined, 'this process maps libc.so.6');
    const library = path.join(mountpoint, 'libc.so.6');
    copyFileSync(libc, library);
    try {
      const mapsLibrary = (p: number): boolean => readFileSync(`/proc/${p}/maps`, 'utf8').includes(library);
      const pid = await start('sleep', ['30'], sibling, mapsLibrary, { ...process.env, LD_PRELOAD: library });
      assert.deepEqual(await usersFor(pid), [{ pid, comm: 'sleep', why: 'maps' }]);
    } finally {
      await killChildren();
      rmSync(library, { force: true });
    }
  });

  it('findMountUsers does not list processes that use a sibling directory with a longer name', async () => {
    const file = path.join(sibling, 'other');
    writeFileSync(file, 'x');
    const inSibling = await start('sleep', ['30'], sibling);
    const holdingSiblingFile = await start('sh', ['-c', 'exec 3<"$0"; exec sleep 30', file], dir, (p) => hasFd(p, 3, file));
    const users = await findMountUsers(mountpoint);
    assert.deepEqual(users.filter((user) => user.pid === inSibling || user.pid === holdingSiblingFile), []);
  });

  it('findMountUsers lists exactly the processes that use the mountpoint', async () => {
    const inside = await start('sleep', ['30'], mountpoint);
    const elsewhere = await start('sleep', ['30'], sibling);
    const users = await findMountUsers(mountpoint);
    const ours = users.filter((user) => user.pid === inside || user.pid === elsewhere);
    assert.deepEqual(ours, [{ pid: inside, comm: 'sleep', why: 'cwd' }]);
    assert.ok(!users.some((user) => user.pid === process.pid), 'the caller itself is never listed');
  });

  it('findMountUsers returns nothing for a mountpoint no process uses', async () => {
    await start('sleep', ['30'], sibling);
    assert.deepEqual(await findMountUsers(path.join(dir, 'unused')), []);
  });
});
