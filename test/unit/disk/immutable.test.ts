import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../../src/config/types.ts';
import { isImmutable, protectMountpoint } from '../../../src/disk/immutable.ts';
import { logStub } from '../../helpers/log-stub.ts';
import { testConfig } from '../../helpers/mysqld-config.ts';
import { scratchDir } from '../../helpers/scratch.ts';

// Real lsattr/chattr on the scratch directory's filesystem (ext4 on these machines), and a real
// FUSE filesystem (bindfs) for one without the flag.
const { dir, fresh } = scratchDir('immutable');
const protectedDirs: string[] = [];

/** A configuration whose mountpoint is a fresh, empty directory. */
const configWithMountpoint = (immutableMountpoint = true): Config => {
  const config = testConfig({ dir: fresh('node') });
  config.disk.immutableMountpoint = immutableMountpoint;
  mkdirSync(config.disk.mountpoint, { recursive: true });
  protectedDirs.push(config.disk.mountpoint);
  return config;
};

const lsattrFlags = (target: string): string => spawnSync('lsattr', ['-d', target], { encoding: 'utf8' }).stdout.split(/\s+/)[0] ?? '';
const signal = (): AbortSignal => AbortSignal.timeout(5000);

afterEach(() => {
  // the scratch directory is removed after the file: nothing may stay immutable in it
  for (const target of protectedDirs.splice(0)) spawnSync('chattr', ['-i', target]);
});

describe('protectMountpoint', () => {
  it('protectMountpoint makes an empty, unmounted mountpoint immutable, and nothing can be created in it', async () => {
    const config = configWithMountpoint();
    const { log, messages } = logStub();
    assert.equal(await protectMountpoint(config, signal(), log), 'set');
    assert.match(lsattrFlags(config.disk.mountpoint), /i/);
    assert.equal(await isImmutable(config.disk.mountpoint, signal()), true);
    assert.throws(() => mkdirSync(path.join(config.disk.mountpoint, 'mysql')), { code: 'EPERM' });
    assert.throws(() => writeFileSync(path.join(config.disk.mountpoint, 'ibdata1'), ''), { code: 'EPERM' });
    assert.deepEqual(messages('info'), [`${config.disk.mountpoint} made immutable (chattr +i): nothing can be created in it while the disk is not mounted`]);
  });

  it('protectMountpoint leaves an already immutable mountpoint as it is', async () => {
    const config = configWithMountpoint();
    assert.equal(await protectMountpoint(config, signal(), logStub().log), 'set');
    assert.equal(await protectMountpoint(config, signal(), logStub().log), 'already');
  });

  it('protectMountpoint does nothing when disk.immutableMountpoint is false', async () => {
    const config = configWithMountpoint(false);
    assert.equal(await protectMountpoint(config, signal(), logStub().log), 'disabled');
    assert.equal(await isImmutable(config.disk.mountpoint, signal()), false);
  });

  it('protectMountpoint never touches a mountpoint that has a filesystem mounted on it', async () => {
    const config = configWithMountpoint();
    const mountinfo = fresh('mountinfo');
    writeFileSync(mountinfo, `36 25 8:17 / ${config.disk.mountpoint} rw,noatime shared:1 - ext4 /dev/sdb1 rw\n`);
    assert.equal(await protectMountpoint(config, signal(), logStub().log, mountinfo), 'mounted');
    assert.equal(await isImmutable(config.disk.mountpoint, signal()), false);
  });

  it('protectMountpoint on a filesystem without the flag logs one warn line and carries on', async () => {
    const store = fresh('fuse-store');
    const fuse = fresh('fuse');
    mkdirSync(path.join(store, 'data'), { recursive: true });
    mkdirSync(fuse);
    const mounted = spawnSync('bindfs', [store, fuse], { encoding: 'utf8' });
    assert.equal(mounted.status, 0, mounted.stderr);
    try {
      const config = configWithMountpoint();
      config.disk.mountpoint = path.join(fuse, 'data');
      const { log, lines } = logStub();
      assert.equal(await protectMountpoint(config, signal(), log), 'failed');
      assert.equal(lines.length, 1);
      assert.equal(lines[0]?.level, 'warn');
      assert.match(lines[0]?.message ?? '', new RegExp(`^could not make the empty mountpoint ${config.disk.mountpoint} immutable \\(disk\\.immutableMountpoint\\): lsattr -d .* Operation not supported`));
    } finally {
      spawnSync('umount', [fuse]);
    }
  });

  it('protectMountpoint warns once about a mountpoint that does not exist', async () => {
    const config = configWithMountpoint();
    config.disk.mountpoint = path.join(dir, 'no-such-dir');
    const { log, lines } = logStub();
    assert.equal(await protectMountpoint(config, signal(), log), 'failed');
    assert.deepEqual(lines.map((line) => line.level), ['warn']);
  });
});
