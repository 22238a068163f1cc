// mysqld's systemd unit (`mysqld.systemdUnit` mode): making sure it ends inactive after a stop.
//
// Debian 12's stock mariadb.service has `Restart=on-abnormal` and `RestartSec=5s`: a mysqld the agent
// SIGKILLed (after its grace, or at once when the fence was lost) is an abnormal exit, and systemd
// starts it again 5 s later — on the mountpoint the agent has unmounted by then. It also has
// `SendSIGKILL=no` and `TimeoutStopSec=900`, so systemd never ends a hung mysqld itself. A stop job
// cancels a pending restart; `systemctl is-active` then says whether it worked.
import { sleep } from '../deadline.ts';
import { FenceAgentError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { run } from '../run.ts';

/** How often `systemctl is-active` is asked while the unit is on its way down, ms. */
export const UNIT_POLL_MS = 200;

/** `systemctl is-active` answers meaning the unit is down and no job of its own brings it back. */
const DOWN: ReadonlySet<string> = new Set(['inactive', 'failed']);
/** Answers meaning mysqld is (being) started again: a restart or another start job ran. */
const UP: ReadonlySet<string> = new Set(['activating', 'active', 'reloading']);

/**
 * `systemctl is-active UNIT`: the unit's one-word state (`active`, `activating`, `deactivating`,
 * `inactive`, `failed`, `reloading`, ...), or `unknown (...)` when systemctl printed none (no systemd).
 */
export async function unitActiveState(unit: string, signal: AbortSignal): Promise<string> {
  const result = await run(['systemctl', 'is-active', unit], signal);
  const word = result.stdout.trim().split('\n')[0] ?? '';
  if (word !== '') return word;
  return `unknown (systemctl is-active exited ${result.exitCode}${result.stderr.trim() ? `: ${result.stderr.trim().split('\n')[0]}` : ''})`;
}

/**
 * Makes `unit` end inactive, whatever happened to its mysqld before: in rounds of (SIGKILL whatever
 * mysqld of ours runs — it is past its grace — then `systemctl stop UNIT`, which cancels a pending
 * `Restart=` job) and `systemctl is-active UNIT` every {@link UNIT_POLL_MS} until it prints
 * `inactive` or `failed`. A unit seen `activating`, `active` or `reloading` again gets another round;
 * one still `deactivating` gets its mysqld SIGKILLed while the poll goes on.
 * @param killMysqld SIGKILLs every mysqld of ours and waits until they are gone; returns the pids
 * @throws FenceAgentError code `EMYSQLD` naming the unit and its last state when `signal` aborts
 *   before the unit is down; `ECOMMAND` when systemctl cannot be run
 */
export async function ensureUnitInactive(unit: string, signal: AbortSignal, log: Logger, killMysqld: (signal: AbortSignal) => Promise<number[]>): Promise<void> {
  let state = 'not asked yet';
  const round = async (): Promise<void> => {
    const killed = await killMysqld(signal);
    if (killed.length > 0) log.warn({ unit, state, pids: killed }, `${unit}: SIGKILL to mysqld ${killed.join(', ')} before stopping the unit`);
    const stopped = await run(['systemctl', 'stop', unit], signal);
    if (stopped.exitCode !== 0) log.warn({ unit, exitCode: stopped.exitCode, stderr: stopped.stderr.trim() }, `systemctl stop ${unit} failed`);
  };
  try {
    await round();
    for (;;) {
      state = await unitActiveState(unit, signal);
      if (DOWN.has(state)) {
        log.info({ unit, state }, `${unit} is ${state}`);
        return;
      }
      if (UP.has(state)) {
        log.warn({ unit, state }, `${unit} is ${state} again after its stop (Restart=, or a start job): SIGKILL to its mysqld and another stop`);
        await round();
      } else if (state === 'deactivating') {
        const killed = await killMysqld(signal);
        if (killed.length > 0) log.warn({ unit, pids: killed }, `${unit} deactivating: SIGKILL to mysqld ${killed.join(', ')}`);
      }
      await sleep(UNIT_POLL_MS, signal);
    }
  } catch (error) {
    if (!signal.aborted) throw error;
    const why = `${unit} could not be made inactive in time: systemctl is-active says ${state}`;
    log.error({ unit, state }, why);
    throw new FenceAgentError('EMYSQLD', why, { cause: error });
  }
}

/**
 * `systemctl reset-failed UNIT`: clears a failed state and the start-limit counter, so a unit that
 * hit `StartLimitBurst=` (after a series of kills) can be started again. Its exit code is ignored
 * (non-zero when there was nothing to reset on some versions).
 * @throws `ECOMMAND` only when systemctl cannot be run or `signal` aborts
 */
export async function resetFailed(unit: string, signal: AbortSignal, log: Logger | null = null): Promise<void> {
  const result = await run(['systemctl', 'reset-failed', unit], signal);
  if (result.exitCode !== 0) log?.debug({ unit, exitCode: result.exitCode, stderr: result.stderr.trim() }, `systemctl reset-failed ${unit} exited ${result.exitCode} (ignored)`);
}
