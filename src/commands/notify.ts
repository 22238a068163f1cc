// `fence-agent notify` — keepalived's notify / notify_master-style hook. Records the desired state
// and hands it to the daemon over the control socket, returning in milliseconds (keepalived
// SIGKILLs STOP notifies after ~1 s). It never runs a transition itself: with no daemon running it
// starts one detached (setsid, so keepalived killing our process group cannot touch it), leaves
// the request in `<stateDir>/desired.json` for it, and hands the request over once it listens.
import { monoNow } from '../clock.ts';
import { parseArgs } from 'node:util';
import { configPathFrom, loadConfig } from '../config/load.ts';
import type { Config } from '../config/types.ts';
import { request } from '../control/client.ts';
import { controlSocketPath } from '../control/protocol.ts';
import { ExitCode, errorLine, usageError } from '../errors.ts';
import { NOTIFY_USAGE, isForInstance, parseNotifyArgs, quoteArg } from '../keepalived.ts';
import { pendingDesirePath, readPendingDesire, writePendingDesire, type Desire } from '../state.ts';
import { compareIssued, orderOfForkedProcess } from '../desire-order.ts';
import { forkedAtEpochMs } from '../proc.ts';
import { reportError } from './common.ts';

const NO_DAEMON = new Set(['ENOENT', 'ECONNREFUSED']);

/**
 * How long a MASTER, BACKUP or FAULT notify keeps handing its request over, ms. keepalived kills
 * only STOP notifies (after ~1 s), so those get `deadlines.notifyMs` in all; the others are not
 * waited for by anyone and keep trying: a daemon busy on a loaded or emulated machine answered a
 * BACKUP notify after its 700 ms, and the notify reported a failure for a request the daemon had
 * queued (measured in the two-VM lab).
 */
export const PATIENT_HANDOVER_MS = 10_000;

/**
 * Hands `desire` over by `deadline` (monotonic ms), each attempt bounded by `attemptMs`: an
 * attempt that got no answer is repeated (the request may have arrived; the daemon applies a
 * repeat of the request it applied last as a no-op: same `issuedAt`).
 * @throws the last attempt's error (code `ETIMEDOUT`, or `ENOENT`/`ECONNREFUSED`: no daemon)
 */
async function handOverBy(config: Config, desire: Desire, deadline: number, attemptMs: number): Promise<number> {
  for (;;) {
    try {
      return await handOver(config, desire, Math.max(50, Math.round(Math.min(attemptMs, deadline - monoNow()))));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ETIMEDOUT' || monoNow() > deadline - 50) throw error;
    }
  }
}

async function handOver(config: Config, desire: Desire, timeoutMs: number): Promise<number> {
  const response = await request(controlSocketPath(config.runDir), { op: 'desire', desire }, timeoutMs);
  if (!response.ok) throw new Error(`daemon refused the request: ${response.error}`);
  return response.op === 'desire' ? response.queued : 0;
}

/** Leaves `desire` in `<stateDir>/desired.json` unless a newer request waits there already. */
function recordPending(config: Config, desire: Desire): void {
  const pending = readPendingDesire(config.stateDir);
  if (pending === null || compareIssued(pending, desire) <= 0) writePendingDesire(config.stateDir, desire);
}

/**
 * A request not handed over in time (issue 11 §8): kept in `<stateDir>/desired.json`, which a
 * running daemon takes up within `monitor.healthIntervalMs` and a starting one at start-up, and said
 * in the agent's log — keepalived discards a notify's stderr. Returns the stderr line.
 */
async function recordLostHandOff(config: Config, desire: Desire, why: string): Promise<string> {
  let where = `recorded in ${pendingDesirePath(config.stateDir)} for the daemon to take up`;
  try {
    recordPending(config, desire);
  } catch (error) {
    where = `NOT recorded (${errorLine(error)})`;
  }
  const line = `${desire.vrrpState} not handed to the daemon (${why}); ${where}`;
  if (config.log.destination !== 'stderr') {
    const { createLogger } = await import('../log.ts');
    createLogger(config, 'notify').warn({ desire }, line);
  }
  return line;
}

/** No daemon answered: record the request, start a daemon, and hand over once it listens. */
async function startDaemonAndHandOver(config: Config, desire: Desire, deadline: number): Promise<number> {
  recordPending(config, desire);
  const [{ spawnDetached }, { mkdirSync }, path] = await Promise.all([import('../spawn-detached.ts'), import('node:fs'), import('node:path')]);
  mkdirSync(config.runDir, { recursive: true, mode: 0o700 });
  spawnDetached([process.execPath, process.argv[1] as string, 'daemon', '--config', config.configPath], path.join(config.runDir, 'daemon.out')).catch(() => undefined);
  for (;;) {
    try {
      return await handOver(config, desire, Math.max(50, Math.round(deadline - monoNow())));
    } catch (error) {
      if (!NO_DAEMON.has((error as NodeJS.ErrnoException).code ?? '') || monoNow() > deadline - 30) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

/** Handles one notify and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  // The kernel's fork time (and pid) orders concurrent notifies the way keepalived forked them,
  // even when one was descheduled before it got to run, and on a clock no wall-clock step moves.
  const order = orderOfForkedProcess();
  const issuedAt = forkedAtEpochMs();
  try {
    let parsed: { values: { config?: string }; positionals: string[] };
    try {
      parsed = parseArgs({ args, options: { config: { type: 'string' } }, strict: true, allowPositionals: true });
    } catch (error) {
      // node's message quotes the option as given: at most 200 characters of it (an argument may be 100 kB)
      throw usageError(`${(error as Error).message.slice(0, 200)}; ${NOTIFY_USAGE}`);
    }
    const event = parseNotifyArgs(parsed.positionals);
    const config = loadConfig(configPathFrom(parsed.values.config));
    if (!isForInstance(event, config.keepalived.instance)) {
      process.stderr.write(`fence-agent notify: ignored: ${event.type} ${quoteArg(event.name ?? '')} is not the configured instance ${config.keepalived.instance}\n`);
      return ExitCode.OK;
    }
    const desire: Desire = {
      vrrpState: event.vrrpState,
      source: 'notify',
      issuedAt,
      order,
      detail: `${event.name === null ? 'notify_*' : `${event.type} ${event.name} priority ${event.priority}`}, pid ${process.pid}`,
    };
    const { notifyMs } = config.deadlines;
    const short = event.vrrpState === 'STOP' || event.vrrpState === 'DELETED';
    const deadline = monoNow() + (short ? notifyMs : Math.max(notifyMs, PATIENT_HANDOVER_MS));
    let queued: number;
    try {
      queued = await handOverBy(config, desire, deadline, notifyMs);
    } catch (error) {
      if (!NO_DAEMON.has((error as NodeJS.ErrnoException).code ?? '')) {
        process.stderr.write(`fence-agent notify: ${await recordLostHandOff(config, desire, errorLine(error))}\n`);
        return ExitCode.FAILURE;
      }
      try {
        queued = await startDaemonAndHandOver(config, desire, deadline);
      } catch (late) {
        process.stderr.write(`fence-agent notify: ${await recordLostHandOff(config, desire, `the daemon started for it did not answer in time: ${errorLine(late)}`)}\n`);
        return ExitCode.FAILURE;
      }
    }
    process.stderr.write(`fence-agent notify: ${event.vrrpState} handed to the daemon (queue ${queued})\n`);
    return ExitCode.OK;
  } catch (error) {
    return reportError('notify', error);
  }
}
