// resolveLu against a fake sysfs tree laid out as the kernel lays it out (/sys/class/block/<name>
// symlinks into /sys/devices/…/block/<disk>[/<partition>]).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resolveLu } from '../../../../fence/scsi-pr/device.ts';

const root = mkdtempSync(path.join(tmpdir(), 'resolve-lu-'));
const sys = path.join(root, 'sys');
const dev = path.join(root, 'dev');
after(() => rmSync(root, { recursive: true, force: true }));

/** A disk (and its partitions) in the fake tree; `scsi` adds device/scsi_device, `dmUuid` a dm/ directory. */
function disk(name: string, options: { scsi?: boolean; dmUuid?: string; partitions?: string[] } = {}): void {
  const real = path.join(sys, 'devices', 'platform', name, 'block', name);
  mkdirSync(real, { recursive: true });
  if (options.scsi === true) mkdirSync(path.join(real, 'device', 'scsi_device', '2:0:0:1'), { recursive: true });
  if (options.dmUuid !== undefined) {
    mkdirSync(path.join(real, 'dm'), { recursive: true });
    writeFileSync(path.join(real, 'dm', 'uuid'), `${options.dmUuid}\n`);
  }
  mkdirSync(path.join(sys, 'class', 'block'), { recursive: true });
  mkdirSync(dev, { recursive: true });
  symlinkSync(real, path.join(sys, 'class', 'block', name));
  writeFileSync(path.join(dev, name), '');
  for (const part of options.partitions ?? []) {
    mkdirSync(path.join(real, part), { recursive: true });
    writeFileSync(path.join(real, part, 'partition'), '1\n');
    symlinkSync(path.join(real, part), path.join(sys, 'class', 'block', part));
    writeFileSync(path.join(dev, part), '');
  }
}

disk('sdb', { scsi: true, partitions: ['sdb1'] });
disk('vda', { partitions: ['vda1'] });
disk('dm-0', { dmUuid: 'mpath-3600140512345678' });
disk('dm-1', { dmUuid: 'LVM-abc' });
mkdirSync(path.join(dev, 'disk', 'by-id'), { recursive: true });
symlinkSync('../../sdb1', path.join(dev, 'disk', 'by-id', 'scsi-36001405abc-part1'));

describe('resolveLu', () => {
  it('a partition resolves to its whole SCSI disk', () => {
    assert.deepEqual(resolveLu(path.join(dev, 'sdb1'), sys, dev), { configured: path.join(dev, 'sdb1'), device: path.join(dev, 'sdb'), kname: 'sdb', partition: 'sdb1' });
  });

  it('a by-id link to a partition resolves through the link', () => {
    const link = path.join(dev, 'disk', 'by-id', 'scsi-36001405abc-part1');
    assert.equal(resolveLu(link, sys, dev).device, path.join(dev, 'sdb'));
  });

  it('the whole disk resolves to itself', () => {
    assert.deepEqual(resolveLu(path.join(dev, 'sdb'), sys, dev), { configured: path.join(dev, 'sdb'), device: path.join(dev, 'sdb'), kname: 'sdb', partition: null });
  });

  it('refuses a dm-multipath map, naming it, and any other device-mapper device', () => {
    assert.throws(() => resolveLu(path.join(dev, 'dm-0'), sys, dev), { code: 'EPRDEVICE', message: /dm-multipath map/ });
    assert.throws(() => resolveLu(path.join(dev, 'dm-1'), sys, dev), { code: 'EPRDEVICE', message: /device-mapper device/ });
  });

  it('refuses a disk that is not SCSI, and a path that does not exist', () => {
    assert.throws(() => resolveLu(path.join(dev, 'vda1'), sys, dev), { code: 'EPRDEVICE', message: /not a SCSI device/ });
    assert.throws(() => resolveLu(path.join(dev, 'sdz1'), sys, dev), { code: 'EPRDEVICE', message: /ENOENT/ });
  });
});
