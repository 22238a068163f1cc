// Stop mysqld (demotion step `mysqld.stop`), as ocf:heartbeat:mysql does and then some:
// service stop or the configured stop command, SIGTERM, a bounded grace, SIGKILL, and a
// verification that no mysqld of ours is left (resource-agents PR #757: never say "stopped"
// while one still runs). Every way of stopping — the command, the unit, the signal — is bounded by
// `deadlines.mysqldTermGraceMs` before SIGKILL.
//
// Mode `fenced` (the fence was lost; DESIGN §5): no command, no grace — SIGKILL at once.
//
// In `mysqld.systemdUnit` mode the unit must then end inactive, in both modes and also when no
// mysqld ran any more (the fence-loss path SIGKILLs first, see killMysqldNow): a SIGKILLed mysqld
// is restarted by `Restart=on-abnormal` (Debian's mariadb.service) unless a stop cancels it
// (unit.ts).
import { rm } from 'node:fs/promises';
import type { Config } from '../config/types.ts';
import { monoNow } from '../clock.ts';
import { pollUntil } from '../deadline.ts';
import type { Logger } from '../log.ts';
import { findMysqld, mysqldSelector } from '../probes/mysqld.ts';
import { run } from '../run.ts';
import { ensureUnitInactive } from './unit.ts';

/** The unit's verdict comes this long before `deadlines.mysqldStopMs`, so the step records it (ms). */
export const UNIT_VERDICT_MARGIN_MS = 1000;

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
 * SIGKILLs every mysqld of ours now, without waiting; returns the pids signalled. For the fence-loss
 * path, whose self-fence demotion follows with {@link stopMysqld} in mode `fenced` (which, in unit
 * mode, also makes the unit end inactive before its `Restart=` brings mysqld back).
 */
export async function killMysqldNow(config: Config): Promise<number[]> {
  const { pids } = await findMysqld(mysqldSelector(config));
  kill(pids, 'SIGKILL');
  return pids;
}

/**
 * Stops every mysqld of ours and verifies they are gone; in unit mode then verifies the unit is
 * inactive (see unit.ts). `skipped` when no mysqld ran.
 * @throws the abort reason (`EDEADLINE`) if one survives SIGKILL until the deadline; FenceAgentError
 *   code `EMYSQLD` naming the unit and its state when the unit cannot be made inactive within
 *   `deadlines.mysqldStopMs` − {@link UNIT_VERDICT_MARGIN_MS}
 * @param cgroupRoot where the unit's cgroup is looked up (default /sys/fs/cgroup; tests only)
 */
export async function stopMysqld(config: Config, signal: AbortSignal, log: Logger, mode: 'graceful' | 'fenced' = 'graceful', cgroupRoot?: string): Promise<'ok' | 'skipped'> {
  const { mysqld, deadlines } = config;
  const selector = mysqldSelector(config, cgroupRoot);
  const ours = async (): Promise<number[]> => (await findMysqld(selector)).pids;
  const gone = async (): Promise<true | undefined> => ((await ours()).length === 0 ? true : undefined);
  const started = monoNow();
  let pids = await ours();
  const found = pids.length > 0;

  if (found && mode === 'graceful') {
    // the grace bounds everything before SIGKILL, the stop command included
    const graceOver = new AbortController();
    const timer = setTimeout(() => graceOver.abort(new Error(`grace of ${deadlines.mysqldTermGraceMs} ms over`)), deadlines.mysqldTermGraceMs);
    const withinGrace = AbortSignal.any([signal, graceOver.signal]);
    try {
      const graceful = mysqld.systemdUnit !== null ? ['systemctl', 'stop', mysqld.systemdUnit] : mysqld.stop;
      if (graceful !== null) {
        const result = await run(graceful, withinGrace).catch((error: Error) => ({ exitCode: -1, stderr: error.message }));
        if (result.exitCode !== 0) log.warn({ command: graceful, exitCode: result.exitCode, stderr: result.stderr.trim() }, 'graceful stop failed or ran out of grace; signalling');
      }
      pids = await ours();
      if (pids.length > 0 && !withinGrace.aborted) {
        log.info({ pids }, 'SIGTERM to mysqld');
        kill(pids, 'SIGTERM');
        await pollUntil(gone, 100, withinGrace).catch(() => undefined);
      }
    } finally {
      clearTimeout(timer);
    }
    signal.throwIfAborted();
  }

  if (found) {
    pids = await ours();
    if (pids.length > 0) {
      if (mode === 'fenced') log.warn({ pids }, 'fence lost: SIGKILL to mysqld at once');
      else log.warn({ pids, graceMs: deadlines.mysqldTermGraceMs, elapsedMs: Math.round(monoNow() - started) }, 'mysqld survived its grace; SIGKILL');
      kill(pids, 'SIGKILL');
      await pollUntil(gone, 50, signal);
    }
  }

  if (mysqld.systemdUnit !== null) {
    // the unit's SendSIGKILL=no and TimeoutStopSec=900 leave the killing to us; its Restart= would undo it
    const leftMs = Math.max(0, Math.floor(deadlines.mysqldStopMs - UNIT_VERDICT_MARGIN_MS - (monoNow() - started)));
    const bound = AbortSignal.any([signal, AbortSignal.timeout(leftMs)]);
    await ensureUnitInactive(mysqld.systemdUnit, bound, log, async (killSignal) => {
      const left = await ours();
      kill(left, 'SIGKILL');
      if (left.length > 0) await pollUntil(gone, 50, killSignal);
      return left;
    });
  }

  if (!found) {
    await rm(mysqld.socket, { force: true });
    return 'skipped';
  }
  // Gone: remove what a killed mysqld leaves behind so the next start and the probes see no ghost.
  await rm(mysqld.pidFile, { force: true });
  await rm(mysqld.socket, { force: true });
  return 'ok';
}
