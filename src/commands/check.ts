// `fence-agent check` — keepalived's vrrp_script. Exit 0 for healthy MASTER or healthy BACKUP
// (or a transition within its deadline), 1 otherwise, 6 for a bad configuration; one line on
// stderr saying which. Its own deadline (`--timeout-ms`, default `deadlines.checkMs`) ends it with
// exit 1 rather than letting keepalived time it out. Loads no yargs, execa or systeminformation;
// mysql2 only when a mysqld runs.
import { parseArgs } from 'node:util';
import { exitProcess, useInlineStorageIo } from '../bounded-io.ts';
import { configPathFrom, loadConfig } from '../config/load.ts';
import { ExitCode, usageError } from '../errors.ts';
import { evaluate } from '../health.ts';
import { isAlive } from '../proc.ts';
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

/** Runs the check and returns the exit code (the caller exits with it). */
export async function main(args: string[]): Promise<number> {
  const started = Date.now();
  useInlineStorageIo();
  let phase = 'reading the configuration';
  let timer: NodeJS.Timeout | undefined;
  const arm = (ms: number): void => {
    timer = setTimeout(() => {
      process.stderr.write(`fence-agent check: UNHEALTHY: no verdict within ${ms} ms (stuck ${phase})\n`);
      exitProcess(ExitCode.FAILURE);
    }, Math.max(0, ms - (Date.now() - started)));
  };
  try {
    const options = parse(args);
    if (options.timeoutMs !== undefined) arm(options.timeoutMs);
    const config = loadConfig(configPathFrom(options.config));
    const timeoutMs = options.timeoutMs ?? config.deadlines.checkMs;
    if (options.timeoutMs === undefined) arm(timeoutMs);
    phase = 'probing VIP, mount, mysqld and fence';
    const fence = await createFence(config);
    const observation = await observe(config, fence, { probeTimeoutMs: Math.max(50, timeoutMs - (Date.now() - started) - 50), sql: 'daemon-or-own' });
    phase = 'reading the state file';
    const state = readState(config.stateDir);
    const daemonAlive = state?.daemon ? isAlive(state.daemon.pid) : false;
    const verdict = evaluate({ config, observation, state, daemonAlive, now: Date.now() });
    process.stderr.write(`fence-agent check: ${verdict.line}\n`);
    if (!verdict.healthy) {
      const { createLogger } = await import('../log.ts');
      createLogger(config, 'check').warn({ problems: verdict.problems, role: verdict.role }, verdict.line);
    }
    return verdict.healthy ? ExitCode.OK : ExitCode.FAILURE;
  } catch (error) {
    return reportError('check', error);
  } finally {
    clearTimeout(timer);
  }
}
