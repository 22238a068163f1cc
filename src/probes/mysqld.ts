// Finds "our" mysqld processes: the one named by the pid file, and any other process called
// mariadbd/mysqld in this mount namespace whose working directory or command line points into the
// shared mountpoint (mysqld chdirs to its datadir), or whose command line is exactly our
// `mysqld.start` (a mysqld we started that has not yet written its pid file or reached its
// datadir). Processes of another mount namespace — the other node in the lab — are never ours.
import { readFile } from 'node:fs/promises';
import { isAlive, isPathUnder, listPids, mountNamespaceOf, ownMountNamespaceSync, readComm, readLinkOrNull } from '../proc.ts';

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
}

/** The selector for a configuration. */
export const mysqldSelector = (config: { mysqld: { pidFile: string; processNames: string[]; start: string[] | null }; disk: { mountpoint: string } }): MysqldSelector => ({
  pidFile: config.mysqld.pidFile,
  processNames: config.mysqld.processNames,
  mountpoint: config.disk.mountpoint,
  start: config.mysqld.start,
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

/**
 * Lists our live mysqld processes (see the module comment for what "ours" means).
 * Reads the pid file and /proc only; a few milliseconds for a few hundred processes.
 */
export async function findMysqld(selector: MysqldSelector): Promise<MysqldProcesses> {
  const ownNamespace = ownMountNamespaceSync();
  const pidFilePid = await readPidFile(selector.pidFile);
  let pidFileAlive = false;
  if (pidFilePid !== null) {
    const comm = readComm(pidFilePid);
    pidFileAlive =
      comm !== null &&
      selector.processNames.includes(comm) &&
      (ownNamespace === null || (mountNamespaceOf(pidFilePid)) === ownNamespace) &&
      (isAlive(pidFilePid));
  }
  const pids = pidFileAlive && pidFilePid !== null ? [pidFilePid] : [];
  for (const pid of listPids()) {
    if (pid !== pidFilePid && (await isOurs(pid, selector, ownNamespace))) pids.push(pid);
  }
  return { pidFilePid, pidFileAlive, pids };
}
