// Where the lease lives decides whether it fences anything (DESIGN §5): on a local filesystem the
// peer never sees it; on the shared device's own filesystem it is unreadable exactly when needed
// (the BACKUP has it unmounted); on NFS with attribute caching a reader may see an old record for
// up to acregmax seconds, so the peer would judge "unchanged" on a stale view. statfs(2) f_type
// tells the filesystem; the mount's options in /proc/self/mountinfo tell the caching.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { LockfileFenceConfig } from '../../src/config/types.ts';
import { errorLine } from '../../src/errors.ts';
import type { LeaseIo } from '../../src/lease-io.ts';
import { deviceNumber, parseMountinfo, type MountEntry } from '../../src/probes/mountinfo.ts';

/** statfs(2) f_type of the filesystems a lease may live on (linux/magic.h). */
export const SHARED_FILESYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x6969, 'nfs'],
  [0xff534d42, 'cifs'],
  [0xfe534d42, 'smb2'],
  [0x00c36400, 'ceph'],
  [0x01161970, 'gfs2'],
  [0x7461636f, 'ocfs2'],
  [0x47504653, 'gpfs'],
]);

/** Names of some local f_types, for the error line. */
const LOCAL_NAMES: ReadonlyMap<number, string> = new Map([
  [0xef53, 'ext2/3/4'],
  [0x58465342, 'xfs'],
  [0x9123683e, 'btrfs'],
  [0x01021994, 'tmpfs'],
  [0x65735546, 'fuse (cannot tell what is behind it)'],
  [0x794c7630, 'overlayfs'],
]);

export interface Placement {
  /** refusals: the daemon does not start, `config check` exits 6 */
  errors: string[];
  /** logged at start, shown by `status` */
  warnings: string[];
}

const hex = (type: number): string => `0x${(type >>> 0).toString(16)}`;

/** The mountinfo entry whose mountpoint is the longest prefix of `dir` (no filesystem access). */
export function mountOf(dir: string, entries: MountEntry[]): MountEntry | null {
  let best: MountEntry | null = null;
  for (const entry of entries) {
    const mp = entry.mountpoint;
    if ((dir === mp || dir.startsWith(mp === '/' ? '/' : `${mp}/`)) && (best === null || mp.length >= best.mountpoint.length)) best = entry;
  }
  return best;
}

/** A warning when an NFS mount caches attributes (anything but `noac`, or every ac* timer 0 / `actimeo=0`). */
export function nfsCachingWarning(entry: MountEntry): string | null {
  const options = [...entry.options, ...entry.superOptions];
  if (options.includes('noac')) return null;
  const timers = ['acregmin', 'acregmax', 'acdirmin', 'acdirmax'].map((key) => {
    const option = options.find((o) => o.startsWith(`${key}=`));
    return option === undefined ? null : Number(option.slice(key.length + 1));
  });
  if (timers.every((value) => value === 0)) return null;
  const shown = options.filter((o) => /^ac(reg|dir)(min|max)=/.test(o)).join(',') || 'the defaults (acregmax 60 s)';
  return `the lease's NFS mount ${entry.mountpoint} caches attributes (${shown}): a node may read an old record for that long; mount it with actimeo=0 (or noac)`;
}

/**
 * Checks where the lease lives. Every I/O is bounded by `fence.ioTimeoutMs`; storage that does not
 * answer yields a warning, not an error (the lease cannot be taken then anyway).
 * @param mountinfo /proc/self/mountinfo text (tests pass their own)
 */
export async function checkLeasePlacement(config: LockfileFenceConfig, sharedDevice: string, io: LeaseIo, mountinfo?: string): Promise<Placement> {
  const errors: string[] = [];
  const warnings: string[] = [];
  const dir = path.dirname(config.path);
  let type: number;
  try {
    type = Number((await io.statfs(dir, config.ioTimeoutMs)).type);
  } catch (error) {
    warnings.push(`could not check where the lease lives (statfs ${dir}: ${errorLine(error)})`);
    return { errors, warnings };
  }
  const shared = SHARED_FILESYSTEMS.get(type >>> 0) ?? null;
  if (shared === null) {
    const what = `${LOCAL_NAMES.get(type >>> 0) ?? 'a local filesystem'}, f_type ${hex(type)}`;
    if (config.allowLocalLease) warnings.push(`the lease directory ${dir} is on ${what}: accepted only because fence.allowLocalLease is set (the netns lab); the peer of a real pair cannot see it`);
    else errors.push(`fence.path: the lease directory ${dir} is on ${what}, which the peer cannot see; put it on NFS both nodes mount (fence.allowLocalLease is for the netns lab only)`);
  }
  try {
    const [leaseDev, diskDev] = await Promise.all([io.deviceOf(dir, config.ioTimeoutMs), deviceNumber(sharedDevice)]);
    if (leaseDev === diskDev) errors.push(`fence.path: the lease directory ${dir} is on the shared device ${sharedDevice} itself; the BACKUP cannot read it while it is unmounted there`);
  } catch {
    // the shared device node may be absent on this node right now; the statfs above still applies
  }
  if (shared === 'nfs') {
    let text = mountinfo;
    try {
      text ??= readFileSync('/proc/self/mountinfo', 'utf8');
    } catch {
      text = '';
    }
    const entry = mountOf(dir, parseMountinfo(text));
    // statfs said NFS, so a covering entry of another type means the path reached NFS through a
    // symlink: its options say nothing about the NFS mount's caching
    if (entry === null || !/^nfs4?$/.test(entry.fstype)) warnings.push(`could not check the attribute caching of the lease's NFS mount: no NFS mount in mountinfo covers ${dir} (a symlink?); mount it with actimeo=0 (or noac)`);
    else {
      const warning = nfsCachingWarning(entry);
      if (warning !== null) warnings.push(warning);
    }
  }
  return { errors, warnings };
}
