import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isAlive } from '../../../src/proc.ts';
import { findMysqld, mysqldSelector, type MysqldSelector } from '../../../src/probes/mysqld.ts';
import { Children } from '../../helpers/children.ts';
import { scratchDir } from '../../helpers/scratch.ts';

// A copy of sleep(1) named `fakemysqld` plays mysqld: its /proc/PID/comm is `fakemysqld`, a name
// no other process on the machine has.
const NAME = 'fakemysqld';

const { dir, fresh } = scratchDir('mysqld');
let fake: string;
let mountpoint: string;
let elsewhere: string;
const children = new Children();

before(() => {
  mkdirSync(path.join(dir, 'bin'));
  fake = path.join(dir, 'bin', NAME);
  copyFileSync('/bin/sleep', fake);
  mountpoint = path.join(dir, 'data');
  mkdirSync(path.join(mountpoint, 'mysql'), { recursive: true });
  elsewhere = path.join(dir, 'elsewhere');
  mkdirSync(elsewhere);
});

const killChildren = children.killAll;

afterEach(killChildren);

after(async () => {
  await killChildren();
});

const selector = (patch: Partial<MysqldSelector> = {}): MysqldSelector => ({
  pidFile: fresh('mysqld.pid'),
  processNames: [NAME],
  mountpoint,
  start: null,
  systemdUnit: null,
  ...patch,
});

/** Starts `program args` in `cwd` and waits until /proc shows it under its own name (or `comm`). */
const start = async (program: string, args: string[], cwd: string, argv0?: string, comm = path.basename(program)): Promise<number> => {
  const child = spawn(program, args, { cwd, stdio: 'ignore', ...(argv0 === undefined ? {} : { argv0 }) });
  children.push(child);
  await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
  const pid = child.pid!;
  const deadline = Date.now() + 5000;
  while (readComm(pid) !== comm) {
    if (Date.now() > deadline) throw new Error(`${program} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return pid;
};

const readComm = (pid: number): string | null => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
};

/** The pid of a process that has already exited (and been reaped). */
const deadPid = (): number => {
  const pid = spawnSync('true').pid;
  assert.ok(typeof pid === 'number' && pid > 0);
  assert.equal(isAlive(pid), false);
  return pid;
};

describe('findMysqld', () => {
  it('findMysqld reports the live process named by the pid file', async () => {
    const pid = await start(fake, ['30'], elsewhere);
    const sel = selector();
    writeFileSync(sel.pidFile, `${pid}\n`);
    assert.deepEqual(await findMysqld(sel), { pidFilePid: pid, pidFileAlive: true, pids: [pid] });
  });

  it('findMysqld lists the pid-file process once even when it is also in the datadir', async () => {
    const pid = await start(fake, ['30'], path.join(mountpoint, 'mysql'));
    const sel = selector();
    writeFileSync(sel.pidFile, `${pid}\n`);
    assert.deepEqual(await findMysqld(sel), { pidFilePid: pid, pidFileAlive: true, pids: [pid] });
  });

  it('findMysqld finds a process without a pid file by its working directory under the mountpoint', async () => {
    const pid = await start(fake, ['30'], path.join(mountpoint, 'mysql'));
    assert.deepEqual(await findMysqld(selector()), { pidFilePid: null, pidFileAlive: false, pids: [pid] });
  });

  it('findMysqld finds a process without a pid file whose command line is exactly the configured start command', async () => {
    const pid = await start(fake, ['30'], elsewhere);
    assert.deepEqual(await findMysqld(selector({ start: [fake, '30'] })), { pidFilePid: null, pidFileAlive: false, pids: [pid] });
  });

  it('findMysqld does not take a command line that only resembles the start command', async () => {
    const pid = await start(fake, ['31'], elsewhere);
    const result = await findMysqld(selector({ start: [fake, '30'] }));
    assert.ok(!result.pids.includes(pid));
    assert.deepEqual(await findMysqld(selector({ start: [fake, '3'] })), { pidFilePid: null, pidFileAlive: false, pids: [] });
    assert.deepEqual(await findMysqld(selector({ start: [fake] })), { pidFilePid: null, pidFileAlive: false, pids: [] });
  });

  it('findMysqld finds a process without a pid file whose command line points into the mountpoint', async () => {
    const pid = await start(fake, ['30'], elsewhere, path.join(mountpoint, 'mysql', NAME));
    assert.deepEqual(await findMysqld(selector()), { pidFilePid: null, pidFileAlive: false, pids: [pid] });
  });

  it('findMysqld does not take a command line that points into a sibling directory with a longer name', async () => {
    const pid = await start(fake, ['30'], elsewhere, path.join(`${mountpoint}2`, 'mysql', NAME));
    const result = await findMysqld(selector());
    assert.ok(!result.pids.includes(pid), `${mountpoint}2 is not under ${mountpoint}`);
  });

  it('findMysqld does not take a command line naming a path that merely contains the mountpoint', async () => {
    // sleep(1) rejects unknown options, so the `--datadir=` argument rides in argv[0]
    const foreign = await start(fake, ['30'], elsewhere, `--datadir=/srv${mountpoint}/mysql`);
    const ours = await start(fake, ['31'], elsewhere, `--datadir=${mountpoint}/mysql`);
    const result = await findMysqld(selector());
    assert.ok(!result.pids.includes(foreign), `/srv${mountpoint} is not under ${mountpoint}`);
    assert.ok(result.pids.includes(ours), '--datadir=<mountpoint>/mysql is');
  });

  it('findMysqld ignores a process of the same name that nothing ties to the shared disk', async () => {
    await start(fake, ['30'], elsewhere);
    assert.deepEqual(await findMysqld(selector({ start: ['/usr/sbin/mariadbd', '--datadir=/data/mysql'] })), { pidFilePid: null, pidFileAlive: false, pids: [] });
  });

  it('findMysqld ignores a process in the datadir with a name that is not configured', async () => {
    const pid = await start('sleep', ['30'], path.join(mountpoint, 'mysql'));
    const sel = selector();
    writeFileSync(sel.pidFile, `${pid}\n`);
    assert.deepEqual(await findMysqld(sel), { pidFilePid: pid, pidFileAlive: false, pids: [] });
  });

  it('findMysqld reports a pid file that names a dead process as not alive', async () => {
    const sel = selector();
    const pid = deadPid();
    writeFileSync(sel.pidFile, `${pid}\n`);
    assert.deepEqual(await findMysqld(sel), { pidFilePid: pid, pidFileAlive: false, pids: [] });
  });

  it('findMysqld still finds our mysqld in the datadir when the pid file names a dead process', async () => {
    const pid = await start(fake, ['30'], mountpoint);
    const sel = selector();
    const dead = deadPid();
    writeFileSync(sel.pidFile, `${dead}\n`);
    assert.deepEqual(await findMysqld(sel), { pidFilePid: dead, pidFileAlive: false, pids: [pid] });
  });

  it('findMysqld treats an empty or garbage pid file like a missing one', async () => {
    const pid = await start(fake, ['30'], mountpoint);
    for (const content of ['', '\n', 'garbage\n', '-5\n', '0\n', '12.5\n']) {
      const sel = selector();
      writeFileSync(sel.pidFile, content);
      assert.deepEqual(await findMysqld(sel), { pidFilePid: null, pidFileAlive: false, pids: [pid] }, `pid file ${JSON.stringify(content)}`);
    }
  });

  it('findMysqld lists the pid-file process first, then the other processes of ours', async () => {
    const inDatadir = await start(fake, ['30'], mountpoint);
    const byPidFile = await start(fake, ['30'], elsewhere);
    const sel = selector();
    writeFileSync(sel.pidFile, `${byPidFile}\n`);
    assert.deepEqual(await findMysqld(sel), { pidFilePid: byPidFile, pidFileAlive: true, pids: [byPidFile, inDatadir] });
  });

  it('findMysqld with firstOnly stops at the pid-file process and does not look for the others', async () => {
    const inDatadir = await start(fake, ['30'], mountpoint);
    const byPidFile = await start(fake, ['30'], elsewhere);
    const sel = selector();
    writeFileSync(sel.pidFile, `${byPidFile}\n`);
    assert.deepEqual(await findMysqld(sel, { firstOnly: true }), { pidFilePid: byPidFile, pidFileAlive: true, pids: [byPidFile] });
    assert.deepEqual((await findMysqld(sel)).pids, [byPidFile, inDatadir], 'without it, both');
  });

  it('findMysqld with firstOnly still scans /proc when the pid file names no live process, and stops at the first found', async () => {
    const strays = [await start(fake, ['30'], mountpoint), await start(fake, ['30'], mountpoint)];
    const sel = selector();
    writeFileSync(sel.pidFile, `${deadPid()}\n`);
    const found = await findMysqld(sel, { firstOnly: true });
    assert.equal(found.pidFileAlive, false);
    assert.equal(found.pids.length, 1, `one of ours, not both: ${JSON.stringify(found.pids)}`);
    assert.ok(strays.includes(found.pids[0] ?? -1), `one of the two strays ${JSON.stringify(strays)}`);
  });

  it('mysqldSelector takes the pid file, names and start command from mysqld and the mountpoint from disk', () => {
    assert.deepEqual(
      mysqldSelector({ mysqld: { pidFile: '/run/mysqld/mysqld.pid', processNames: ['mariadbd', 'mysqld'], start: null, systemdUnit: 'mariadb.service' }, disk: { mountpoint: '/data' } }),
      { pidFile: '/run/mysqld/mysqld.pid', processNames: ['mariadbd', 'mysqld'], mountpoint: '/data', start: null, systemdUnit: 'mariadb.service' },
    );
  });
});

describe('findMysqld in systemd unit mode', () => {
  const UNIT = 'mariadb.service';

  /** A fake cgroup tree whose `system.slice/<UNIT>/cgroup.procs` lists `pids` (cgroup v2 layout by default). */
  const cgroupRoot = (pids: number[], hierarchy = ''): string => {
    const root = fresh('cgroup');
    mkdirSync(path.join(root, hierarchy, 'system.slice', UNIT), { recursive: true });
    writeFileSync(path.join(root, hierarchy, 'system.slice', UNIT, 'cgroup.procs'), pids.map((pid) => `${pid}\n`).join(''));
    return root;
  };

  /** `fake 30` in a mount namespace of its own (as ProtectSystem= runs mysqld), in `cwd`. */
  const startInOwnNamespace = (cwd: string, seconds = '30'): Promise<number> =>
    start('unshare', ['--mount', '--propagation', 'private', fake, seconds], cwd, undefined, NAME);

  it('findMysqld takes the unit\'s process called mysqld although it runs in another mount namespace', async () => {
    const pid = await startInOwnNamespace(path.join(mountpoint, 'mysql'));
    assert.deepEqual(await findMysqld(selector()), { pidFilePid: null, pidFileAlive: false, pids: [] }, 'without the unit it is not ours');
    assert.deepEqual(await findMysqld(selector({ systemdUnit: UNIT, cgroupRoot: cgroupRoot([pid]) })), { pidFilePid: null, pidFileAlive: false, pids: [pid] });
  });

  it('findMysqld takes the unit\'s process wherever its working directory is', async () => {
    const pid = await startInOwnNamespace(elsewhere);
    assert.deepEqual(await findMysqld(selector({ systemdUnit: UNIT, cgroupRoot: cgroupRoot([pid]) })), { pidFilePid: null, pidFileAlive: false, pids: [pid] });
  });

  it('findMysqld ignores the unit\'s processes whose name is not configured (ExecStartPost scripts)', async () => {
    const other = await start('sleep', ['30'], elsewhere);
    assert.deepEqual(await findMysqld(selector({ systemdUnit: UNIT, cgroupRoot: cgroupRoot([other]) })), { pidFilePid: null, pidFileAlive: false, pids: [] });
  });

  it('findMysqld counts the pid-file process in another mount namespace as alive when it is in the unit\'s cgroup, once', async () => {
    const pid = await startInOwnNamespace(elsewhere);
    const sel = selector({ systemdUnit: UNIT, cgroupRoot: cgroupRoot([pid]) });
    writeFileSync(sel.pidFile, `${pid}\n`);
    assert.deepEqual(await findMysqld(sel), { pidFilePid: pid, pidFileAlive: true, pids: [pid] });
  });

  it('findMysqld does not count a pid-file process in another mount namespace outside the unit\'s cgroup', async () => {
    const pid = await startInOwnNamespace(elsewhere);
    const sel = selector({ systemdUnit: UNIT, cgroupRoot: cgroupRoot([]) });
    writeFileSync(sel.pidFile, `${pid}\n`);
    assert.deepEqual(await findMysqld(sel), { pidFilePid: pid, pidFileAlive: false, pids: [] });
  });

  it('findMysqld reads a missing unit cgroup as a unit without processes, and still finds strays in our namespace', async () => {
    const stray = await start(fake, ['30'], path.join(mountpoint, 'mysql'));
    const sel = selector({ systemdUnit: UNIT, cgroupRoot: fresh('no-cgroup') });
    assert.deepEqual(await findMysqld(sel), { pidFilePid: null, pidFileAlive: false, pids: [stray] });
  });

  it('findMysqld lists the pid-file process, then the unit\'s, then the strays, each once', async () => {
    const byPidFile = await startInOwnNamespace(elsewhere);
    const unitChild = await startInOwnNamespace(elsewhere, '31');
    const stray = await start(fake, ['32'], path.join(mountpoint, 'mysql'));
    const inBoth = await start(fake, ['33'], path.join(mountpoint, 'mysql'));
    const sel = selector({ systemdUnit: UNIT, cgroupRoot: cgroupRoot([unitChild, inBoth, byPidFile]) });
    writeFileSync(sel.pidFile, `${byPidFile}\n`);
    const found = await findMysqld(sel);
    assert.deepEqual(found.pids.slice(0, 3), [byPidFile, unitChild, inBoth]);
    assert.deepEqual([...found.pids].sort(), [byPidFile, unitChild, stray, inBoth].sort());
  });

  it('findMysqld skips dead pids listed in the unit\'s cgroup', async () => {
    assert.deepEqual(await findMysqld(selector({ systemdUnit: UNIT, cgroupRoot: cgroupRoot([deadPid()]) })), { pidFilePid: null, pidFileAlive: false, pids: [] });
  });

  it('findMysqld reads the unit\'s cgroup in the hybrid layout\'s unified hierarchy', async () => {
    const pid = await startInOwnNamespace(elsewhere);
    assert.deepEqual(await findMysqld(selector({ systemdUnit: UNIT, cgroupRoot: cgroupRoot([pid], 'unified') })), { pidFilePid: null, pidFileAlive: false, pids: [pid] });
  });
});
