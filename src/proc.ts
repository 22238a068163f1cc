// Small readers of /proc. Synchronous on purpose: /proc answers from kernel memory in
// microseconds, and `check` scans every process — a threadpool round trip per file cost it
// ~25 ms. None of them touches a mounted filesystem: /proc/PID/cwd and fd links are read with
// readlink, which the kernel answers from its dentry cache (d_path), and comm/stat need no mm lock.
import { closeSync, openSync, readFileSync, readSync, readdirSync, readlinkSync } from 'node:fs';

/** One buffer for every comm read: TASK_COMM_LEN is 16 bytes with its NUL, plus the newline. */
const COMM_BUFFER = Buffer.alloc(64);

/**
 * `/proc/PID/comm` without the newline, or null if the process is gone. open + one read + close
 * into a shared buffer: the mysqld probe reads it for every process, every health verdict, and
 * readFileSync's fstat, read-to-EOF and buffer per call were most of that scan's cost.
 */
export function readComm(pid: number): string | null {
  let fd: number | undefined;
  try {
    fd = openSync(`/proc/${pid}/comm`, 'r');
    const length = readSync(fd, COMM_BUFFER, 0, COMM_BUFFER.length, 0);
    return COMM_BUFFER.toString('utf8', 0, length).trimEnd();
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** True while `pid` exists and is not a zombie (a zombie holds no files and runs no code). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "PID (comm) S ..." — comm may contain spaces and parentheses; the state follows the last ')'.
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** readlink that returns null instead of throwing (process gone, permission, not a link). */
export function readLinkOrNull(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

/** The mount namespace of `pid` as the kernel names it (`mnt:[4026531841]`), or null. */
export const mountNamespaceOf = (pid: number | 'self'): string | null => readLinkOrNull(`/proc/${pid}/ns/mnt`);

let ownMountNamespace: string | null | undefined;
/** The mount namespace of this process (cached: it cannot change for a running Node process). */
export function ownMountNamespaceSync(): string | null {
  if (ownMountNamespace === undefined) ownMountNamespace = mountNamespaceOf('self');
  return ownMountNamespace;
}

/** Every numeric entry of /proc except this process. */
export function listPids(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) pids.push(pid);
  }
  return pids;
}

/**
 * When process `pid` was forked, in ms since boot on CLOCK_BOOTTIME: its kernel start time
 * (proc(5) /proc/PID/stat field 22, `starttime`, USER_HZ = 100 ticks since boot). Set by the kernel
 * at fork, so it keeps the order in which a parent forked its children however they were scheduled
 * after, and no wall-clock step (chrony makestep, `date -s`, a VM's resume) moves it. Resolution
 * 10 ms. @throws the fs error (ENOENT) when the process is gone
 */
export function forkedAtBootMs(pid: number | 'self' = 'self'): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]) * 10;
}

/** Now, in ms since boot on CLOCK_BOOTTIME (/proc/uptime, proc(5)): the clock of {@link forkedAtBootMs}. Resolution 10 ms. */
export function bootMsNow(): number {
  return Math.round(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1000);
}

/**
 * When process `pid` was forked, in ms since the epoch ({@link forkedAtBootMs} against the wall
 * clock now): for humans and logs — it moves with a wall-clock step, so it must not order anything.
 */
export function forkedAtEpochMs(pid: number | 'self' = 'self'): number {
  const forked = forkedAtBootMs(pid);
  return Date.now() - (bootMsNow() - forked);
}

/** The kernel boot id; with the pid it names one process on one host across reboots. */
export function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/**
 * The machine id (machine-id(5): `/etc/machine-id`, else `/var/lib/dbus/machine-id`), or
 * 'unknown'. Stable across reboots; VMs cloned from one image may share it until regenerated.
 */
export function machineId(): string {
  for (const file of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const id = readFileSync(file, 'utf8').trim();
      if (id !== '') return id;
    } catch {
      // try the next one
    }
  }
  return 'unknown';
}

/** True when `child` is `parent` or lies below it (plain string paths, no filesystem access). */
export const isPathUnder = (child: string, parent: string): boolean =>
  child === parent || child.startsWith(parent.endsWith('/') ? parent : `${parent}/`);
