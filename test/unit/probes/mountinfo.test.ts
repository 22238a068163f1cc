import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deviceNumber, parseMountinfo, probeMount, scsiDeviceState } from '../../../src/probes/mountinfo.ts';
import { scratchDir } from '../../helpers/scratch.ts';

// /dev/null is a character device with major 1, minor 3 on every Linux system: deviceNumber() only
// reads st_rdev, so it stands in for the shared block device.
const DEVICE = '/dev/null';
const DEVICE_NUMBER = '1:3';

const ROOT_LINE = '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro';
const line = (id: number, majorMinor: string, mountpoint: string, options: string, fstype: string, source: string, superOptions: string): string =>
  `${id} 22 ${majorMinor} / ${mountpoint} ${options} shared:${id} - ${fstype} ${source} ${superOptions}`;

describe('parseMountinfo', () => {
  it('parseMountinfo reads every field of a line with one optional field', () => {
    assert.deepEqual(parseMountinfo('36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n'), [
      { mountId: 36, majorMinor: '98:0', mountpoint: '/mnt2', options: ['rw', 'noatime'], fstype: 'ext3', source: '/dev/root', superOptions: ['rw', 'errors=continue'] },
    ]);
  });

  it('parseMountinfo handles lines without optional fields and with several of them', () => {
    const entries = parseMountinfo(
      ['40 22 8:17 / /data rw - xfs /dev/sdb1 rw,attr2', '41 22 8:33 / /srv ro,nosuid shared:5 master:2 propagate_from:1 - ext4 /dev/sdc1 ro'].join('\n'),
    );
    assert.equal(entries.length, 2);
    assert.deepEqual(entries[0], { mountId: 40, majorMinor: '8:17', mountpoint: '/data', options: ['rw'], fstype: 'xfs', source: '/dev/sdb1', superOptions: ['rw', 'attr2'] });
    assert.deepEqual(entries[1], { mountId: 41, majorMinor: '8:33', mountpoint: '/srv', options: ['ro', 'nosuid'], fstype: 'ext4', source: '/dev/sdc1', superOptions: ['ro'] });
  });

  it('parseMountinfo decodes octal escapes for space, tab, newline and backslash', () => {
    const [entry] = parseMountinfo('50 22 8:17 / /mnt/my\\040data\\011x\\012y\\134z rw - ext4 /dev/disk\\040one rw\n');
    assert.ok(entry);
    assert.equal(entry.mountpoint, '/mnt/my data\tx\ny\\z');
    assert.equal(entry.source, '/dev/disk one');
  });

  it('parseMountinfo reports superblock options separately from per-mount options', () => {
    const [entry] = parseMountinfo(line(60, '8:17', '/data', 'rw,noatime', 'ext4', '/dev/sdb1', 'ro,errors=remount-ro'));
    assert.ok(entry);
    assert.deepEqual(entry.options, ['rw', 'noatime']);
    assert.deepEqual(entry.superOptions, ['ro', 'errors=remount-ro']);
  });

  it('parseMountinfo skips empty and malformed lines', () => {
    const entries = parseMountinfo(['', 'garbage', '1 2 3 4 5 6 7 8', '61 22 8:17 / /data rw -', ROOT_LINE, ''].join('\n'));
    assert.equal(entries.length, 1);
    assert.equal(entries[0]?.mountpoint, '/');
  });

  it('parseMountinfo parses the real /proc/self/mountinfo with a root entry', async () => {
    const { readFile } = await import('node:fs/promises');
    const entries = parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
    assert.ok(entries.length > 0);
    assert.ok(entries.some((entry) => entry.mountpoint === '/'));
    for (const entry of entries) assert.match(entry.majorMinor, /^\d+:\d+$/);
  });
});

describe('deviceNumber', () => {
  it('deviceNumber gives 1:3 for /dev/null', async () => {
    assert.equal(await deviceNumber(DEVICE), DEVICE_NUMBER);
  });

  it('deviceNumber rejects with ENOENT for a missing device node', async () => {
    await assert.rejects(deviceNumber('/dev/fence-agent-no-such-device'), { code: 'ENOENT' });
  });
});

describe('probeMount', () => {
  const { dir, fresh } = scratchDir('mountinfo');

  const mountinfo = (...lines: string[]): string => {
    const file = fresh('mountinfo');
    writeFileSync(file, `${[ROOT_LINE, ...lines].join('\n')}\n`);
    return file;
  };

  it('probeMount sees the device mounted read-write at the mountpoint by its major:minor', async () => {
    // The source name differs on purpose: the match is by device number, not by name.
    const file = mountinfo(line(30, DEVICE_NUMBER, '/data', 'rw,relatime', 'ext4', '/dev/mapper/shared', 'rw'));
    assert.deepEqual(await probeMount(DEVICE, '/data', file), {
      mounted: true,
      readOnly: false,
      majorMinor: DEVICE_NUMBER,
      deviceError: null,
      otherAtMountpoint: null,
      mountpoints: ['/data'],
      deviceState: null,
    });
  });

  it('probeMount reports not mounted when nothing is mounted at the mountpoint', async () => {
    const file = mountinfo();
    assert.deepEqual(await probeMount(DEVICE, '/data', file), {
      mounted: false,
      readOnly: false,
      majorMinor: DEVICE_NUMBER,
      deviceError: null,
      otherAtMountpoint: null,
      mountpoints: [],
      deviceState: null,
    });
  });

  it('probeMount reports read-only for the ro mount option', async () => {
    const file = mountinfo(line(30, DEVICE_NUMBER, '/data', 'ro,relatime', 'ext4', '/dev/null', 'rw'));
    const state = await probeMount(DEVICE, '/data', file);
    assert.equal(state.mounted, true);
    assert.equal(state.readOnly, true);
  });

  it('probeMount reports read-only when the superblock went ro under a rw mount', async () => {
    const file = mountinfo(line(30, DEVICE_NUMBER, '/data', 'rw,relatime', 'ext4', '/dev/null', 'ro,errors=remount-ro'));
    const state = await probeMount(DEVICE, '/data', file);
    assert.equal(state.mounted, true);
    assert.equal(state.readOnly, true);
  });

  it('probeMount names another filesystem mounted at the mountpoint', async () => {
    const file = mountinfo(line(30, '8:33', '/data', 'rw', 'ext4', '/dev/sdc1', 'rw'));
    const state = await probeMount(DEVICE, '/data', file);
    assert.equal(state.mounted, false);
    assert.equal(state.readOnly, false);
    assert.equal(state.otherAtMountpoint, '/dev/sdc1');
    assert.deepEqual(state.mountpoints, []);
  });

  it('probeMount judges only the top-most mount when another filesystem is stacked over the device', async () => {
    const file = mountinfo(
      line(30, DEVICE_NUMBER, '/data', 'rw', 'ext4', '/dev/null', 'rw'),
      line(31, '0:45', '/data', 'rw', 'tmpfs', 'tmpfs', 'rw'),
    );
    const state = await probeMount(DEVICE, '/data', file);
    assert.equal(state.mounted, false);
    assert.equal(state.otherAtMountpoint, 'tmpfs');
    assert.deepEqual(state.mountpoints, ['/data']);
  });

  it('probeMount sees the device when it is mounted over another filesystem', async () => {
    const file = mountinfo(
      line(30, '0:45', '/data', 'rw', 'tmpfs', 'tmpfs', 'rw'),
      line(31, DEVICE_NUMBER, '/data', 'rw', 'ext4', '/dev/null', 'rw'),
    );
    const state = await probeMount(DEVICE, '/data', file);
    assert.equal(state.mounted, true);
    assert.equal(state.otherAtMountpoint, null);
  });

  it('probeMount lists every mountpoint of the device, including ones elsewhere', async () => {
    const file = mountinfo(
      line(30, DEVICE_NUMBER, '/data', 'rw', 'ext4', '/dev/null', 'rw'),
      line(31, DEVICE_NUMBER, '/mnt/copy', 'rw', 'ext4', '/dev/null', 'rw'),
    );
    const state = await probeMount(DEVICE, '/data', file);
    assert.equal(state.mounted, true);
    assert.deepEqual(state.mountpoints, ['/data', '/mnt/copy']);
  });

  it('probeMount reports the device mounted only elsewhere as not mounted at the mountpoint', async () => {
    const file = mountinfo(line(30, DEVICE_NUMBER, '/mnt/other', 'rw', 'ext4', '/dev/null', 'rw'));
    const state = await probeMount(DEVICE, '/data', file);
    assert.equal(state.mounted, false);
    assert.equal(state.otherAtMountpoint, null);
    assert.deepEqual(state.mountpoints, ['/mnt/other']);
  });

  it('probeMount matches a mountpoint containing a space through its \\040 escape', async () => {
    const file = mountinfo(line(30, DEVICE_NUMBER, '/srv/my\\040data', 'rw', 'ext4', '/dev/null', 'rw'));
    const state = await probeMount(DEVICE, '/srv/my data', file);
    assert.equal(state.mounted, true);
    assert.deepEqual(state.mountpoints, ['/srv/my data']);
  });

  it('probeMount falls back to matching the source name when the device node is missing', async () => {
    const missing = '/dev/fence-agent-missing-disk';
    const file = mountinfo(line(30, '8:17', '/data', 'rw', 'ext4', missing, 'rw'));
    assert.deepEqual(await probeMount(missing, '/data', file), {
      mounted: true,
      readOnly: false,
      majorMinor: null,
      deviceError: 'ENOENT',
      otherAtMountpoint: null,
      mountpoints: ['/data'],
      deviceState: null,
    });
  });

  it('probeMount does not match by source name when the device number is known and differs', async () => {
    // A line that names /dev/null as its source but carries another device number is not the device.
    const file = mountinfo(line(30, '8:17', '/data', 'rw', 'ext4', '/dev/null', 'rw'));
    const state = await probeMount(DEVICE, '/data', file);
    assert.equal(state.mounted, false);
    assert.equal(state.otherAtMountpoint, '/dev/null');
  });

  it('probeMount rejects when the mountinfo file cannot be read', async () => {
    await assert.rejects(probeMount(DEVICE, '/data', path.join(dir, 'no-such-mountinfo')), { code: 'ENOENT' });
  });

  it('scsiDeviceState reads the parent disk state of a partition (iSCSI: running, blocked, transport-offline)', async () => {
    const sys = fresh('sys');
    mkdirSync(path.join(sys, 'devices/platform/host3/target3:0:0/3:0:0:1/block/sdb/sdb1'), { recursive: true });
    writeFileSync(path.join(sys, 'devices/platform/host3/target3:0:0/3:0:0:1/state'), 'transport-offline\n');
    symlinkSync(path.join(sys, 'devices/platform/host3/target3:0:0/3:0:0:1'), path.join(sys, 'devices/platform/host3/target3:0:0/3:0:0:1/block/sdb/device'));
    mkdirSync(path.join(sys, 'dev/block'), { recursive: true });
    symlinkSync(path.join(sys, 'devices/platform/host3/target3:0:0/3:0:0:1/block/sdb/sdb1'), path.join(sys, 'dev/block/8:17'));
    symlinkSync(path.join(sys, 'devices/platform/host3/target3:0:0/3:0:0:1/block/sdb'), path.join(sys, 'dev/block/8:16'));
    assert.equal(await scsiDeviceState('8:17', sys), 'transport-offline');
    assert.equal(await scsiDeviceState('8:16', sys), 'transport-offline');
  });

  it('scsiDeviceState is null for a device without a SCSI state (a loop device, an unknown number)', async () => {
    const sys = fresh('sys');
    mkdirSync(path.join(sys, 'devices/virtual/block/loop3'), { recursive: true });
    mkdirSync(path.join(sys, 'dev/block'), { recursive: true });
    symlinkSync(path.join(sys, 'devices/virtual/block/loop3'), path.join(sys, 'dev/block/7:3'));
    assert.equal(await scsiDeviceState('7:3', sys), null);
    assert.equal(await scsiDeviceState('250:9', sys), null);
  });
});
