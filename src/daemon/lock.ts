// One daemon per node: the daemon binds a Linux abstract Unix socket named after its runDir
// (unix(7): a name in the abstract namespace, no file). bind(2) is atomic — a second daemon gets
// EADDRINUSE — and the kernel releases the name the instant the holder dies, however it dies.
// So a daemon restarted after a SIGKILL takes the lock at once: no staleness to wait out (a lock
// directory's mtime would have to be judged against the wall clock, or watched for a second or
// more), which matters because a MASTER's restarted daemon must pet the watchdog again within its
// timeout (timer relation (d)). Abstract names live in a network namespace: one daemon per node and
// network namespace, which is also what the netns lab needs. `<runDir>/daemon.pid` records the
// holder's pid for `status` and for messages.
import { writeFile, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { FenceAgentError } from '../errors.ts';
import { isAlive } from '../proc.ts';

export const daemonPidPath = (runDir: string): string => path.join(runDir, 'daemon.pid');

/**
 * `<runDir>/daemon.ready`: the daemon's pid, written atomically once its start-up is done
 * (listening, fence taken back if the disk was in use, notify_fifo read), removed when it stops
 * and, a dead daemon's, when the next one holds the lock. contrib's fence-agent.service waits for
 * it to exist (ExecStartPost) so that keepalived, ordered after the unit, starts only then: its
 * first `check` does not compete with the daemon's start, and its first notify finds the daemon
 * instead of starting a second one.
 */
export const daemonReadyPath = (runDir: string): string => path.join(runDir, 'daemon.ready');

/** The abstract socket name that is the lock for `runDir` (NUL first: unix(7) abstract namespace). */
export const daemonLockName = (runDir: string): string => `\0fence-agent-daemon:${path.resolve(runDir)}`;

/** The pid in `<runDir>/daemon.pid` if that process is alive, else null. */
export async function runningDaemonPid(runDir: string): Promise<number | null> {
  try {
    const pid = Number((await readFile(daemonPidPath(runDir), 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Takes the daemon lock and writes our pid to `<runDir>/daemon.pid`. Resolves with the release
 * function (idempotent). The lock cannot be lost while this process lives.
 * @throws FenceAgentError code `EDAEMONRUNNING` when another live daemon holds it.
 */
export async function acquireDaemonLock(runDir: string): Promise<() => Promise<void>> {
  const server: Server = createServer();
  server.unref(); // the lock alone never keeps the daemon alive
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(daemonLockName(runDir), () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    const holder = await runningDaemonPid(runDir);
    throw new FenceAgentError('EDAEMONRUNNING', `another fence-agent daemon is running (pid ${holder ?? 'unknown'}, lock ${daemonLockName(runDir).slice(1)} in the abstract namespace)`);
  }
  await writeFile(daemonPidPath(runDir), `${process.pid}\n`, { mode: 0o644 });
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}
