import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { KeepalivedWatch, readVrrpProcess } from '../../../src/daemon/keepalived-watch.ts';
import { scratchDir } from '../../helpers/scratch.ts';

const { fresh } = scratchDir('keepalived-watch');
let dir: string;
let proc: string;
let pidFile: string;

/** A process `pid` named `comm` in the fake /proc. */
const process_ = (pid: number, comm: string): void => {
  mkdirSync(path.join(proc, String(pid)), { recursive: true });
  writeFileSync(path.join(proc, String(pid), 'comm'), `${comm}\n`);
};

beforeEach(() => {
  dir = fresh('case');
  proc = path.join(dir, 'proc');
  pidFile = path.join(dir, 'vrrp.pid');
  mkdirSync(proc, { recursive: true });
});

describe('readVrrpProcess', () => {
  it('is alive when the pid file names a live keepalived', () => {
    process_(41, 'keepalived');
    writeFileSync(pidFile, '41\n');
    assert.deepEqual(readVrrpProcess(pidFile, proc), { alive: true, pid: 41, why: 'keepalived VRRP process 41 alive' });
  });

  it('is gone when the pid file is missing', () => {
    assert.deepEqual(readVrrpProcess(pidFile, proc), { alive: false, pid: null, why: `no ${pidFile}` });
  });

  it('is gone when the pid is dead (SIGKILL leaves the pid file behind)', () => {
    writeFileSync(pidFile, '41\n');
    assert.equal(readVrrpProcess(pidFile, proc).alive, false);
    assert.match(readVrrpProcess(pidFile, proc).why, /process 41 .* is gone/);
  });

  it('is gone when the pid was recycled by another program', () => {
    process_(41, 'bash');
    writeFileSync(pidFile, '41\n');
    assert.equal(readVrrpProcess(pidFile, proc).why, `pid 41 of ${pidFile} is now "bash", not keepalived`);
  });

  it('is gone when the pid file holds no pid', () => {
    writeFileSync(pidFile, 'garbage');
    assert.match(readVrrpProcess(pidFile, proc).why, /holds no pid/);
  });
});

describe('KeepalivedWatch', () => {
  let gone: string[];
  let never: string[];
  let active: boolean;
  const watch = (): KeepalivedWatch =>
    new KeepalivedWatch({ pidFile, goneMs: 3000, procRoot: proc, active: () => active, onGone: (why) => gone.push(why), onNeverSeen: (why) => never.push(why) });

  beforeEach(() => {
    gone = [];
    never = [];
    active = true;
    process_(41, 'keepalived');
    writeFileSync(pidFile, '41\n');
  });

  it('calls onGone once keepalived has been gone for goneMs, not before', () => {
    const w = watch();
    w.tick(0);
    rmSync(path.join(proc, '41'), { recursive: true });
    w.tick(1000);
    w.tick(3999);
    assert.deepEqual(gone, []);
    w.tick(4000);
    assert.equal(gone.length, 1);
    assert.match(gone[0] ?? '', /process 41 .* is gone for 3000 ms/);
  });

  it('calls onGone once per absence', () => {
    const w = watch();
    w.tick(0);
    rmSync(path.join(proc, '41'), { recursive: true });
    for (let t = 1000; t <= 20_000; t += 500) w.tick(t);
    assert.equal(gone.length, 1);
    process_(41, 'keepalived');
    w.tick(21_000);
    rmSync(path.join(proc, '41'), { recursive: true });
    w.tick(22_000);
    w.tick(25_000);
    assert.equal(gone.length, 2, 'back and gone again: a second call');
  });

  it('forgets an absence when keepalived comes back in time', () => {
    const w = watch();
    w.tick(0);
    rmSync(path.join(proc, '41'), { recursive: true });
    w.tick(1000);
    process_(42, 'keepalived');
    writeFileSync(pidFile, '42\n'); // restarted: a new pid
    w.tick(2000);
    rmSync(path.join(proc, '42'), { recursive: true });
    w.tick(4500);
    assert.deepEqual(gone, [], 'the count started again at 4500');
  });

  it('does nothing while inactive (not MASTER) and restarts its count when active again', () => {
    const w = watch();
    w.tick(0);
    rmSync(path.join(proc, '41'), { recursive: true });
    w.tick(1000);
    active = false;
    w.tick(10_000);
    assert.deepEqual(gone, []);
    active = true;
    w.tick(11_000);
    w.tick(13_000);
    assert.deepEqual(gone, [], '2 s gone since it became active again');
    w.tick(14_000);
    assert.equal(gone.length, 1);
  });

  it('stays idle, with one warning, until it has seen keepalived alive (a wrong pid file, no keepalived)', () => {
    rmSync(pidFile);
    const w = watch();
    for (let t = 0; t <= 30_000; t += 500) w.tick(t);
    assert.deepEqual(gone, []);
    assert.deepEqual(never, [`no ${pidFile}`]);
  });
});
