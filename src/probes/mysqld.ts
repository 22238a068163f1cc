// Finds "our" mysqld processes: the one named by the pid file, and any other process called
// mariadbd/mysqld in this mount namespace whose working directory or command line points into the
// shared mountpoint (mysqld chdirs to its datadir), or whose command line is exactly our
// `mysqld.start` (a mysqld we started that has not yet written its pid file or reached its
// datadir). Processes of another mount namespace — the other node in the lab — are never ours,
// except in `mysqld.systemdUnit` mode: there the unit's own processes (its cgroup, see
// unit-cgroup.ts) called mariadbd/mysqld are ours in whatever namespace they run, because a unit
// with `ProtectSystem=` (Debian's mariadb.service) runs mysqld in a mount namespace of its own.
import { readFile } from 'node:fs/promises';
import { isAlive, isPathUnder, listPids, mountNamespaceOf, ownMountNamespaceSync, readComm, readLinkOrNull } from '../proc.ts';
import { DEFAULT_CGROUP_ROOT, unitPids } from './unit-cgroup.ts';

export interface MysqldProcesses {
  /** pid read from the pid file, or null (missing, unreadable, not a number) */
  pidFilePid: number | null;
  /** the pid file's process is alive and is called one of `processNames` */
  pidFileAlive: boolean;
  /** every live mysqld of ours, pid-file process first */
  pids: number[];
}

export interface MysqldSelector {
  pidFile: string;
  processNames: string[];
  mountpoint: string;
  /** the configured start argv (`mysqld.start`), or null */
  start: string[] | null;
  /** the systemd service running mysqld (`mysqld.systemdUnit`, e.g. `mariadb.service`), or null */
  systemdUnit: string | null;
  /** where the cgroup filesystem is mounted (default `/sys/fs/cgroup`; tests point it at a fake tree) */
  cgroupRoot?: string;
}

/** The selector for a configuration (`cgroupRoot`: see {@link MysqldSelector}; tests only). */
export const mysqldSelector = (
  config: { mysqld: { pidFile: string; processNames: string[]; start: string[] | null; systemdUnit: string | null }; disk: { mountpoint: string } },
  cgroupRoot?: string,
): MysqldSelector => ({
  pidFile: config.mysqld.pidFile,
  processNames: config.mysqld.processNames,
  mountpoint: config.disk.mountpoint,
  start: config.mysqld.start,
  systemdUnit: config.mysqld.systemdUnit,
  ...(cgroupRoot === undefined ? {} : { cgroupRoot }),
});

async function readPidFile(pidFile: string): Promise<number | null> {
  try {
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

async function isOurs(pid: number, selector: MysqldSelector, ownNamespace: string | null): Promise<boolean> {
  const comm = readComm(pid);
  if (comm === null || !selector.processNames.includes(comm)) return false;
  if (ownNamespace !== null && (mountNamespaceOf(pid)) !== ownNamespace) return false;
  if (!(isAlive(pid))) return false;
  const cwd = readLinkOrNull(`/proc/${pid}/cwd`);
  if (cwd !== null && isPathUnder(cwd.replace(/ \(deleted\)$/, ''), selector.mountpoint)) return true;
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    if (selector.start !== null && cmdline === `${selector.start.join('\0')}\0`) return true;
    // an argument that is, or whose `--option=` value is, a path at or under the mountpoint
    return cmdline.split('\0').some((arg) => isPathUnder(arg.slice(arg.indexOf('=') + 1), selector.mountpoint));
  } catch {
    return false;
  }
}

/** A live process called one of `processNames`. */
const isMysqld = (pid: number, selector: MysqldSelector): boolean => {
  const comm = readComm(pid);
  return comm !== null && selector.processNames.includes(comm) && isAlive(pid);
};

/**
 * Lists our live mysqld processes (see the module comment for what "ours" means): the pid-file
 * process first, then the unit's (unit mode), then the others found in /proc.
 * Reads the pid file, the unit's `cgroup.procs` and /proc only — no spawn; a few milliseconds for
 * a few hundred processes (one read of `/proc/PID/comm` per process: most of a MASTER daemon's
 * CPU when it ran twice a second, `npm run bench -- health-cpu`).
 * @param options.firstOnly stop at the first process of ours in that order, so that `pids` holds
 *   at most it: with the pid-file process alive (a running MASTER) no /proc scan at all. For
 *   whoever needs only `pids[0]` (the daemon's SQL monitor); the health verdict scans everything.
 */
export async function findMysqld(selector: MysqldSelector, options: { firstOnly?: boolean } = {}): Promise<MysqldProcesses> {
  const ownNamespace = ownMountNamespaceSync();
  const pidFilePid = await readPidFile(selector.pidFile);
  const unit = selector.systemdUnit === null ? [] : unitPids(selector.systemdUnit, selector.cgroupRoot ?? DEFAULT_CGROUP_ROOT);
  const inOurNamespace = (pid: number): boolean => ownNamespace === null || mountNamespaceOf(pid) === ownNamespace;
  const pidFileAlive = pidFilePid !== null && isMysqld(pidFilePid, selector) && (unit.includes(pidFilePid) || inOurNamespace(pidFilePid));
  const pids = pidFileAlive && pidFilePid !== null ? [pidFilePid] : [];
  const done = (): boolean => options.firstOnly === true && pids.length > 0;
  for (const pid of unit) {
    if (done()) break;
    if (!pids.includes(pid) && isMysqld(pid, selector)) pids.push(pid);
  }
  for (const pid of done() ? [] : listPids()) {
    if (done()) break;
    if (pid !== pidFilePid && !pids.includes(pid) && (await isOurs(pid, selector, ownNamespace))) pids.push(pid);
  }
  return { pidFilePid, pidFileAlive, pids };
}
