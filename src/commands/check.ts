// `fence-agent check` — keepalived's vrrp_script. Exit 0 for healthy MASTER or healthy BACKUP
// (or a transition within its deadline), 1 otherwise, 6 for a bad configuration; one line on
// stderr saying which. Its own deadline (`--timeout-ms`, default `deadlines.checkMs`) ends it with
// exit 1 rather than letting keepalived time it out. A transition within its deadline in the
// state file is answered from the state file and the VIP alone (src/health.ts
// transitionInProgress): that verdict does not depend on the other probes. Loads no yargs, execa or systeminformation;
// mysql2 only when a mysqld runs.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { configPathFrom, loadConfig } from '../config/load.ts';
import { ExitCode, usageError } from '../errors.ts';
import type { Config } from '../config/types.ts';
import { evaluate, transitionInProgress, type Verdict } from '../health.ts';
import { fenceReadStreak, fenceReadToleranceMs } from '../fence-read-streak.ts';
import { exitProcess } from '../pending-io.ts';
import { monoNow } from '../clock.ts';
import { bootId, isAlive } from '../proc.ts';
import { observe } from '../probes/observe.ts';
import { readState } from '../state.ts';
import { probeVip } from '../probes/vip.ts';
import { createFence } from '../../fence/index.ts';
import { reportError } from './common.ts';

export const CHECK_USAGE = 'usage: fence-agent check [--config FILE] [--timeout-ms N]';

function parse(args: string[]): { config: string | undefined; timeoutMs: number | undefined } {
  let values: { config?: string; 'timeout-ms'?: string };
  try {
    ({ values } = parseArgs({ args, options: { config: { type: 'string' }, 'timeout-ms': { type: 'string' } }, strict: true, allowPositionals: false }));
  } catch (error) {
    throw usageError(`${(error as Error).message}; ${CHECK_USAGE}`);
  }
  const raw = values['timeout-ms'];
  if (raw !== undefined && !/^\d{2,7}$/.test(raw)) throw usageError(`--timeout-ms: expected milliseconds (10..9999999), got "${raw}"; ${CHECK_USAGE}`);
  return { config: values.config, timeoutMs: raw === undefined ? undefined : Number(raw) };
}

/**
 * Records `key` (numbers masked: durations, ages, counters, pids change every run) as the last
 * thing this node's checks reported (`<runDir>/check-last`) and says whether it is news: true when
 * it differs from the one before, or — with `quietFirst` false — when there was none. keepalived
 * runs `check` every few seconds, and a FAULT node would otherwise log the same line all day.
 */
function changedSinceLastCheck(config: Config, key: string, quietFirst: boolean): boolean {
  const file = path.join(config.runDir, 'check-last');
  const masked = key.replace(/\d+(\.\d+)?/g, '#');
  let last: string | null = null;
  try {
    last = readFileSync(file, 'utf8');
  } catch {
    // first check, or no runDir yet
  }
  if (last === masked) return false;
  writeQuietly(file, masked);
  return !(last === null && quietFirst);
}

/** Logs the verdict when it differs from the last one (a first healthy verdict is not logged). */
async function logWhenChanged(config: Config, verdict: Verdict): Promise<void> {
  if (!changedSinceLastCheck(config, `${verdict.healthy ? 'healthy' : 'unhealthy'} ${verdict.role}: ${verdict.problems.join('; ')}`, verdict.healthy)) return;
  const { createLogger } = await import('../log.ts');
  const log = createLogger(config, 'check');
  if (verdict.healthy) log.info({ role: verdict.role }, verdict.line);
  else log.warn({ problems: verdict.problems, role: verdict.role }, verdict.line);
}

/**
 * Appends `line` to the agent's log file as a pino-shaped warn line when it differs from what
 * the last check reported, synchronously: the process exits right after. Loading pino here would
 * cost the time the check has just run out of; a log to stderr/stdout is skipped.
 */
function logTimeoutWhenChanged(config: Config, line: string): void {
  if (!changedSinceLastCheck(config, `timeout: ${line}`, false)) return;
  const { destination } = config.log;
  if (destination === 'stderr' || destination === 'stdout') return;
  try {
    appendFileSync(destination, `${JSON.stringify({ level: 40, time: Date.now(), node: config.node, cmd: 'check', pid: process.pid, msg: line })}\n`);
  } catch {
    // the log file cannot be written: stderr had it
  }
}

const writeQuietly = (file: string, text: string): void => {
  try {
    writeFileSync(file, text, { mode: 0o600 });
  } catch {
    // runDir missing (no daemon ever ran): nothing to remember, the line is still logged
  }
};

/** Runs the check and returns the exit code (the caller exits with it). */
export async function main(args: string[]): Promise<number> {
  const started = monoNow();
  let phase = 'reading the configuration';
  let timer: NodeJS.Timeout | undefined;
  let loaded: Config | null = null;
  const arm = (ms: number): void => {
    timer = setTimeout(() => {
      const line = `UNHEALTHY: no verdict within ${ms} ms (stuck ${phase})`;
      process.stderr.write(`fence-agent check: ${line}\n`);
      // keepalived drops stderr: the agent's log says it too (once per change, as for verdicts)
      if (loaded !== null) logTimeoutWhenChanged(loaded, line);
      exitProcess(ExitCode.FAILURE);
    }, Math.max(0, ms - (monoNow() - started)));
  };
  try {
    const options = parse(args);
    if (options.timeoutMs !== undefined) arm(options.timeoutMs);
    const config = loadConfig(configPathFrom(options.config));
    loaded = config;
    const timeoutMs = options.timeoutMs ?? config.deadlines.checkMs;
    if (options.timeoutMs === undefined) arm(timeoutMs);
    // A transition within its deadline makes the node healthy whatever the other probes find
    // (src/health.ts): answer from the state file and the VIP alone, before touching the lease or
    // mysqld — transitions are when the machine is busiest (a check starved of CPU while a daemon
    // restarted went FAULT in the two-VM lab).
    phase = 'reading the state file';
    const before = readState(config.stateDir);
    const inProgress = transitionInProgress(before, before?.daemon ? isAlive(before.daemon.pid) : false, monoNow(), bootId());
    if (inProgress !== null) {
      const role = probeVip(config.vip).held ? 'MASTER' : 'BACKUP';
      const verdict: Verdict = { healthy: true, known: true, role, inTransition: true, line: `healthy ${role}: ${inProgress.line}`, problems: [] };
      process.stderr.write(`fence-agent check: ${verdict.line}\n`);
      await logWhenChanged(config, verdict);
      return ExitCode.OK;
    }
    phase = 'probing VIP, mount, mysqld and fence';
    const fence = await createFence(config, { role: 'reader' });
    const observation = await observe(config, fence, { probeTimeoutMs: Math.max(50, Math.floor(timeoutMs - (monoNow() - started) - 50)), sql: 'daemon-or-own' });
    phase = 'reading the state file';
    // read again after the probes: a transition that started while they ran explains what they saw
    const state = readState(config.stateDir);
    const daemonAlive = state?.daemon ? isAlive(state.daemon.pid) : false;
    const nowMono = monoNow();
    const boot = bootId();
    const failingForMs = fenceReadStreak(config.runDir, observation.errors.fence !== undefined, nowMono, boot);
    const fenceRead = failingForMs === null ? undefined : { failingForMs, toleranceMs: fenceReadToleranceMs(config) };
    const verdict = evaluate({ config, observation, state, daemonAlive, nowMono, bootId: boot, fenceRead });
    process.stderr.write(`fence-agent check: ${verdict.line}\n`);
    await logWhenChanged(config, verdict);
    return verdict.healthy ? ExitCode.OK : ExitCode.FAILURE;
  } catch (error) {
    return reportError('check', error);
  } finally {
    clearTimeout(timer);
  }
}
