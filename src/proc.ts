// Small readers of /proc. None of them touches a mounted filesystem: /proc/PID/cwd and fd links
// are read with readlink, which the kernel answers from its own dentry cache (d_path).
import { readFile, readdir, readlink } from 'node:fs/promises';
import { readFileSync, readlinkSync } from 'node:fs';

/** `/proc/PID/comm` without the newline, or null if the process is gone. */
export async function readComm(pid: number): Promise<string | null> {
  try {
    return (await readFile(`/proc/${pid}/comm`, 'utf8')).trimEnd();
  } catch {
    return null;
  }
}

/** True while `pid` exists and is not a zombie (a zombie holds no files and runs no code). */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // "PID (comm) S ..." — comm may contain spaces and parentheses; the state follows the last ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** readlink that returns null instead of throwing (process gone, permission, not a link). */
export async function readLinkOrNull(path: string): Promise<string | null> {
  try {
    return await readlink(path);
  } catch {
    return null;
  }
}

/** The mount namespace of `pid` as the kernel names it (`mnt:[4026531841]`), or null. */
export const mountNamespaceOf = (pid: number | 'self'): Promise<string | null> => readLinkOrNull(`/proc/${pid}/ns/mnt`);

/** The mount namespace of this process (cached: it cannot change for a running Node process). */
let ownMountNamespace: string | null | undefined;
export function ownMountNamespaceSync(): string | null {
  if (ownMountNamespace === undefined) {
    try {
      ownMountNamespace = readlinkSync('/proc/self/ns/mnt');
    } catch {
      ownMountNamespace = null;
    }
  }
  return ownMountNamespace;
}

/** Every numeric entry of /proc except this process. */
export async function listPids(): Promise<number[]> {
  const entries = await readdir('/proc');
  const pids: number[] = [];
  for (const name of entries) {
    const pid = Number(name);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) pids.push(pid);
  }
  return pids;
}

/** The kernel boot id; with the pid it names one process on one host across reboots. */
export function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** True when `child` is `parent` or lies below it (plain string paths, no filesystem access). */
export const isPathUnder = (child: string, parent: string): boolean =>
  child === parent || child.startsWith(parent.endsWith('/') ? parent : `${parent}/`);
