// Whether the shared filesystem is gone from the kernel: first against a fake sysfs tree, then on a
// real ext4 image on a loop device, mounted in a private mount namespace (an `unshare` whose sleep
// anchors it, as a node's mysqld under ProtectSystem= would be), detached there with `umount -l`
// while a process of that namespace keeps a file open on it.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from '../../../lab/wait.ts';
import { deviceNumber, majorMinorOf, parseMountinfo } from '../../../src/probes/mountinfo.ts';
import { filesystemHere, filesystemPresence, findDeviceHolders, kernelName, mountIdsOf, type DeviceHolder } from '../../../src/probes/superblock.ts';
import { mountNamespaceOf } from '../../../src/proc.ts';
import { Children } from '../../helpers/children.ts';
import { scratchDir } from '../../helpers/scratch.ts';

const scratch = scratchDir('superblock');

/** A device number no namespace mounts (the monitor's tests use it the same way). */
const MOUNTED_NOWHERE = '0:0';

/**
 * A fake sysfs: `dev/block/<majorMinor>` links to `../../devices/virtual/block/<name>` for each of
 * `devices`, and `fs/<type>/<name>` exists for each live superblock in `live` (a type listed with no
 * names gets an empty `fs/<type>`: the driver is loaded, nothing of it mounted).
 */
const fakeSysfs = (devices: Record<string, string>, live: Record<string, string[]>): string => {
  const root = scratch.fresh('sys');
  mkdirSync(path.join(root, 'dev', 'block'), { recursive: true });
  for (const [majorMinor, name] of Object.entries(devices)) {
    mkdirSync(path.join(root, 'devices', 'virtual', 'block', name), { recursive: true });
    symlinkSync(`../../devices/virtual/block/${name}`, path.join(root, 'dev', 'block', majorMinor));
  }
  for (const [type, names] of Object.entries(live)) {
    mkdirSync(path.join(root, 'fs', type), { recursive: true });
    for (const name of names) mkdirSync(path.join(root, 'fs', type, name));
  }
  return root;
};

const byPid = (holders: DeviceHolder[]): DeviceHolder[] => [...holders].sort((a, b) => a.pid - b.pid);

describe('kernelName', () => {
  it('reads the kernel name of a device from the dev/block/MAJ:MIN link', () => {
    const root = fakeSysfs({ '7:7': 'loop7', '253:0': 'dm-0' }, {});
    assert.equal(kernelName('7:7', root), 'loop7');
    assert.equal(kernelName('253:0', root), 'dm-0');
  });

  it('is null for a number without a link, and under a sysfs root that does not exist', () => {
    const root = fakeSysfs({ '7:7': 'loop7' }, {});
    assert.equal(kernelName('7:8', root), null);
    assert.equal(kernelName('7:7', scratch.fresh('no-sys')), null);
  });
});

describe('filesystemHere against a fake sysfs', () => {
  it('looks up the device node\'s major:minor and gives its presence, seen', () => {
    // /dev/null is 1:3 on every Linux: its number is what matters here, not its kind
    const root = fakeSysfs({ '1:3': 'null' }, { ext4: ['null'] });
    assert.deepEqual(filesystemHere('/dev/null', 'ext4', root), { active: true, evidence: `${root}/fs/ext4/null present (a live superblock)`, conclusive: true, unseen: false });
  });

  it('is inactive and unseen, never throwing, for a device node that cannot be looked at', () => {
    const presence = filesystemHere('/nonexistent/sdb1', 'ext4');
    assert.equal(presence.active, false);
    assert.equal(presence.unseen, true);
    assert.equal(presence.conclusive, false);
    assert.match(presence.evidence, /^\/nonexistent\/sdb1: .*ENOENT/);
  });
});

describe('filesystemPresence against a fake sysfs', () => {
  it('is active and conclusive while /sys/fs/ext4/<name> exists', () => {
    const root = fakeSysfs({ '7:7': 'loop7' }, { ext4: ['loop7'] });
    assert.deepEqual(filesystemPresence('7:7', 'ext4', root), { active: true, evidence: `${root}/fs/ext4/loop7 present (a live superblock)`, conclusive: true });
  });

  it('is inactive and conclusive once /sys/fs/ext4/<name> is gone, whatever else is there', () => {
    const root = fakeSysfs({ '7:7': 'loop7', '7:8': 'loop8' }, { ext4: ['loop8'], xfs: ['loop7'] });
    assert.deepEqual(filesystemPresence('7:7', 'ext4', root), { active: false, evidence: `${root}/fs/ext4/loop7 gone`, conclusive: true });
  });

  it('looks in /sys/fs/ext4 for ext3 (the ext4 driver serves it), in /sys/fs/xfs for xfs, and never concludes "gone" for ext2 from sysfs (its own driver keeps no entry)', () => {
    const root = fakeSysfs({ '7:7': 'loop7' }, { ext4: [], xfs: [] });
    assert.equal(filesystemPresence('7:7', 'ext2', root).conclusive, false);
    const withExt4 = fakeSysfs({ '7:7': 'loop7' }, { ext4: ['loop7'], xfs: [] });
    assert.equal(filesystemPresence('7:7', 'ext3', withExt4).evidence, `${withExt4}/fs/ext4/loop7 present (a live superblock)`);
    assert.deepEqual(filesystemPresence('7:7', 'xfs', root), { active: false, evidence: `${root}/fs/xfs/loop7 gone`, conclusive: true });
  });

  it('falls back to mountinfo, inconclusively, for a type without a sysfs directory: active while some namespace mounts the device', () => {
    // the filesystem this test's scratch directory is on is mounted in this namespace
    const here = majorMinorOf(statSync(scratch.dir, { bigint: true }).dev);
    const root = fakeSysfs({ [here]: 'vda9' }, { ext4: ['vda9'] });
    const presence = filesystemPresence(here, 'vfat', root);
    assert.equal(presence.active, true);
    assert.equal(presence.conclusive, false);
    const pids = /^mounted in the mount namespace of pid (\d+(?:, \d+)*)$/.exec(presence.evidence)?.[1]?.split(', ').map(Number) ?? [];
    assert.ok(pids.some((pid) => mountNamespaceOf(pid) === mountNamespaceOf('self')), `${presence.evidence} names a process of this namespace`);
  });

  it('falls back to mountinfo, inconclusively, for a device mounted nowhere: inactive, saying a lazy unmount would not show', () => {
    const root = fakeSysfs({ [MOUNTED_NOWHERE]: 'loop9' }, { ext4: [] });
    assert.deepEqual(filesystemPresence(MOUNTED_NOWHERE, 'vfat', root), {
      active: false,
      evidence: "in no mount namespace's mountinfo (vfat has no per-superblock sysfs entry: a lazily detached mount would not show)",
      conclusive: false,
    });
  });

  it('falls back to mountinfo for ext4 when the driver has no /sys/fs/ext4 or the device no dev/block link', () => {
    assert.equal(filesystemPresence(MOUNTED_NOWHERE, 'ext4', fakeSysfs({ [MOUNTED_NOWHERE]: 'loop9' }, {})).conclusive, false);
    assert.equal(filesystemPresence(MOUNTED_NOWHERE, 'ext4', fakeSysfs({}, { ext4: ['loop9'] })).conclusive, false);
  });
});

describe('on a real loop device mounted in a private mount namespace', () => {
  const children = new Children();
  const image = scratch.fresh('disk.img');
  const mnt = scratch.fresh('mnt');
  /** a directory whose name starts with the mountpoint's: not under it */
  const sibling = `${mnt}-sibling`;
  let device = '';
  let majorMinor = '';
  /** the sleep anchoring the namespace that mounts the disk */
  let anchorPid = 0;
  /** a process of that namespace with fd 3 open on a file of the disk */
  let holderPid = 0;
  let holderExit: Promise<unknown> = Promise.resolve();
  /** mount ids collected while mounted, before the lazy unmount */
  let idsBefore = new Set<number>();

  after(async () => {
    await children.killAll();
    if (device !== '') {
      // the namespace died with its last process, and the mount with it
      await waitFor('the loop device unmounted everywhere', () => mountIdsOf(majorMinor).size === 0, 5000, 20).catch(() => undefined);
      execFileSync('losetup', ['-d', device]);
    }
  });

  /** Starts `argv` in this list's children; resolves its pid and a promise of its exit. */
  const start = (file: string, argv: string[], cwd?: string): { pid: number; exited: Promise<unknown> } => {
    const child = children.push(spawn(file, argv, { stdio: 'ignore', cwd }));
    assert.ok(child.pid);
    return { pid: child.pid, exited: new Promise((resolve) => child.once('exit', resolve)) };
  };

  const comm = (pid: number): string => readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  const anchorMountinfo = (): ReturnType<typeof parseMountinfo> => parseMountinfo(readFileSync(`/proc/${anchorPid}/mountinfo`, 'utf8'));

  it('before the mount: kernelName names the loop device, and it has no mount and no live superblock', async () => {
    execFileSync('truncate', ['-s', '16M', image]);
    execFileSync('mkfs.ext4', ['-q', '-F', image]);
    device = execFileSync('losetup', ['--show', '-f', image], { encoding: 'utf8' }).trim();
    majorMinor = await deviceNumber(device);
    mkdirSync(mnt);
    mkdirSync(sibling);
    assert.equal(kernelName(majorMinor), path.basename(device));
    assert.deepEqual([...mountIdsOf(majorMinor)], []);
    assert.deepEqual(filesystemPresence(majorMinor, 'ext4'), { active: false, evidence: `/sys/fs/ext4/${path.basename(device)} gone`, conclusive: true });
  });

  it('while mounted there only: active by its live superblock, and mountIdsOf collects the id of that mount', async () => {
    anchorPid = start('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `mount -t ext4 ${device} ${mnt} && exec sleep infinity`]).pid;
    await waitFor('the namespace mounted and anchored', () => comm(anchorPid) === 'sleep', 10_000, 20);
    const mount = anchorMountinfo().find((entry) => entry.mountpoint === mnt);
    assert.ok(mount, 'mounted in the namespace');
    assert.equal(mount.majorMinor, majorMinor);
    assert.equal(parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).some((entry) => entry.majorMinor === majorMinor), false, 'and not in ours');
    assert.deepEqual(filesystemPresence(majorMinor, 'ext4'), { active: true, evidence: `/sys/fs/ext4/${path.basename(device)} present (a live superblock)`, conclusive: true });
    idsBefore = mountIdsOf(majorMinor);
    assert.deepEqual([...idsBefore], [mount.mountId]);
  });

  it('findDeviceHolders lists every process of the other mount namespace that still mounts the device', async () => {
    ({ pid: holderPid, exited: holderExit } = start('nsenter', ['-t', String(anchorPid), '-m', '--', 'sh', '-c', `exec 3>${mnt}/held; echo written >&3; exec sleep infinity`]));
    await waitFor('the holder has the file open', () => readlinkSync(`/proc/${holderPid}/fd/3`) === `${mnt}/held` && comm(holderPid) === 'sleep', 10_000, 20);
    const why = `mount namespace ${mountNamespaceOf(anchorPid)} still mounts it`;
    assert.match(why, /^mount namespace mnt:\[\d+\] still mounts it$/);
    assert.deepEqual(byPid(findDeviceHolders(majorMinor, idsBefore, mnt)), byPid([
      { pid: anchorPid, comm: 'sleep', why },
      { pid: holderPid, comm: 'sleep', why },
    ]));
  });

  it('after umount -l there, a process holding a file open keeps it active, and findDeviceHolders names it by fd with the ids collected before', () => {
    execFileSync('nsenter', ['-t', String(anchorPid), '-m', '--', 'umount', '-l', mnt]);
    assert.equal(anchorMountinfo().some((entry) => entry.majorMinor === majorMinor), false, 'gone from every mountinfo');
    assert.deepEqual([...mountIdsOf(majorMinor)], [], 'so its id can no longer be collected');
    assert.deepEqual(filesystemPresence(majorMinor, 'ext4'), { active: true, evidence: `/sys/fs/ext4/${path.basename(device)} present (a live superblock)`, conclusive: true });
    assert.deepEqual(findDeviceHolders(majorMinor, idsBefore, mnt), [{ pid: holderPid, comm: 'sleep', why: 'fd 3' }], 'the holder by its fd; the anchor holds nothing now');
    assert.deepEqual(findDeviceHolders(majorMinor, new Set(), mnt), [], 'ids collected after the unmount find nothing');
  });

  it('findDeviceHolders lists a process of this namespace whose cwd is the mountpoint, never one whose cwd is merely elsewhere', async () => {
    const { pid: atMountpoint, exited: first } = start('sleep', ['infinity'], mnt);
    const { pid: elsewhere, exited: second } = start('sleep', ['infinity'], sibling);
    await waitFor('both sleeping', () => comm(atMountpoint) === 'sleep' && comm(elsewhere) === 'sleep', 10_000, 20);
    assert.equal(readlinkSync(`/proc/${elsewhere}/cwd`), sibling);
    const holders = byPid(findDeviceHolders(majorMinor, idsBefore, mnt));
    assert.deepEqual(holders, byPid([
      { pid: holderPid, comm: 'sleep', why: 'fd 3' },
      { pid: atMountpoint, comm: 'sleep', why: 'cwd' },
    ]));
    assert.deepEqual(findDeviceHolders(majorMinor, idsBefore, mnt, new Set([process.pid, atMountpoint, holderPid])), [], 'exceptPids are never listed');
    for (const pid of [atMountpoint, elsewhere]) process.kill(pid, 'SIGKILL');
    await Promise.all([first, second]);
  });

  it('once the holder is killed, the superblock goes: inactive, and nothing holds the device', async () => {
    process.kill(holderPid, 'SIGKILL');
    await holderExit;
    await waitFor('the superblock gone', () => !filesystemPresence(majorMinor, 'ext4').active, 5000, 10);
    assert.deepEqual(filesystemPresence(majorMinor, 'ext4'), { active: false, evidence: `/sys/fs/ext4/${path.basename(device)} gone`, conclusive: true });
    assert.deepEqual(findDeviceHolders(majorMinor, idsBefore, mnt), []);
  });
});
