// Which processes use a mountpoint? A walk of /proc like ocf:heartbeat:Filesystem's "safe" mode
// (root, cwd, exe, open files, memory maps), restricted to OUR mount namespace. `fuser -m` is not
// used on purpose: it matches by device number, and in a two-node lab on one machine the other
// node has the same device mounted — fuser would signal the other node's mysqld.
import { readFile, readdir } from 'node:fs/promises';
import { isPathUnder, listPids, mountNamespaceOf, ownMountNamespaceSync, readComm, readLinkOrNull } from '../proc.ts';

export interface MountUser {
  pid: number;
  comm: string;
  /** what ties it to the mountpoint: `cwd`, `root`, `exe`, `fd 7`, `maps` */
  why: string;
}

const deleted = / \(deleted\)$/;

async function useOf(pid: number, mountpoint: string): Promise<string | null> {
  for (const link of ['cwd', 'root', 'exe'] as const) {
    const target = readLinkOrNull(`/proc/${pid}/${link}`);
    // a process whose root is the mountpoint's parent is not a user of it: require "under"
    if (target !== null && isPathUnder(target.replace(deleted, ''), mountpoint) && !(link === 'root' && target === '/')) return link;
  }
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return null; // gone
  }
  for (const fd of fds) {
    const target = readLinkOrNull(`/proc/${pid}/fd/${fd}`);
    if (target !== null && isPathUnder(target.replace(deleted, ''), mountpoint)) return `fd ${fd}`;
  }
  try {
    const maps = await readFile(`/proc/${pid}/maps`, 'utf8');
    const prefix = `${mountpoint}/`;
    if (maps.includes(` ${prefix}`)) return 'maps';
  } catch {
    // gone or not readable
  }
  return null;
}

/** Processes in this mount namespace that keep `mountpoint` busy. Reads /proc only. */
export async function findMountUsers(mountpoint: string): Promise<MountUser[]> {
  const own = ownMountNamespaceSync();
  const users: MountUser[] = [];
  for (const pid of listPids()) {
    if (own !== null && (mountNamespaceOf(pid)) !== own) continue;
    const why = await useOf(pid, mountpoint);
    if (why !== null) users.push({ pid, comm: (readComm(pid)) ?? '?', why });
  }
  return users;
}
