// The Prometheus metrics of the daemon, on a prom-client Registry of their own (no default
// process_/nodejs_ metrics: in a node_exporter textfile they would collide with node_exporter's
// own). Names follow the Prometheus conventions: prefix `fence_agent_`, base units (seconds),
// `_total` on counters, `_seconds` on durations and timestamps. README "Metrics" lists them.
//
// Two kinds of series:
// - gauges read from the daemon's snapshot (./types.ts: its state object, the one `status --json`
//   reads from state.json; its last health verdict; the fence as it holds it), set afresh at each
//   render, so a label value that no longer applies (an old role, a holder) disappears;
// - counters and histograms the daemon's events increment (transitions, steps, self-fences, local
//   restarts, notify events). They start at 0 with each daemon (Prometheus' rate() expects resets).
// Loaded only by the daemon with metrics configured (./sink.ts imports ./exporter.ts dynamically).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TransitionKind, TransitionOutcome, VrrpState } from '../state.ts';
import { HEALTH_PARTS, failingParts } from './health-parts.ts';
import type { MetricsEvent, MetricsSnapshot } from './types.ts';

/** The daemon's roles (AgentState.role): each has a series of `fence_agent_role`, 1 for the current one. */
export const ROLES = ['MASTER', 'BACKUP', 'FENCED', 'FENCED-IN', 'UNKNOWN'] as const;
const KINDS: readonly TransitionKind[] = ['promote', 'demote'];
const OUTCOMES: readonly TransitionOutcome[] = ['ok', 'rolled-back', 'failed', 'aborted'];
const NOTIFY_STATES: readonly VrrpState[] = ['MASTER', 'BACKUP', 'FAULT', 'STOP', 'DELETED'];
const NOTIFY_SOURCES = ['notify', 'fifo'] as const;

/**
 * Histogram buckets, seconds: a step takes from a few ms (a skipped step) to minutes (a fence
 * acquisition waiting out the peer's lease, InnoDB recovery before SQL answers).
 */
export const DURATION_BUCKETS_SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600];

/** ms → s */
const seconds = (ms: number): number => ms / 1000;

/** An ISO time → seconds since the epoch, or null when absent or unparsable. */
const epochSeconds = (iso: string | null | undefined): number | null => {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms / 1000 : null;
};

export class AgentMetrics {
  readonly registry = new Registry();

  private readonly info: Gauge;
  private readonly startTime: Gauge;
  private readonly role: Gauge;
  private readonly healthy: Gauge;
  private readonly healthProblem: Gauge;
  private readonly healthFileFault: Gauge;
  private readonly inTransition: Gauge;
  private readonly maintenance: Gauge;
  private readonly selfFenced: Gauge;
  private readonly fenceHeld: Gauge | null;
  private readonly fenceHolder: Gauge | null;
  private readonly lastTransitionTime: Gauge;
  private readonly lastTransitionDuration: Gauge;
  private readonly transitions: Counter;
  private readonly transitionDuration: Histogram;
  private readonly stepDuration: Histogram;
  private readonly selfFences: Counter;
  private readonly localRestarts: Counter;
  private readonly notifyEvents: Counter;

  /**
   * @param identity this node, its cluster and fence method (`fence_agent_info`); with method
   *   `none` the fence series are left out (nothing is held)
   */
  constructor(private readonly identity: { node: string; cluster: string; fenceMethod: 'lockfile' | 'scsi-pr' | 'none' }) {
    const registers = [this.registry];
    this.info = new Gauge({ name: 'fence_agent_info', help: 'Always 1: this node, its cluster and its fence method.', labelNames: ['node', 'cluster', 'fence_method'], registers });
    this.startTime = new Gauge({ name: 'fence_agent_start_time_seconds', help: 'When this daemon started, seconds since the epoch (counters start at 0 then).', registers });
    this.role = new Gauge({ name: 'fence_agent_role', help: "The daemon's role: 1 for the current one (MASTER, BACKUP, FENCED, FENCED-IN, UNKNOWN), 0 for the others.", labelNames: ['role'], registers });
    this.healthy = new Gauge({ name: 'fence_agent_healthy', help: "1 when the daemon's last health evaluation found the node healthy (the rule of fence-agent check), 0 otherwise.", registers });
    this.healthProblem = new Gauge({ name: 'fence_agent_health_problem', help: 'Per part of the node: 1 when the last health evaluation found it off (also while a transition or maintenance counts the node healthy), 0 otherwise.', labelNames: ['part'], registers });
    this.healthFileFault = new Gauge({ name: 'fence_agent_health_file_fault', help: "What keepalived's tracked health file says: 1 FAULT, 0 healthy (0 before the first write).", registers });
    this.inTransition = new Gauge({ name: 'fence_agent_in_transition', help: '1 while a transition (promote or demote) runs.', registers });
    this.maintenance = new Gauge({ name: 'fence_agent_maintenance', help: '1 while maintenance is on (the daemon takes no action).', registers });
    this.selfFenced = new Gauge({ name: 'fence_agent_self_fenced', help: '1 while the self-fence latch is set (the fence was lost; the node stays out until keepalived leaves MASTER).', registers });
    const fenced = identity.fenceMethod !== 'none';
    this.fenceHeld = fenced ? new Gauge({ name: 'fence_agent_fence_held', help: '1 when this daemon holds the fence with its right to write, 0 otherwise.', registers }) : null;
    this.fenceHolder = fenced
      ? new Gauge({ name: 'fence_agent_fence_holder', help: 'Who holds the fence as this daemon knows it without reading the storage: one series with value 1 (this node, or the peer named by the lease record it observes); none when free or unknown.', labelNames: ['holder'], registers })
      : null;
    this.lastTransitionTime = new Gauge({ name: 'fence_agent_last_transition_timestamp_seconds', help: 'When the last transition ended, seconds since the epoch; labelled with its kind and outcome.', labelNames: ['kind', 'outcome'], registers });
    this.lastTransitionDuration = new Gauge({ name: 'fence_agent_last_transition_duration_seconds', help: 'How long the last transition took, seconds; labelled with its kind and outcome.', labelNames: ['kind', 'outcome'], registers });
    this.transitions = new Counter({ name: 'fence_agent_transitions_total', help: 'Transitions ended, by kind (promote, demote) and outcome (ok, rolled-back, failed, aborted).', labelNames: ['kind', 'outcome'], registers });
    this.transitionDuration = new Histogram({ name: 'fence_agent_transition_duration_seconds', help: 'Duration of ended transitions, seconds, by kind and outcome.', labelNames: ['kind', 'outcome'], buckets: DURATION_BUCKETS_SECONDS, registers });
    this.stepDuration = new Histogram({ name: 'fence_agent_step_duration_seconds', help: 'Duration of the steps of ended transitions, seconds, by transition kind, step and step outcome (ok, skipped, failed).', labelNames: ['kind', 'step', 'outcome'], buckets: DURATION_BUCKETS_SECONDS, registers });
    this.selfFences = new Counter({ name: 'fence_agent_self_fences_total', help: 'Self-fences: the fence lost while this node held it.', registers });
    this.localRestarts = new Counter({ name: 'fence_agent_local_restarts_total', help: 'Local restarts of mysqld on the MASTER (mysqld.restartAttempts).', registers });
    this.notifyEvents = new Counter({ name: 'fence_agent_notify_events_total', help: "Requests from keepalived, by VRRP state and how they came (notify: the command; fifo: notify_fifo).", labelNames: ['state', 'source'], registers });
    // every known label combination present from the start, at 0: rate() and absent() work from the first scrape
    for (const kind of KINDS) for (const outcome of OUTCOMES) this.transitions.inc({ kind, outcome }, 0);
    for (const state of NOTIFY_STATES) for (const source of NOTIFY_SOURCES) this.notifyEvents.inc({ state, source }, 0);
  }

  /** Counts one event. */
  record(event: MetricsEvent): void {
    switch (event.type) {
      case 'transition': {
        const { kind, outcome, durationMs, steps } = event.record;
        if (outcome === null) return; // not ended
        this.transitions.inc({ kind, outcome });
        if (durationMs !== null) this.transitionDuration.observe({ kind, outcome }, seconds(durationMs));
        for (const step of steps) {
          if (step.durationMs === null || step.outcome === 'running') continue;
          this.stepDuration.observe({ kind, step: step.name, outcome: step.outcome }, seconds(step.durationMs));
        }
        return;
      }
      case 'self-fence':
        this.selfFences.inc();
        return;
      case 'local-restart':
        this.localRestarts.inc();
        return;
      case 'notify':
        this.notifyEvents.inc({ state: event.state, source: event.source });
        return;
    }
  }

  /** The Prometheus text exposition (format 0.0.4) of `snapshot` and the counts so far. */
  async render(snapshot: MetricsSnapshot): Promise<string> {
    this.refresh(snapshot);
    return this.registry.metrics();
  }

  /** `text/plain; version=0.0.4; charset=utf-8` */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Sets every gauge from the snapshot (labelled ones reset first: a value that no longer applies disappears). */
  private refresh({ state, verdict, healthFile, fence }: MetricsSnapshot): void {
    this.info.reset();
    this.info.set({ node: this.identity.node, cluster: this.identity.cluster, fence_method: this.identity.fenceMethod }, 1);
    const started = epochSeconds(state.daemon?.startedAt);
    if (started !== null) this.startTime.set(started);
    for (const role of ROLES) this.role.set({ role }, state.role === role ? 1 : 0);
    this.healthy.set(verdict?.healthy === true ? 1 : 0);
    const failing = failingParts(verdict?.problems ?? []);
    for (const part of HEALTH_PARTS) this.healthProblem.set({ part }, failing.has(part) ? 1 : 0);
    this.healthFileFault.set(healthFile === 1 ? 1 : 0);
    this.inTransition.set(state.transition !== null ? 1 : 0);
    this.maintenance.set(state.maintenance ? 1 : 0);
    this.selfFenced.set(state.selfFence !== null ? 1 : 0);
    this.fenceHeld?.set(fence.held === true ? 1 : 0);
    this.fenceHolder?.reset();
    if (fence.holder !== null) this.fenceHolder?.set({ holder: fence.holder }, 1);
    this.lastTransitionTime.reset();
    this.lastTransitionDuration.reset();
    const last = state.lastTransition;
    if (last !== null && last.outcome !== null) {
      const labels = { kind: last.kind, outcome: last.outcome };
      const ended = epochSeconds(last.endedAt);
      if (ended !== null) this.lastTransitionTime.set(labels, ended);
      if (last.durationMs !== null) this.lastTransitionDuration.set(labels, seconds(last.durationMs));
    }
  }
}
