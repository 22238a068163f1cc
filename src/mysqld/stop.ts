// Stop mysqld (demotion step `mysqld.stop`), as ocf:heartbeat:mysql does and then some:
// service stop or the configured stop command, SIGTERM, a bounded grace, SIGKILL, and a
// verification that no mysqld of ours is left (resource-agents PR #757: never say "stopped"
// while one still runs).
import { rm } from 'node:fs/promises';
import type { Config } from '../config/types.ts';
import { pollUntil } from '../deadline.ts';
import type { Logger } from '../log.ts';
import { findMysqld, mysqldSelector } from '../probes/mysqld.ts';
import { run } from '../run.ts';

const kill = (pids: number[], signalName: NodeJS.Signals): void => {
  for (const pid of pids) {
    try {
      process.kill(pid, signalName);
    } catch {
      // already gone
    }
  }
};

/**
 * Stops every mysqld of ours and verifies they are gone. `skipped` when none ran.
 * @throws the abort reason (`EDEADLINE`) if one survives SIGKILL until the deadline.
 */
export async function stopMysqld(config: Config, signal: AbortSignal, log: Logger): Promise<'ok' | 'skipped'> {
  const { mysqld, deadlines } = config;
  const selector = mysqldSelector(config);
  const ours = async (): Promise<number[]> => (await findMysqld(selector)).pids;
  const gone = async (): Promise<true | undefined> => ((await ours()).length === 0 ? true : undefined);
  const started = Date.now();
  let pids = await ours();
  if (pids.length === 0) {
    await rm(mysqld.socket, { force: true });
    return 'skipped';
  }

  const graceful = mysqld.systemdUnit !== null ? ['systemctl', 'stop', mysqld.systemdUnit] : mysqld.stop;
  if (graceful !== null) {
    const result = await run(graceful, signal).catch((error: Error) => ({ exitCode: -1, stderr: error.message }));
    if (result.exitCode !== 0) log.warn({ command: graceful, exitCode: result.exitCode, stderr: result.stderr.trim() }, 'graceful stop failed; signalling');
  }

  pids = await ours();
  if (pids.length > 0) {
    log.info({ pids }, 'SIGTERM to mysqld');
    kill(pids, 'SIGTERM');
    const graceLeft = deadlines.mysqldTermGraceMs - (Date.now() - started);
    const graceOver = new AbortController();
    const timer = setTimeout(() => graceOver.abort(new Error('grace over')), Math.max(0, graceLeft));
    const both = AbortSignal.any([signal, graceOver.signal]);
    await pollUntil(gone, 100, both).catch(() => undefined);
    clearTimeout(timer);
    signal.throwIfAborted();
  }

  pids = await ours();
  if (pids.length > 0) {
    log.warn({ pids, graceMs: deadlines.mysqldTermGraceMs }, 'mysqld survived SIGTERM; SIGKILL');
    kill(pids, 'SIGKILL');
    await pollUntil(gone, 50, signal);
  }
  // Gone: remove what a killed mysqld leaves behind so the next start and the probes see no ghost.
  await rm(mysqld.pidFile, { force: true });
  await rm(mysqld.socket, { force: true });
  return 'ok';
}
