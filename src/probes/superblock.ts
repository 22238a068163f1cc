// Is the shared filesystem gone from this kernel — mounted in no mount namespace, held by no process?
//
// Mountinfo alone cannot prove an unmount (../shared/reference/vm-lab.md §10): `umount -l` makes a
// mount vanish from every mountinfo while a process that still has files open keeps the superblock
// alive and can keep writing; mysqld under Debian's mariadb.service runs in its own mount namespace
// (ProtectSystem=), invisible to a look at our own mountinfo. The kernel keeps one directory per
// live superblock for some filesystems — `/sys/fs/ext4/<kernel name>` (ext3/4; ext3 has been served by the ext4 driver since Linux 4.3), `/sys/fs/xfs/<kernel name>`,
// `/sys/fs/f2fs/<kernel name>` — which disappears only when the last reference goes: that is the proof.
// For other filesystem types we fall back to every mount namespace's mountinfo, which cannot see a
// lazily detached mount (said in the result).
//
// Reads /sys and /proc only; never touches the filesystem itself.
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { listPids, mountNamespaceOf, readComm, readLinkOrNull } from '../proc.ts';
import { errorLine } from '../errors.ts';
import { majorMinorOf, parseMountinfo } from './mountinfo.ts';

/** Filesystem types whose live superblocks appear as /sys/fs/<type>/<kernel name of the device>. */
// ext2 is left out on purpose: a kernel built with its own ext2 driver keeps no such entry, and an
// absent entry would then be taken, conclusively, for "gone"; ext2 falls back to mountinfo.
const SYSFS_BY_TYPE: Record<string, string> = { ext3: 'ext4', ext4: 'ext4', xfs: 'xfs', f2fs: 'f2fs' };

/** The kernel's name of a block device (`sdb1`, `dm-0`, `loop3`) from `major:minor`, or null. */
export function kernelName(majorMinor: string, sysfsRoot = '/sys'): string | null {
  try {
    return path.basename(readlinkSync(path.join(sysfsRoot, 'dev', 'block', majorMinor)));
  } catch {
    return null;
  }
}

export interface FilesystemPresence {
  /** true while the kernel still has the filesystem: a live superblock, or a mount in some namespace */
  active: boolean;
  /** how it was decided: `/sys/fs/ext4/loop3 present`, `mounted in the mount namespace of pid 812`, ... */
  evidence: string;
  /** false when only mountinfo could be consulted (a lazily detached mount would be missed) */
  conclusive: boolean;
}

/** Mount namespaces on this host with one pid in each (the first seen). */
function namespacesWithPid(): Map<string, number> {
  const byNamespace = new Map<string, number>();
  for (const pid of listPids()) {
    const ns = mountNamespaceOf(pid);
    if (ns !== null && !byNamespace.has(ns)) byNamespace.set(ns, pid);
  }
  return byNamespace;
}

/** Pids (one per mount namespace) whose namespace has a mount of `majorMinor`. */
export function namespacesMounting(majorMinor: string): number[] {
  const pids: number[] = [];
  for (const pid of namespacesWithPid().values()) {
    try {
      if (parseMountinfo(readFileSync(`/proc/${pid}/mountinfo`, 'utf8')).some((entry) => entry.majorMinor === majorMinor)) pids.push(pid);
    } catch {
      // gone
    }
  }
  return pids;
}

/**
 * Whether the filesystem of device `majorMinor` (type `fstype`) is still alive on this kernel.
 * @param sysfsRoot for tests
 */
export function filesystemPresence(majorMinor: string, fstype: string, sysfsRoot = '/sys'): FilesystemPresence {
  const sysfsType = SYSFS_BY_TYPE[fstype];
  const name = kernelName(majorMinor, sysfsRoot);
  if (sysfsType !== undefined && name !== null && existsSync(path.join(sysfsRoot, 'fs', sysfsType))) {
    const dir = path.join(sysfsRoot, 'fs', sysfsType, name);
    const active = existsSync(dir);
    return { active, evidence: `${dir} ${active ? 'present (a live superblock)' : 'gone'}`, conclusive: true };
  }
  const mounting = namespacesMounting(majorMinor);
  return mounting.length > 0
    ? { active: true, evidence: `mounted in the mount namespace of pid ${mounting.join(', ')}`, conclusive: false }
    : { active: false, evidence: `in no mount namespace's mountinfo (${fstype} has no per-superblock sysfs entry: a lazily detached mount would not show)`, conclusive: false };
}

/** filesystemPresence of a device node, with `unseen` set when the node cannot be looked at. */
export interface DevicePresence extends FilesystemPresence {
  /** the device node could not be stat()ed (then `active` is false and `evidence` says why) */
  unseen: boolean;
}

/**
 * Whether this kernel has the filesystem on `device` (a path to a block device node, e.g. the
 * configured `disk.device`): filesystemPresence of its `major:minor`. Never throws: a device node
 * this node cannot look at gives `{ active: false, unseen: true }`; callers for which "cannot tell"
 * must not read as "gone" check `unseen`.
 */
export function filesystemHere(device: string, fstype: string, sysfsRoot = '/sys'): DevicePresence {
  let majorMinor: string;
  try {
    majorMinor = majorMinorOf(statSync(device, { bigint: true }).rdev);
  } catch (error) {
    return { active: false, evidence: `${device}: ${errorLine(error)}`, conclusive: false, unseen: true };
  }
  return { ...filesystemPresence(majorMinor, fstype, sysfsRoot), unseen: false };
}

export interface DeviceHolder {
  pid: number;
  comm: string;
  /** `mount namespace …` (its namespace still mounts the device), `fd 7` (a file on one of its mounts), `cwd`, `root` */
  why: string;
}

/** Ids of every mount of `majorMinor` in every mount namespace (mountinfo field 1). */
export function mountIdsOf(majorMinor: string): Set<number> {
  const ids = new Set<number>();
  for (const pid of namespacesWithPid().values()) {
    try {
      for (const entry of parseMountinfo(readFileSync(`/proc/${pid}/mountinfo`, 'utf8'))) if (entry.majorMinor === majorMinor) ids.add(entry.mountId);
    } catch {
      // gone
    }
  }
  return ids;
}

const fdMountId = (pid: number, fd: string): number | null => {
  try {
    const match = /^mnt_id:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
    return match === null ? null : Number(match[1]);
  } catch {
    return null;
  }
};

/**
 * Every process that keeps the filesystem of `majorMinor` alive: processes in another mount
 * namespace that still mounts it (the namespace lives while one of them does), processes with an
 * open file on one of its mounts — by /proc/PID/fdinfo `mnt_id`, which still names a mount after
 * `umount -l` detached it, so collect `mountIds` ({@link mountIdsOf}) BEFORE unmounting — and
 * processes whose cwd or root lies under `mountpoint`. Nothing is stat()ed: a stat through
 * /proc/PID/fd would follow links onto other storage, which may hang (a dead NFS server).
 * `exceptPids` are never listed (this process by default).
 */
export function findDeviceHolders(majorMinor: string, mountIds: ReadonlySet<number>, mountpoint: string, exceptPids: ReadonlySet<number> = new Set([process.pid])): DeviceHolder[] {
  const mountingNamespaces = new Set<string>();
  for (const [ns, pid] of namespacesWithPid()) {
    try {
      if (parseMountinfo(readFileSync(`/proc/${pid}/mountinfo`, 'utf8')).some((entry) => entry.majorMinor === majorMinor)) mountingNamespaces.add(ns);
    } catch {
      // gone
    }
  }
  const ownNamespace = mountNamespaceOf('self');
  const under = (link: string | null): boolean => link !== null && (link === mountpoint || link.startsWith(`${mountpoint}/`));
  const holders: DeviceHolder[] = [];
  for (const pid of listPids()) {
    if (exceptPids.has(pid)) continue;
    const ns = mountNamespaceOf(pid);
    let why: string | null = null;
    // our own namespace's mount is ours to unmount, not a reason to signal everyone in it
    if (ns !== null && ns !== ownNamespace && mountingNamespaces.has(ns)) why = `mount namespace ${ns} still mounts it`;
    if (why === null && ns === ownNamespace) {
      if (under(readLinkOrNull(`/proc/${pid}/cwd`))) why = 'cwd';
      else if (under(readLinkOrNull(`/proc/${pid}/root`))) why = 'root';
    }
    if (why === null && mountIds.size > 0) {
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue; // gone
      }
      for (const fd of fds) {
        const id = fdMountId(pid, fd);
        if (id !== null && mountIds.has(id)) {
          why = `fd ${fd}`;
          break;
        }
      }
    }
    if (why !== null) holders.push({ pid, comm: readComm(pid) ?? '?', why });
  }
  return holders;
}
