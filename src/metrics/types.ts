// What the daemon hands the metrics (src/metrics/): a snapshot read at each render, and the
// events it counts. Types only: importing this file loads nothing (prom-client stays out of
// `check` and `notify`, and out of a daemon with metrics off).
import type { HealthValue } from '../daemon/health-file.ts';
import type { Verdict } from '../health.ts';
import type { AgentState, TransitionRecord, VrrpState } from '../state.ts';

/**
 * The daemon's view at the moment of a render. `state` is the daemon's own state object — the
 * one it writes to `<stateDir>/state.json`, which `status --json` reads — not a copy: the metrics
 * and `status --json` say the same thing because they read the same object.
 */
export interface MetricsSnapshot {
  state: AgentState;
  /** the daemon's last health evaluation (src/health.ts), null before the first */
  verdict: Verdict | null;
  /** what keepalived's tracked file says (`<runDir>/health`): 0 healthy, 1 FAULT, null before the first write */
  healthFile: HealthValue | null;
  /** the fence as this daemon knows it, without reading the storage (a scrape never waits on it) */
  fence: FenceView;
}

export interface FenceView {
  method: 'lockfile' | 'scsi-pr' | 'none';
  /** this daemon holds the fence with its right to write; null for method none */
  held: boolean | null;
  /** who holds it: this node, the peer named by the lease record this daemon observes, or null (free or unknown) */
  holder: string | null;
}

/** What the daemon counts, as it happens. */
export type MetricsEvent =
  /** a transition ended (its record complete: outcome, duration, steps) */
  | { type: 'transition'; record: TransitionRecord }
  /** the fence was lost and the self-fence latched */
  | { type: 'self-fence' }
  /** mysqld restarted in place on the MASTER (`mysqld.restartAttempts`) */
  | { type: 'local-restart' }
  /** a request from keepalived: `notify` (the command, or its request taken up from desired.json) or `fifo` (notify_fifo) */
  | { type: 'notify'; state: VrrpState; source: 'notify' | 'fifo' };
