// `fence-agent check` — keepalived's vrrp_script. Exit 0 for healthy MASTER or healthy BACKUP
// (or a transition within its deadline), 1 otherwise, 6 for a bad configuration; one line on
// stderr saying which. Its own deadline (`--timeout-ms`, default `deadlines.checkMs`) ends it with
// exit 1 rather than letting keepalived time it out. Loads no yargs, execa or systeminformation;
// mysql2 only when a mysqld runs.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { configPathFrom, loadConfig } from '../config/load.ts';
import { ExitCode, usageError } from '../errors.ts';
import type { Config } from '../config/types.ts';
import { evaluate, type Verdict } from '../health.ts';
import { exitProcess } from '../lease-io.ts';
import { monoNow } from '../clock.ts';
import { bootId, isAlive } from '../proc.ts';
import { observe } from '../probes/observe.ts';
import { readState } from '../state.ts';
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
 * Logs the verdict when it differs from the last one this node's checks logged
 * (`<runDir>/check-last`): keepalived runs `check` every few seconds, and a FAULT node would
 * otherwise log the same line all day. Numbers (durations, ages, counters, pids) are ignored in the comparison.
 */
async function logWhenChanged(config: Config, verdict: Verdict): Promise<void> {
  const file = path.join(config.runDir, 'check-last');
  // numbers (ages, durations, the lease counter, pids) change every run: compare the words only
  const key = `${verdict.healthy ? 'healthy' : 'unhealthy'} ${verdict.role}: ${verdict.problems.join('; ')}`.replace(/\d+(\.\d+)?/g, '#');
  let last: string | null = null;
  try {
    last = readFileSync(file, 'utf8');
  } catch {
    // first check, or no runDir yet
  }
  if (last === key || (last === null && verdict.healthy)) {
    if (last === null) writeQuietly(file, key);
    return;
  }
  writeQuietly(file, key);
  const { createLogger } = await import('../log.ts');
  const log = createLogger(config, 'check');
  if (verdict.healthy) log.info({ role: verdict.role }, verdict.line);
  else log.warn({ problems: verdict.problems, role: verdict.role }, verdict.line);
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
  const arm = (ms: number): void => {
    timer = setTimeout(() => {
      process.stderr.write(`fence-agent check: UNHEALTHY: no verdict within ${ms} ms (stuck ${phase})\n`);
      exitProcess(ExitCode.FAILURE);
    }, Math.max(0, ms - (monoNow() - started)));
  };
  try {
    const options = parse(args);
    if (options.timeoutMs !== undefined) arm(options.timeoutMs);
    const config = loadConfig(configPathFrom(options.config));
    const timeoutMs = options.timeoutMs ?? config.deadlines.checkMs;
    if (options.timeoutMs === undefined) arm(timeoutMs);
    phase = 'probing VIP, mount, mysqld and fence';
    const fence = await createFence(config, { role: 'reader' });
    const observation = await observe(config, fence, { probeTimeoutMs: Math.max(50, timeoutMs - (monoNow() - started) - 50), sql: 'daemon-or-own' });
    phase = 'reading the state file';
    const state = readState(config.stateDir);
    const daemonAlive = state?.daemon ? isAlive(state.daemon.pid) : false;
    const verdict = evaluate({ config, observation, state, daemonAlive, nowMono: monoNow(), bootId: bootId() });
    process.stderr.write(`fence-agent check: ${verdict.line}\n`);
    await logWhenChanged(config, verdict);
    return verdict.healthy ? ExitCode.OK : ExitCode.FAILURE;
  } catch (error) {
    return reportError('check', error);
  } finally {
    clearTimeout(timer);
  }
}
