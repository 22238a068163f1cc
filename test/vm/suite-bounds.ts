// What the VM test files share under CI: the last moment a scenario may start
// ($VM_SCENARIOS_START_BY, set by .ci/run from CI's 90 min limit) and where a failed scenario's
// logs go ($VM_SCENARIO_LOGS, whose files .ci/run prints at the end: CI keeps only the output).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ScenarioResult } from '../../lab/scenario/harness.ts';

/** Directory a failed scenario's error and node logs are written to. */
export const SCENARIO_LOGS = process.env.VM_SCENARIO_LOGS ?? '/var/tmp/fence-agent-vm-scenarios';

/** $VM_SCENARIOS_START_BY as epoch ms (Infinity when unset or empty). @throws Error on a value that is not a positive integer */
export function startBy(value: string | undefined): number {
  if (value === undefined || value === '') return Infinity;
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw new Error(`VM_SCENARIOS_START_BY: ${JSON.stringify(value)} is not epoch milliseconds (expected a positive integer)`);
  return Number(value);
}

const START_BY = startBy(process.env.VM_SCENARIOS_START_BY);

/**
 * Refuses to start `id` once the suite's time has run out, so that a run slowed by failures ends
 * red with its reasons instead of being cut off by CI's limit.
 * @throws Error naming `id` and the deadline, when now is past $VM_SCENARIOS_START_BY
 */
export function assertTimeLeft(id: string): void {
  if (Date.now() > START_BY) {
    throw new Error(`${id}: not started: the suite's time ran out at ${new Date(START_BY).toISOString()} (VM_SCENARIOS_START_BY: earlier scenarios took too long; see their errors)`);
  }
}

/**
 * Keeps a failed scenario's evidence in {@link SCENARIO_LOGS}: `<name>.error` (the error and the
 * result without logs, which .ci/run prints last) and `<name>.<node>.log` (each node's whole log).
 * @returns the error to throw, naming the log files
 */
export function keepFailure(name: string, result: ScenarioResult): Error {
  mkdirSync(SCENARIO_LOGS, { recursive: true });
  const summary = JSON.stringify({ ...result, nodeLogs: undefined, logs: undefined });
  writeFileSync(path.join(SCENARIO_LOGS, `${name}.error`), `${name}: ${result.error ?? 'failed'}\n${summary}\n`);
  const files = Object.entries(result.nodeLogs ?? {}).map(([node, text]) => {
    const file = path.join(SCENARIO_LOGS, `${name}.${node}.log`);
    writeFileSync(file, text);
    return file;
  });
  return new Error(`${name}: ${result.error ?? 'failed'}${files.length > 0 ? `\nlogs: ${files.join(', ')}` : ''}`);
}
