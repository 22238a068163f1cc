// One daemon per node: a proper-lockfile lock on `<runDir>/daemon.pid`, whose content is the
// holder's pid. A lock left by a SIGKILLed daemon (its pid gone, its lock no longer refreshed) is
// reclaimed after RECLAIM_AFTER_MS instead of waiting for it to go stale.
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { FenceAgentError } from '../errors.ts';
import { sleep } from '../deadline.ts';
import { isAlive } from '../proc.ts';

// Refreshed as often as proper-lockfile allows (its `update` has a 1000 ms floor), so that a
// restarted daemon can tell a dead holder quickly: it must re-take the lease before that goes
// stale under the mounted disk.
const UPDATE_MS = 1000;
/** A lock not refreshed for this long, whose pid file names no live process, belongs to a dead daemon. */
const RECLAIM_AFTER_MS = 1250;
/** How long a starting daemon waits for another starting daemon to show its pid. */
const CONTEND_MS = 4000;

export const daemonPidPath = (runDir: string): string => path.join(runDir, 'daemon.pid');

/** The pid in `<runDir>/daemon.pid` if that process is alive, else null. */
export async function runningDaemonPid(runDir: string): Promise<number | null> {
  try {
    const pid = Number((await readFile(daemonPidPath(runDir), 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 && pid !== process.pid && (isAlive(pid)) ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Takes the daemon lock and writes our pid. `onCompromised` is called if the lock is lost.
 * @throws FenceAgentError code `EDAEMONRUNNING` when a live daemon holds it (or another one is
 *   starting and keeps it fresh).
 */
export async function acquireDaemonLock(runDir: string, onCompromised: (error: Error) => void): Promise<() => Promise<void>> {
  const pidPath = daemonPidPath(runDir);
  const lockDir = `${pidPath}.lock`;
  await writeFile(pidPath, '', { flag: 'a', mode: 0o644 });
  const started = Date.now();
  for (;;) {
    try {
      const release = await lockfile.lock(pidPath, { stale: 5000, update: UPDATE_MS, realpath: false, retries: 0, onCompromised });
      await writeFile(pidPath, `${process.pid}\n`);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
    }
    const holder = await runningDaemonPid(runDir);
    if (holder !== null || Date.now() - started > CONTEND_MS) {
      throw new FenceAgentError('EDAEMONRUNNING', `another fence-agent daemon is running (pid ${holder ?? 'unknown'}, lock ${lockDir})`);
    }
    const lockAge = await stat(lockDir).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (lockAge > RECLAIM_AFTER_MS) await rm(lockDir, { recursive: true, force: true }); // its holder is dead
    else await sleep(250);
  }
}
