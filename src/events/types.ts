// What happened on the node, as the event hook (./hook.ts) receives it on stdin and the history
// (./history.ts, `fence-agent history`) keeps it: one shape for both, documented in README
// "Events and history". Types only: importing this file loads nothing.
import type { AgentState } from '../state.ts';

/** The format of an event: in the hook's stdin and in every line of `<stateDir>/history.jsonl`. */
export const EVENT_VERSION = 1;

/**
 * - `fenced`: the fence was lost while this node held it (FENCE LOST: taken over, expired,
 *   unreadable past its bound); the self-fence starts at once
 * - `self-fenced`: the self-fence demotion that follows ended (outcome ok: mysqld and the
 *   filesystem gone, the node FENCED; otherwise it is fenced-in)
 * - `fenced-in`: the node became FENCED-IN: an unmount could not be verified, the fence is kept
 * - `promotion`, `demotion`: a transition ended, with its outcome and duration
 * - `failover`: a promotion that ended ok and took the fence from the peer (see classify.ts)
 * - `local-restart`: mysqld restarted in place on the MASTER (`mysqld.restartAttempts`), ended
 * - `maintenance`: `fence-agent maintenance on|off` (outcome `on` or `off`)
 */
export const EVENT_KINDS = ['fenced', 'self-fenced', 'fenced-in', 'promotion', 'demotion', 'failover', 'local-restart', 'maintenance'] as const;

export type EventKind = (typeof EVENT_KINDS)[number];

/**
 * One event. `detail` says why, in one line; `durationMs` (ms) and `outcome` are present when the
 * event has them: a transition's duration and outcome (`ok`, `rolled-back`, `failed`, `aborted`),
 * `on`/`off` for maintenance.
 */
export interface AgentEvent {
  version: typeof EVENT_VERSION;
  kind: EventKind;
  /** when it happened, ISO 8601 (wall clock, for people) */
  at: string;
  node: string;
  cluster: string;
  /** the daemon's role right after the event: MASTER, BACKUP, FENCED, FENCED-IN, UNKNOWN */
  role: AgentState['role'];
  detail: string;
  durationMs?: number;
  outcome?: string;
}

/** An event as the daemon's code states it; the sink (./sink.ts) adds version, time, node and cluster. */
export type EventFacts = Pick<AgentEvent, 'kind' | 'role' | 'detail' | 'durationMs' | 'outcome'>;

/** Why `value` is not a well-formed {@link AgentEvent} (of this version), or null when it is one. */
export function eventProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'expected an object';
  const e = value as Record<string, unknown>;
  if (e.version !== EVENT_VERSION) return `version: expected ${EVENT_VERSION}, got ${JSON.stringify(e.version)}`;
  if (typeof e.kind !== 'string' || !(EVENT_KINDS as readonly string[]).includes(e.kind)) return `kind: expected one of ${EVENT_KINDS.join('|')}`;
  for (const key of ['at', 'node', 'cluster', 'role', 'detail'] as const) if (typeof e[key] !== 'string') return `${key}: expected a string`;
  if (e.durationMs !== undefined && (typeof e.durationMs !== 'number' || !Number.isFinite(e.durationMs) || e.durationMs < 0)) return 'durationMs: expected ms';
  if (e.outcome !== undefined && typeof e.outcome !== 'string') return 'outcome: expected a string';
  return null;
}
