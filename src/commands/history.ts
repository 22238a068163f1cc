// `fence-agent history [--json] [--limit N]` — what happened on this node, when, why, how long and
// how it ended: the daemon's events (src/events/types.ts) as kept in `<stateDir>/history.jsonl`
// (src/events/history.ts), oldest first, the newest N (default 20). Reads the file only: works with
// or without a daemon. Exit 0 (also with no event yet), 1 when the file cannot be read, 2 for a
// bad --limit, 6 configuration.
import { loadConfig } from '../config/load.ts';
import { ExitCode, FenceAgentError, errorLine, usageError } from '../errors.ts';
import { historyFilePath, readHistory } from '../events/history.ts';
import type { AgentEvent } from '../events/types.ts';

/** Events shown without --limit. */
export const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100_000;

/** `--limit` as given on the command line (a string, so that `--limit abc` is shown as given). @throws FenceAgentError `EUSAGE` (exit 2) */
export function parseLimit(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LIMIT;
  const limit = /^[0-9]{1,6}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw usageError(`--limit: expected an integer 1..${MAX_LIMIT}, got ${JSON.stringify(value)}`);
  return limit;
}

/** The `--json` document: `entries` oldest first, at most `limit` of the `total` events in the file. */
export interface HistoryReport {
  version: 1;
  node: string;
  file: string;
  total: number;
  /** lines of the file that are not events of this version (a torn last line after a crash, a newer agent's) */
  skipped: number;
  entries: AgentEvent[];
}

const seconds = (ms: number | undefined): string => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);

/** One line per event: time, kind, outcome, duration, role after it, why. */
export const formatEvent = (e: AgentEvent): string =>
  `${e.at}  ${e.kind.padEnd(13)}  ${(e.outcome ?? '-').padEnd(11)}  ${seconds(e.durationMs).padStart(9)}  ${e.role.padEnd(9)}  ${e.detail}`;

/**
 * Prints the newest events of this node's history (to stdout, or `write`); returns the exit code.
 * @throws FenceAgentError `EUSAGE` (exit 2) for a bad --limit (before anything is read), `ECONFIG`
 *   (exit 6), `EHISTORY` (exit 1) when the history file exists but cannot be read
 */
export function main(configPath: string, json: boolean, limitArg: string | undefined, write: (text: string) => void = (text) => void process.stdout.write(text)): number {
  const limit = parseLimit(limitArg);
  const config = loadConfig(configPath);
  const file = historyFilePath(config.stateDir);
  let read;
  try {
    read = readHistory(config.stateDir);
  } catch (error) {
    throw new FenceAgentError('EHISTORY', `cannot read ${file}: ${errorLine(error)}`, { cause: error });
  }
  const entries = read.entries.slice(-limit);
  const report: HistoryReport = { version: 1, node: config.node, file, total: read.entries.length, skipped: read.skipped, entries };
  if (json) {
    write(`${JSON.stringify(report, null, 2)}\n`);
    return ExitCode.OK;
  }
  const lines =
    entries.length === 0
      ? [`no events recorded yet on ${config.node} (${file})`]
      : [`history of ${config.node} (${file}): ${entries.length === report.total ? `${report.total} events` : `the last ${entries.length} of ${report.total} events`}, oldest first`, ...entries.map(formatEvent)];
  if (read.skipped > 0) lines.push(`(${read.skipped} lines skipped: torn by a crash, or not an event of this version)`);
  write(`${lines.join('\n')}\n`);
  return ExitCode.OK;
}
