// Which SCSI device (logical unit) carries the configured disk: persistent reservations belong to
// a whole LU (SPC-4 §5.13), so `/dev/sdb1` or a `/dev/disk/by-id/…-part1` link is resolved to
// `/dev/sdb` through sysfs (`/sys/class/block/<kname>/partition` marks a partition; its parent
// directory is the disk).
//
// Device-mapper devices are refused: a dm-multipath map has one I_T nexus per path, and a key
// registered through one path does not let the others write under WERO. Registering every path
// needs `mpathpersist` (or `reservation_key` in multipath.conf so multipathd registers new paths),
// which this method does not drive yet.
import { readFileSync, realpathSync, existsSync } from 'node:fs';
import path from 'node:path';
import { FenceAgentError } from '../../src/errors.ts';

export interface ResolvedLu {
  /** the configured path, as given */
  configured: string;
  /** the whole device to send PR commands to, e.g. `/dev/sdb` */
  device: string;
  /** its kernel name, e.g. `sdb` */
  kname: string;
  /** the partition's kernel name when the configured path was a partition, e.g. `sdb1` */
  partition: string | null;
}

/**
 * Resolves `configured` (a block device, a partition, or a symlink to one) to its LU.
 * `sysRoot` and `devRoot` are for tests (a fake tree); the defaults are the real ones.
 * @throws FenceAgentError code `EPRDEVICE`: not a block device known to sysfs, a device-mapper
 *   device (multipath: see the module comment), or not a SCSI device (no `device/scsi_device`).
 */
export function resolveLu(configured: string, sysRoot = '/sys', devRoot = '/dev'): ResolvedLu {
  let real: string;
  try {
    real = realpathSync(configured);
  } catch (error) {
    throw new FenceAgentError('EPRDEVICE', `fence device ${configured}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'} (expected a SCSI disk or partition, e.g. /dev/sdb1)`);
  }
  const name = path.basename(real);
  const block = path.join(sysRoot, 'class', 'block', name);
  if (!existsSync(block)) throw new FenceAgentError('EPRDEVICE', `fence device ${configured} (${real}) is not a block device the kernel lists in ${path.join(sysRoot, 'class', 'block')}`);
  let kname = name;
  let partition: string | null = null;
  if (existsSync(path.join(block, 'partition'))) {
    partition = name;
    kname = path.basename(path.dirname(realpathSync(block)));
  }
  const disk = path.join(sysRoot, 'class', 'block', kname);
  if (existsSync(path.join(disk, 'dm'))) {
    const uuid = readText(path.join(disk, 'dm', 'uuid'));
    const what = uuid.startsWith('mpath-') ? 'a dm-multipath map' : 'a device-mapper device';
    throw new FenceAgentError('EPRDEVICE', `fence device ${configured} is ${what} (${kname}): scsi-pr registers one I_T nexus; use the SCSI device itself, or multipath with every path registered (not supported yet)`);
  }
  if (!existsSync(path.join(disk, 'device', 'scsi_device'))) {
    throw new FenceAgentError('EPRDEVICE', `fence device ${configured} (${kname}) is not a SCSI device: persistent reservations need a SCSI LU (iSCSI, FC, SAS)`);
  }
  return { configured, device: path.join(devRoot, kname), kname, partition };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}
