// Runs one scenario on a fresh pair (netns or VM, through lab/cluster.ts) with the invariant
// monitor and the write ledger running the whole time, and returns what happened — the test files
// (test/e2e) assert on the result, the soak runner (scripts/soak.ts) records it. Pass or fail,
// everything the scenario created is removed, and `fsck -n` judges the disk afterwards.
import { monoNow } from '../../src/clock.ts';
import { errorLine } from '../../src/errors.ts';
import type { Cluster, ClusterNode, ClusterObserver } from '../cluster.ts';
import { type Ack, Ledger } from '../ledger.ts';
import { InvariantMonitor, type Violation } from '../monitor.ts';
import { RECORDING_FORMAT, type TimelineRecording } from '../timeline/recording.ts';
import { saveTimeline, timelinePathFromEnv } from '../timeline/write.ts';
import { waitAcks, waitMaster } from './probes.ts';

export interface ScenarioOptions {
  /** the agents' local restart policy (`mysqld.restartAttempts`); default 0: fail over */
  mysqldRestartAttempts?: number;
  /** run with the watchdog (default true); false = `fence.allowNoWatchdog` */
  watchdog?: boolean;
  /** the scenario expects a node's watchdog to reset it; otherwise any reset fails it */
  watchdogMayFire?: boolean;
  /** the fencing method (default lockfile); scsi-pr runs only in the VM lab */
  fence?: 'lockfile' | 'scsi-pr';
  /** scsi-pr, VM lab: the LUN's ext4 `mmp_update_interval`, s (default 5); the MMP wait of a take-over is about twice the holder's check interval */
  mmpUpdateIntervalS?: number;
  /** `keepalived.startMode` (default always); clean means something only after a real reset: VM lab */
  startMode?: 'always' | 'clean';
  /** each node's `events.exec` set to a lab hook that keeps what it receives (ClusterNode.hookEvents); netns lab */
  events?: boolean;
}

export interface ScenarioContext {
  cluster: Cluster;
  monitor: InvariantMonitor;
  ledger: Ledger;
  /** the MASTER after the lab came up */
  master: ClusterNode;
  backup: ClusterNode;
  /** records a timing of the scenario (ms) for its result and the soak report */
  timing: (name: string, ms: number) => void;
  /** adds `n` to a count of the scenario (late acks, writes refused by the storage) for its result and the soak report, which sums it over runs */
  count: (name: string, n: number) => void;
}

export interface Scenario {
  /** stable id, used by the soak runner's files and `--scenario` */
  id: string;
  /** `pair`: the two-node behaviours; `fence`: the fence under failure; `scsi-pr`: the pair fenced by persistent reservations (VM lab) */
  group: 'pair' | 'fence' | 'scsi-pr';
  title: string;
  options?: ScenarioOptions;
  /** labs it can run in (default both) */
  labs?: readonly Cluster['kind'][];
  /** drives the scenario; returns the node that must end as the healthy MASTER */
  body(ctx: ScenarioContext): Promise<ClusterNode>;
}

export interface ScenarioResult {
  id: string;
  title: string;
  lab: Cluster['kind'];
  passed: boolean;
  /** every failure, one line each (null when passed) */
  error: string | null;
  durationMs: number;
  acked: number;
  /** acknowledged rows missing afterwards (S4) */
  lost: number;
  violations: number;
  /** the first violations (at most 10) */
  firstViolations: Violation[];
  monitorHz: number;
  /** watchdog resets per node */
  watchdogResets: Record<string, number>;
  fsckClean: boolean | null;
  timings: Record<string, number>;
  /** the scenario's counts (ScenarioContext.count), e.g. `late acks` */
  counts: Record<string, number>;
  /** the nodes' log tails, when it failed */
  logs: string | null;
  /** each node's whole log (lab/cluster.ts fullLog), when it failed; the soak runner writes them to files beside the result */
  nodeLogs?: Record<string, string>;
}

/** The whole logs a factory attached to its error (the VM lab does, before tearing the pair down). */
const attachedLogs = (error: unknown): Record<string, string> | undefined => (error as { nodeLogs?: Record<string, string> } | null)?.nodeLogs;

/** How the harness itself runs a scenario (not the scenario's options). */
export interface HarnessOptions {
  /**
   * Write the failover timeline (lab/timeline/) to this SVG file, its data as `.json` beside it,
   * pass or fail. Default: `$SCENARIO_TIMELINE_DIR/<scenario id>.svg` when that variable is set;
   * otherwise no timeline (and vega is never loaded).
   */
  timelinePath?: string;
  /** where the harness's own line about the timeline goes (default: stderr) */
  log?: (line: string) => void;
}

/** Builds a pair for a scenario, up and converged (NetnsCluster.up, the VM lab's equivalent). */
export type ClusterFactory = (options: ScenarioOptions) => Promise<Cluster>;

/** The monitor rate a scenario must reach: the netns lab reads /proc, the VM lab streams from guests. */
export const MIN_MONITOR_HZ: Record<Cluster['kind'], number> = { netns: 20, vm: 5 };

/** The rate the nodes were really sampled at: the observer's own when it has one (VM guests stream), else the monitor's. */
const monitorRate = (monitor: InvariantMonitor, observer: ClusterObserver): number => observer.rate?.() ?? monitor.rate();

/** What the timeline of a scenario is drawn from: the monitor's samples and the ledger's acks. */
function recordingOf(scenario: Scenario, cluster: Cluster, monitor: InvariantMonitor, acks: Ack[], passed: boolean): TimelineRecording {
  return {
    format: RECORDING_FORMAT,
    scenario: { id: scenario.id, title: scenario.title, lab: cluster.kind },
    passed,
    fence: scenario.options?.fence ?? 'lockfile',
    nodes: cluster.nodes.map((n) => n.name),
    servers: Object.fromEntries(cluster.nodes.map((n) => [String(n.serverId), n.name])),
    samples: monitor.samples,
    acks,
  };
}

/** Runs `scenario` on a fresh pair from `factory`. Never throws: failures are in the result. */
export async function runScenario(scenario: Scenario, factory: ClusterFactory, kind: Cluster['kind'] = 'netns', options: HarnessOptions = {}): Promise<ScenarioResult> {
  const started = monoNow();
  const timings: Record<string, number> = {};
  const counts: Record<string, number> = {};
  const failures: string[] = [];
  const fail = (why: string): void => void failures.push(why);
  let cluster: Cluster;
  try {
    cluster = await factory(scenario.options ?? {});
  } catch (error) {
    return { id: scenario.id, title: scenario.title, lab: kind, passed: false, error: `the lab did not come up: ${errorLine(error)}`, durationMs: Math.round(monoNow() - started), acked: 0, lost: 0, violations: 0, firstViolations: [], monitorHz: 0, watchdogResets: {}, fsckClean: null, timings, counts, logs: null, nodeLogs: attachedLogs(error) };
  }
  const observer = cluster.observer();
  const monitor = new InvariantMonitor(observer);
  const ledger = new Ledger(cluster);
  let acked = 0;
  let lost = 0;
  const watchdogResets: Record<string, number> = {};
  try {
    const { master, backup } = await cluster.waitConverged();
    await monitor.start();
    ledger.start();
    await waitAcks(ledger);
    const finalMaster = await scenario.body({ cluster, monitor, ledger, master, backup, timing: (name, ms) => void (timings[name] = Math.round(ms)), count: (name, n) => void (counts[name] = (counts[name] ?? 0) + n) });
    await waitMaster(cluster, finalMaster);
    await waitAcks(ledger, 5);
    await ledger.stop();
    monitor.stop();
    const { acked: all, missing } = await ledger.missingOn(finalMaster);
    acked = all;
    lost = missing.length;
    if (acked === 0) fail('the ledger acknowledged no row');
    if (lost > 0) fail(`acknowledged rows lost (S4): ${lost} of ${acked}`);
    if (monitor.violations.length > 0) fail(monitor.report());
    const hz = monitorRate(monitor, observer);
    if (hz < MIN_MONITOR_HZ[cluster.kind]) fail(`monitor sampled at ${hz.toFixed(1)} Hz (at least ${MIN_MONITOR_HZ[cluster.kind]} needed)`);
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  } finally {
    monitor.stop();
    await ledger.stop();
  }
  for (const node of cluster.nodes) {
    const fires = await cluster.watchdogFires(node).catch(() => []);
    watchdogResets[node.name] = fires.length;
    if (fires.length > 0 && scenario.options?.watchdogMayFire !== true) fail(`${node.name}'s watchdog reset it unexpectedly (${fires.map((f) => f.why ?? f.at).join('; ')})`);
  }
  const logs = failures.length > 0 ? (await Promise.all(cluster.nodes.map((n) => n.logTail(20).catch(() => '')))).join('\n') : null;
  const nodeLogs = failures.length > 0 ? Object.fromEntries(await Promise.all(cluster.nodes.map(async (n) => [n.name, await n.fullLog().catch((e: unknown) => `no log: ${errorLine(e)}`)] as const))) : undefined;
  // the timeline's acks: read before the lab's directory (and the ledger's ack file in it) goes
  const timelinePath = options.timelinePath ?? timelinePathFromEnv(scenario.id);
  const timelineLog = options.log ?? ((line: string) => console.error(line));
  let timelineAcks: Ack[] | null = null;
  if (timelinePath !== null) {
    try {
      timelineAcks = ledger.acks();
    } catch (error) {
      timelineLog(`timeline: no picture for ${scenario.id}: ${errorLine(error)}`);
    }
  }
  const fsck = await cluster.destroy().catch((error: unknown) => ({ clean: false, output: errorLine(error) }));
  if (fsck !== null && !fsck.clean) fail(`fsck -n after lab down: ${fsck.output.trim().split('\n').slice(-5).join(' | ')}`);
  if (timelinePath !== null && timelineAcks !== null) await saveTimeline(recordingOf(scenario, cluster, monitor, timelineAcks, failures.length === 0), timelinePath, timelineLog);
  return {
    id: scenario.id,
    title: scenario.title,
    lab: cluster.kind,
    passed: failures.length === 0,
    error: failures.length > 0 ? failures.join('\n') : null,
    durationMs: Math.round(monoNow() - started),
    acked,
    lost,
    violations: monitor.violations.length,
    firstViolations: monitor.violations.slice(0, 10),
    monitorHz: Math.round(monitorRate(monitor, observer) * 10) / 10,
    watchdogResets,
    fsckClean: fsck === null ? null : fsck.clean,
    timings,
    counts,
    logs,
    nodeLogs,
  };
}
