// Which events the daemon's facts make (./types.ts): pure functions, called where the daemon
// already records its metrics (src/daemon/daemon.ts: the end of a transition, the fence lost,
// maintenance on/off), so that the hook and the history see what the metrics count.
//
// The rules, from an ended transition (its TransitionRecord, the roles before and after it):
// - a self-fence demotion (mode `fenced`) is `self-fenced`;
// - a promotion for a local restart (reason `mysqld-restart`) is `local-restart`;
// - a promotion that ended ok, whose `fence.acquire` step ran (not skipped: the fence was not
//   already held) and whose acquire took the fence from another node (Fence.lastTakeover: a lease
//   record left unchanged for takeoverAfterMs, preempted reservation keys) is `failover` — a
//   promotion after the peer released the fence (a switchover, a clean stop) or found it free is
//   a plain `promotion`; so is one with `fence.method none` (nothing tells who had the role);
// - any other promotion is `promotion`, any other demotion `demotion`;
// - and, besides, a transition that leaves the node FENCED-IN from another role is `fenced-in`.
// A demotion retried on a fenced-in node (reason `fenced-in-retry`, every
// `monitor.fencedInRetryMs`) that leaves it fenced-in again makes no event: the history would
// fill with them; the retry that clears it makes its demotion (or self-fenced) event.
import type { Takeover } from '../../fence/types.ts';
import { oneLine } from '../errors.ts';
import type { AgentState, Maintenance, TransitionRecord } from '../state.ts';
import type { EventFacts } from './types.ts';

type Role = AgentState['role'];

/** What the daemon knows when a transition has ended. */
export interface TransitionFacts {
  /** the ended transition (outcome, durationMs, steps, error set) */
  record: TransitionRecord;
  /** the demotion's mode: `fenced` for the self-fence demotion */
  mode: 'graceful' | 'fenced';
  roleBefore: Role;
  roleAfter: Role;
  /** this node's name: a lease taken over from a record naming it (another boot of this node) is not a failover */
  node: string;
  /** Fence.lastTakeover() read once the transition ended (null: none, or the method has none) */
  takeover: Takeover | null;
  /** the self-fence latch's reason when the transition started, or null */
  selfFenceReason: string | null;
  /** for a local restart: which one, e.g. `1 of 3 within 300000 ms`; null otherwise */
  restartAttempt: string | null;
}

/** `MASTER requested by notify (VI_1 100)`, with the transition's reason when it differs from the request's source. */
function why(record: TransitionRecord): string {
  const { desire, reason } = record;
  const asked = `${desire.vrrpState} requested by ${desire.source}${desire.detail ? ` (${desire.detail})` : ''}`;
  return reason === desire.source ? asked : `${reason}: ${asked}`;
}

const failure = (record: TransitionRecord): string => (record.outcome === 'ok' || record.error === null ? '' : `; ${record.error}`);

/** The fence.acquire step of a promotion ran and took the fence (not skipped: it was not already held). */
const acquired = (record: TransitionRecord): boolean => record.steps.some((step) => step.name === 'fence.acquire' && step.outcome === 'ok');

/** The events an ended transition makes (none, one, or one and `fenced-in`), in order. */
export function transitionEvents(facts: TransitionFacts): EventFacts[] {
  const { record, mode, roleBefore, roleAfter, takeover } = facts;
  if (record.outcome === null) return [];
  if (record.reason === 'fenced-in-retry' && roleAfter === 'FENCED-IN') return [];
  const timing = { role: roleAfter, outcome: record.outcome, ...(record.durationMs === null ? {} : { durationMs: record.durationMs }) };
  const events: EventFacts[] = [];
  if (record.kind === 'demote' && mode === 'fenced') {
    const done = record.outcome === 'ok' ? 'mysqld and the filesystem gone' : 'the self-fence demotion did not finish';
    events.push({ kind: 'self-fenced', ...timing, detail: oneLine(`${facts.selfFenceReason ?? 'fence lost'}: ${done}${failure(record)}`) });
  } else if (record.kind === 'promote' && record.reason === 'mysqld-restart') {
    events.push({ kind: 'local-restart', ...timing, detail: oneLine(`mysqld gone on the MASTER: restarted in place${facts.restartAttempt ? ` (${facts.restartAttempt})` : ''}${failure(record)}`) });
  } else if (record.kind === 'promote' && record.outcome === 'ok' && acquired(record) && takeover !== null && takeover.from !== facts.node) {
    events.push({ kind: 'failover', ...timing, detail: oneLine(`took the MASTER role from ${takeover.from}: ${takeover.detail}; ${why(record)}`) });
  } else {
    events.push({ kind: record.kind === 'promote' ? 'promotion' : 'demotion', ...timing, detail: oneLine(`${why(record)}${failure(record)}`) });
  }
  if (roleAfter === 'FENCED-IN' && roleBefore !== 'FENCED-IN') {
    const detail = `${record.kind} ${record.outcome}: the filesystem could not be verified gone; the fence is kept (retried every monitor.fencedInRetryMs once keepalived has left MASTER)${failure(record)}`;
    events.push({ kind: 'fenced-in', role: roleAfter, detail: oneLine(detail) });
  }
  return events;
}

/** The fence was lost while held (Daemon.selfFence, the first call of a latch). */
export const fenceLostEvent = (reason: string, role: Role): EventFacts => ({ kind: 'fenced', role, detail: oneLine(`FENCE LOST: ${reason}`) });

/** Maintenance turned on (`now` the new record) or off (`was` the record it replaces). */
export function maintenanceEvent(change: { on: true; now: Maintenance } | { on: false; was: Maintenance }, role: Role): EventFacts {
  if (change.on) {
    return { kind: 'maintenance', role, outcome: 'on', detail: oneLine(`maintenance on${change.now.reason ? ` (${change.now.reason})` : ''}: no action on this node until maintenance off`) };
  }
  return { kind: 'maintenance', role, outcome: 'off', detail: oneLine(`maintenance off (on since ${change.was.at}${change.was.reason ? `: ${change.was.reason}` : ''}): acting again`) };
}
