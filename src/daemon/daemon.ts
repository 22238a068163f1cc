// The daemon owns every transition on the node (DESIGN §3): one queue where the latest desired
// state wins, promote/demote with per-step deadlines, the fence held (refreshed, watched) by the
// fence itself with the watchdog petted only while writing is allowed, an immediate self-fence on
// loss — during transitions too — reconciliation at start-up, the state file `check` and
// `status` read, and the health file keepalived tracks (./health-file.ts).
import type { Server } from 'node:net';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import type { Config } from '../config/types.ts';
import { monoNow } from '../clock.ts';
import { listenControl } from '../control/server.ts';
import type { ControlRequest, ControlResponse, DaemonStatus } from '../control/protocol.ts';
import { FenceAgentError, configError, errorLine } from '../errors.ts';
import type { Logger } from '../log.ts';
import { protectMountpoint } from '../disk/immutable.ts';
import { killMysqldNow } from '../mysqld/stop.ts';
import { observe } from '../probes/observe.ts';
import { probeMount } from '../probes/mountinfo.ts';
import { filesystemPresence } from '../probes/superblock.ts';
import { findMysqld, mysqldSelector } from '../probes/mysqld.ts';
import { SqlPinger } from '../probes/sql.ts';
import { bootId } from '../proc.ts';
import { compareIssued, latestIssued, orderNow, type Issued } from '../desire-order.ts';
import { clearSqlHealth, writeSqlHealth } from '../sql-health.ts';
import {
  desireProblem,
  readState,
  roleOf,
  takePendingDesire,
  writeJsonAtomic,
  writeState,
  type AgentState,
  type Desire,
  type Switchover,
  type TransitionKind,
  type TransitionRecord,
} from '../state.ts';
import { demote, demoteDeadlineMs, type DemoteMode, type TransitionContext } from '../transitions/demote.ts';
import { promote, promoteDeadlineMs } from '../transitions/promote.ts';
import { StepRunner } from '../transitions/steps.ts';
import type { Fence, FenceStatus } from '../../fence/types.ts';
import { acquireDaemonLock, daemonReadyPath } from './lock.ts';
import { readNotifyFifo, type FifoReader } from './fifo.ts';
import { WatchdogKeeper } from './watchdog-keeper.ts';
import { takeEarlyWatchdog } from './early-watchdog.ts';
import { readTenureFile } from '../../fence/lease/tenure-file.ts';
import { systemdRestartJob, type RestartJob } from './restart-job.ts';
import { KeepalivedWatch } from './keepalived-watch.ts';
import { HealthFile, healthFilePath } from './health-file.ts';
import { activeHoldDown, activeStartHold, evaluate, type Verdict } from '../health.ts';
// metrics (issue 12 §3): the sink is dependency-free; prom-client loads only when metrics are configured
import { MetricsSink } from '../metrics/sink.ts';
import { fenceView } from '../metrics/fence-view.ts';
import type { MetricsSnapshot } from '../metrics/types.ts';
// events (issue 12 §5): the history and the hook, fed where the metrics count; execa loads at the hook's first run
import { EventSink } from '../events/sink.ts';
import { fenceLostEvent, maintenanceEvent, transitionEvents } from '../events/classify.ts';

/** The request source of a demotion the daemon starts because keepalived's VRRP process is gone. */
const KEEPALIVED_GONE = 'keepalived-gone';
/** How often a running switchover is looked at, ms. */
const SWITCHOVER_WATCH_MS = 500;

/**
 * The SQL monitor's pings share one connection for at most this long, ms (src/probes/sql.ts
 * SqlPinger): a mysqld that stops accepting new connections is seen within it (`check`, every
 * 10 s by default, takes the daemon's fresh ping instead of connecting itself).
 */
const SQL_FRESH_CONNECTION_MS = 10_000;

/** Request sources that speak for keepalived (its notify, its notify_fifo) or an operator. */
const KEEPALIVED_SOURCES: ReadonlySet<string> = new Set(['notify', 'fifo', 'manual']);

/** A request's issue time and order alone, to give another request the same place in time. */
const issuedOf = (d: Issued): Issued => (d.order === undefined ? { issuedAt: d.issuedAt } : { issuedAt: d.issuedAt, order: d.order });

const describe = (d: Desire): string => `${d.vrrpState} from ${d.source}${d.detail ? ` (${d.detail})` : ''}`;

/** How often an idle BACKUP looks for a registration of its own on the fence's storage, ms (sweepStrayRegistration). */
const STRAY_SWEEP_MS = 30_000;

/** Why `switchover` and `rejoin` are refused before the daemon's start-up reconciliation has run. */
const STARTING_UP = 'the daemon is starting up (its start-up reconciliation has not run yet); try again once fence-agent status shows it idle';

export class Daemon {
  private readonly state: AgentState;
  private readonly queue: Desire[] = [];
  private busy: Promise<void> | null = null;
  private selfFencePending = false;
  private restartPending = false;
  /** a FENCED-IN node's demotion is due again (retryFencedIn) */
  private fencedInRetryPending = false;
  /** aborted by stop(): a running promotion rolls back instead of running on (TransitionContext.stopping) */
  private readonly stopSignal = new AbortController();
  /** when mysqld was restarted in place (local restart policy), monotonic ms */
  private readonly restarts: number[] = [];
  private stopping = false;
  /** start() is done: queued requests may run */
  private ready = false;
  /** a sweep for this node's stray registration running (sweepStrayRegistration), and when the last began (monotonic ms) */
  private straySweep: Promise<void> | null = null;
  private lastStraySweepMono = -Infinity;
  /** the first run of the work loop after start() is done, the start-up reconciliation's, has ended */
  private reconciled = false;
  /** resolves when start() is done: `maintenance` requests that arrive during start-up wait for it */
  private readonly startedUp: Promise<void>;
  private markStartedUp: () => void = () => undefined;
  private counter = 0;
  private server: Server | null = null;
  private fifo: FifoReader | null = null;
  private sqlTimer: NodeJS.Timeout | null = null;
  /** the SQL monitor's connection keeper, while the monitor runs */
  private sqlPinger: SqlPinger | null = null;
  /** ends the hold-down (issue 9 §2) */
  private holdDownTimer: NodeJS.Timeout | null = null;
  /** watches a running switchover (watchSwitchover) */
  private switchoverTimer: NodeJS.Timeout | null = null;
  private switchoverLooking = false;
  /** ends a start hold with a time (scheduleStartHoldEnd) */
  private startHoldTimer: NodeJS.Timeout | null = null;
  /** applies the deferred BACKUP request at its bound */
  private deferTimer: NodeJS.Timeout | null = null;
  /** a deferred BACKUP request handed back at its bound: applied, never deferred again */
  private deferralDue: Desire | null = null;
  private releaseLock: (() => Promise<void>) | null = null;
  /** aborts the running transition at once when the fence is lost */
  private transitionAbort: AbortController | null = null;
  /** the promotion running, and what stops it before its mount when keepalived leaves MASTER (TransitionContext.superseded) */
  private promotion: { desire: Desire; supersede: AbortController } | null = null;
  /**
   * The shared filesystem may be in use on this node (from right before a mount until an
   * unmount is verified by its superblock): the watchdog is then petted only while the fence
   * allows writing.
   */
  private diskInUse = true;
  /** monotonic ms at which the running demotion verified the filesystem and mysqld gone, or null */
  private cleanMono: number | null = null;
  /**
   * The right to write of the previous daemon of this boot (its published tenure's
   * `rightEndsAtMs`, monotonic ms), while this daemon takes the fence back at start-up: the node
   * may write until then whichever process holds the tenure, so the watchdog may be petted until
   * then too (the peer cannot take over before t_g + S + M, the node is reset by
   * rightEndsAtMs + W = t_g + S − M). −∞ once the fence is back, or when there is none.
   */
  private inheritedRightEndsMs = -Infinity;
  /** the previous daemon of this boot left the watchdog open (the kernel counts from its last keepalive) and this daemon has not opened it yet */
  private watchdogLeftCounting = false;
  private readonly ctx: TransitionContext;
  readonly watchdog: WatchdogKeeper;
  private readonly keepalivedWatch: KeepalivedWatch | null;
  /** keepalived's tracked file, kept in step with the node's health (./health-file.ts) */
  readonly health: HealthFile;
  /** Prometheus metrics (src/metrics/): events counted here, gauges read from {@link metricsSnapshot} */
  private readonly metrics: MetricsSink;
  /** the event history (`fence-agent history`) and the event hook (`events.exec`): src/events/ */
  private readonly events: EventSink;
  /** the local restart running, for its event: `1 of 3 within 300000 ms` */
  private restartAttempt: string | null = null;
  /** the last health evaluation (verdict()), for the metrics */

  /**
   * @param checkPlacement where the fence lives (fence/lease/placement.ts), run once the watchdog
   *   is armed: errors refuse the start (ECONFIG), warnings are logged and published
   * @param restartJob asked at SIGTERM whether systemd is restarting the daemon's unit (./restart-job.ts)
   */
  constructor(
    private readonly config: Config,
    private readonly fence: Fence,
    private readonly log: Logger,
    private readonly checkPlacement: () => Promise<{ errors: string[]; warnings: string[] }> = () => Promise.resolve({ errors: [], warnings: [] }),
    private readonly restartJob: () => Promise<RestartJob> = () => systemdRestartJob(),
  ) {
    this.startedUp = new Promise((resolve) => {
      this.markStartedUp = resolve;
    });
    this.watchdog = new WatchdogKeeper(
      config.fence.method === 'lockfile' ? config.fence.watchdog : null,
      () => this.fence.mayWrite() === true || !this.diskInUse || monoNow() < this.inheritedRightEndsMs,
      log,
      () => this.persist(),
    );
    const { vrrpPidFile, goneMs } = config.keepalived;
    this.keepalivedWatch =
      vrrpPidFile === null
        ? null
        : new KeepalivedWatch({
            pidFile: vrrpPidFile,
            goneMs,
            active: () => this.state.role === 'MASTER' && !this.stopping,
            onGone: (why) => this.keepalivedGone(why),
            onNeverSeen: (why) =>
              this.log.warn({ why }, `keepalived watch idle: never saw keepalived's VRRP process through ${vrrpPidFile} (${why}); set keepalived.vrrpPidFile to keepalived's --vrrp_pid, or null`),
          });
    this.health = new HealthFile({
      file: healthFilePath(config.runDir),
      intervalMs: config.monitor.healthIntervalMs,
      fall: config.keepalived.checkFall,
      rise: config.keepalived.checkRise,
      evaluate: () => this.verdict(),
      // metrics: the textfile is rewritten when the verdict changes
      onChange: () => this.metrics.changed(),
      log,
    });
    this.metrics = new MetricsSink({ config: config.metrics, node: config.node, cluster: config.cluster, snapshot: () => this.metricsSnapshot(), log });
    this.events = new EventSink({ node: config.node, cluster: config.cluster, stateDir: config.stateDir, events: config.events, history: config.history, log });
    this.ctx = {
      config,
      fence,
      log,
      armWatchdog: this.watchdog.enabled ? () => this.watchdog.arm() : undefined,
      beforeMount: () => {
        this.diskInUse = true;
      },
      afterUnmount: async () => {
        // the unmount step verified the filesystem gone: petting (mayPet) resumes now, not after the release
        this.diskInUse = await this.filesystemInUse();
        if (!this.diskInUse) {
          this.cleanMono = monoNow();
          this.watchdog.tick();
        }
      },
    };
    this.state = {
      version: 1,
      node: config.node,
      bootId: bootId(),
      daemon: { pid: process.pid, startedAt: new Date().toISOString() },
      desired: null,
      keepalivedState: null,
      role: 'UNKNOWN',
      transition: null,
      lastTransition: null,
      selfFence: null,
      holdDown: null,
      deferredBackup: null,
      switchover: null,
      maintenance: null,
      startHold: null,
      watchdog: null,
      updatedAt: new Date().toISOString(),
    };
  }

  /**
   * Takes the daemon lock, arms the watchdog if the disk is still in use, listens on the control
   * socket (requests queue up until start-up is done), checks where the lease lives, restores what
   * the previous daemon recorded, starts the fence's background work, takes the fence back if the
   * disk is in use, starts reading notify_fifo, and queues the start-up reconciliation.
   * @throws FenceAgentError code `EDAEMONRUNNING` when another daemon runs on this node.
   */
  async start(): Promise<void> {
    mkdirSync(this.config.runDir, { recursive: true, mode: 0o700 });
    chmodSync(this.config.runDir, 0o700);
    mkdirSync(this.config.stateDir, { recursive: true, mode: 0o755 });
    this.releaseLock = await acquireDaemonLock(this.config.runDir);
    rmSync(daemonReadyPath(this.config.runDir), { force: true }); // a dead daemon's
    this.inheritRightToWrite(); // before adopting: the adopted device is petted while the inherited right lasts
    this.watchdog.adopt(takeEarlyWatchdog());
    const previous = readState(this.config.stateDir);
    this.watchdogLeftCounting = previous !== null && previous.bootId === this.state.bootId && previous.watchdog?.armed === true;
    if (previous !== null) {
      this.state.desired = previous.desired;
      this.state.keepalivedState = previous.keepalivedState ?? null;
      this.state.selfFence = previous.selfFence;
      // a hold-down outlives a daemon restart on the same boot (a deferred request does not: it
      // was this daemon's to apply)
      const hold = activeHoldDown(previous, monoNow(), this.state.bootId);
      if (hold !== null) this.scheduleHoldDownEnd(hold.untilMono - monoNow());
      this.state.holdDown = hold;
      this.state.maintenance = previous.maintenance ?? null;
      this.state.startHold = activeStartHold(previous, monoNow(), this.state.bootId);
      // keepalived.startMode clean (sbd's SBD_STARTMODE): the previous boot ended with the disk held
      if (previous.bootId !== this.state.bootId && previous.watchdog?.armed === true && this.config.keepalived.startMode === 'clean') {
        const holdMs = this.config.keepalived.startHoldMs;
        const reason = `the previous boot ended while this node held the disk (watchdog armed at ${previous.updatedAt}: reset by it, crashed or powered off)`;
        this.state.startHold = { at: new Date().toISOString(), reason, untilMono: holdMs > 0 ? monoNow() + holdMs : null };
        this.log.warn({ hold_ms: holdMs }, `START HOLD: ${reason}; not a candidate ${holdMs > 0 ? `for ${holdMs} ms or ` : ''}until fence-agent rejoin (keepalived.startMode clean)`);
      }
      if (this.state.startHold?.untilMono != null) this.scheduleStartHoldEnd(this.state.startHold.untilMono - monoNow());
      // a switchover is this daemon's to watch: one its dead predecessor ran is over
      this.state.switchover =
        previous.switchover?.outcome === 'running'
          ? { ...previous.switchover, outcome: 'aborted', detail: 'the daemon watching it died', endedAt: new Date().toISOString() }
          : (previous.switchover ?? null);
      this.state.lastTransition =
        previous.transition === null
          ? previous.lastTransition
          : previous.transition.handOff === true
            ? { ...previous.transition, outcome: 'ok', endedAt: new Date().toISOString() }
            : { ...previous.transition, outcome: 'failed', error: 'interrupted: the daemon running it died', endedAt: new Date().toISOString() };
    }
    this.diskInUse = await this.filesystemInUse();
    // the disk in use (a crash or a restart of the daemon under a MASTER): published at once as a
    // transition in progress, so `check` keeps the node healthy while this daemon starts and takes
    // the fence back (retakeFenceIfHoldingDisk), as for any transition within its deadline
    if (this.diskInUse && this.config.fence.method !== 'none') this.state.transition = this.resumeRecord();
    this.persist();
    if (!this.diskInUse) this.stopWatchdog('disk not in use at start-up');
    if (this.diskInUse && this.watchdog.enabled) {
      // The previous daemon died with the disk in use and left the watchdog counting: open it
      // first thing, before anything that may wait on storage (timer relation (d)) — unless its
      // right to write has ended: an open is a keepalive the node no longer has the right to
      // (./early-watchdog.ts); the device is then opened once the fence is back.
      if (!this.watchdog.armed && this.watchdogLeftCounting && !(monoNow() <= this.inheritedRightEndsMs)) {
        this.log.error(
          { right_ended_ms_ago: Number.isFinite(this.inheritedRightEndsMs) ? Math.round(monoNow() - this.inheritedRightEndsMs) : null },
          "disk in use at start-up and the previous daemon's right to write has ended (or is unknown): the watchdog it left counting is not reopened; the node resets unless the fence is back first",
        );
      } else {
        this.armWatchdog('disk in use at start-up but the watchdog cannot be armed');
      }
    }
    // Listen at once (notify hands over within deadlines.notifyMs, 700 ms by default): requests
    // are queued and wait for the end of start() before anything runs.
    this.server = await listenControl(this.config.runDir, (request) => this.handle(request));
    const placement = await this.checkPlacement();
    for (const warning of placement.warnings) this.log.warn(`lease placement: ${warning}`);
    const refusal = placement.errors[0];
    if (refusal !== undefined) {
      this.log.error({ errors: placement.errors }, `daemon not started: ${refusal}`);
      this.server.close();
      throw configError(`config ${this.config.configPath}: ${refusal}`);
    }
    if ('addWarnings' in this.fence && typeof this.fence.addWarnings === 'function') (this.fence.addWarnings as (lines: string[]) => void)(placement.warnings);
    for (const warning of this.fence.describe().warnings) this.log.warn(`fence: ${warning}`);
    this.fence.onLost((reason) => this.selfFence(reason));
    this.fence.start();
    await this.retakeFenceIfHoldingDisk();
    await this.protectMountpoint('start-up');
    if (this.config.keepalived.notifyFifo !== null) {
      this.fifo = await readNotifyFifo(this.config.keepalived.notifyFifo, this.config.keepalived.instance, this.log, (desire) => {
        this.request(desire);
      });
    }
    await this.reconcile(previous);
    this.keepalivedWatch?.start();
    this.ready = true;
    this.markStartedUp();
    this.kick();
    // keepalived reads the tracked file from its start (ExecStartPost waits for daemon.ready): current first
    await this.health.evaluateNow();
    this.health.start();
    writeJsonAtomic(daemonReadyPath(this.config.runDir), process.pid);
    this.log.info({ runDir: this.config.runDir, stateDir: this.config.stateDir, fence: this.fence.describe(), watchdog: this.watchdog.snapshot() }, 'daemon started');
    // metrics last, not awaited: loading prom-client must not delay readiness; events so far are queued
    void this.metrics.start();
  }

  /**
   * What the metrics render (src/metrics/types.ts): this daemon's state object itself — the one
   * persist() writes to state.json and `status --json` reads — its last verdict, keepalived's
   * tracked file, and the fence as held (no storage read).
   */
  private metricsSnapshot(): MetricsSnapshot {
    return {
      state: this.state,
      verdict: this.health.snapshot().verdict,
      healthFile: this.health.snapshot().value,
      fence: fenceView(this.config.fence.method, this.heldStatus(), this.config.runDir, this.state.bootId),
    };
  }

  /**
   * The node's health as `check` would judge it (src/health.ts), from this daemon's own view: the
   * fence from what this process holds (no read of the storage: `check` still reads it back), SQL
   * from the daemon's monitor when fresh, the state and transition in memory.
   */
  private async verdict(): Promise<Verdict> {
    this.takeUpPendingRequest();
    const idleSince = this.busy === null ? this.counter : null;
    const observation = await observe(this.config, this.fence, {
      probeTimeoutMs: this.config.deadlines.checkMs,
      sql: 'daemon-or-own',
      fenceStatus: () => this.heldStatus(),
    });
    // mysqld gone under an idle MASTER, seen here before the SQL monitor's next tick: the same
    // path (a local restart if the policy allows one), so that the restart's transition — healthy
    // while within its deadline — starts before `fall` verdicts put the node in FAULT
    // (only when no transition ran while the node was observed: `counter` counts them)
    const idleThroughout = idleSince !== null && idleSince === this.counter && this.busy === null;
    if (idleThroughout && observation.mysqld?.pids.length === 0 && this.state.role === 'MASTER' && this.sqlTimer !== null && !this.restartPending) this.mysqldGone();
    if (idleThroughout) this.retryFencedIn();
    if (idleThroughout) this.sweepStrayRegistration();
    return evaluate({ config: this.config, observation, state: this.state, daemonAlive: true, nowMono: monoNow(), bootId: this.state.bootId });
  }

  /**
   * Issue 11 §6: a latch is re-read from what is there, not left for a notify that may never come
   * (a node in FAULT gets none). FENCED-IN — a demotion or rollback could not verify the unmount
   * (a holder nothing can signal: a loop device on a file of the disk, a mount namespace pinned by
   * a file, a process stuck in I/O), so the fence is kept — is retried: once keepalived has left
   * MASTER, the demotion runs again `monitor.fencedInRetryMs` after the last transition ended, with
   * its own escalation (SIGTERM, SIGKILL to the mountpoint's users) and its unmount verified by
   * the superblock, until it gets the node to a clean BACKUP and releases the fence. A self-fenced
   * node retries the self-fence (mode `fenced`). Called while idle, every health interval.
   */
  private retryFencedIn(): void {
    if (this.state.role !== 'FENCED-IN' || this.fencedInRetryPending || this.stopping || this.state.maintenance || !this.keepalivedLeftMaster()) return;
    const last = this.state.lastTransition;
    const endedMono = last === null ? null : last.startedMono + (last.durationMs ?? 0);
    const sinceMs = endedMono === null ? null : monoNow() - endedMono;
    // (a negative time since: the record is from another boot's clock, so the retry is due)
    if (sinceMs !== null && sinceMs >= 0 && sinceMs < this.config.monitor.fencedInRetryMs) return;
    this.fencedInRetryPending = true;
    this.kick();
  }

  /**
   * registered ⟺ MASTER (issue 9): on an idle BACKUP that has the filesystem nowhere, every
   * STRAY_SWEEP_MS, the fence removes this node's own registration if one is there
   * (Fence.dropStrayRegistration: one PR IN per sweep; a key left by a crash between REGISTER and
   * the read-back, or registered by hand). Not in maintenance (the agent takes no action).
   */
  private sweepStrayRegistration(): void {
    const drop = this.fence.dropStrayRegistration?.bind(this.fence);
    if (drop === undefined || this.straySweep !== null || this.stopping || this.state.maintenance || this.state.role !== 'BACKUP' || this.fence.holding()) return;
    if (monoNow() - this.lastStraySweepMono < STRAY_SWEEP_MS) return;
    this.lastStraySweepMono = monoNow();
    this.straySweep = (async () => {
      if (await this.filesystemInUse()) return;
      if (this.busy !== null || this.state.role !== 'BACKUP') return;
      await drop();
    })()
      .catch((error: unknown) => this.log.warn({ err: errorLine(error) }, 'the sweep for a stray registration failed'))
      .finally(() => {
        this.straySweep = null;
      });
  }

  /**
   * A request a `notify` could not hand over in time (the daemon busy past its bound) waits in
   * `<stateDir>/desired.json` (src/commands/notify.ts): taken up here, at most
   * `monitor.healthIntervalMs` later. The queue's own rules apply: an older request than the
   * last one applied is skipped, a repeat of it is a no-op.
   */
  private takeUpPendingRequest(): void {
    if (this.stopping) return;
    const pending = takePendingDesire(this.config.stateDir);
    if (pending === null) return;
    this.log.warn({ desire: pending }, `taking up a request notify could not hand over in time: ${describe(pending)}`);
    this.request(pending);
  }

  private heldStatus(): FenceStatus {
    const may = this.fence.mayWrite();
    const target = this.fence.describe().target ?? 'the fence';
    if (may === null) return { held: null, holder: null, registrants: [], detail: 'no fencing' };
    if (!this.fence.holding()) return { held: false, holder: null, registrants: [], detail: `${target} not held by this daemon` };
    return may
      ? { held: true, holder: this.config.node, registrants: [], detail: `${target} held by this daemon` }
      : { held: false, holder: this.config.node, registrants: [], detail: `${target} held by this daemon but its right to write ended` };
  }

  /** Mounted in our namespace, or the filesystem still alive anywhere on this kernel. */
  private async filesystemInUse(): Promise<boolean> {
    const mount = await probeMount(this.config.disk.device, this.config.disk.mountpoint).catch(() => null);
    if (mount === null) return true; // cannot tell: assume the worst
    if (mount.mounted || mount.mountpoints.length > 0) return true;
    if (mount.majorMinor === null) return false;
    return filesystemPresence(mount.majorMinor, this.config.disk.fstype).active;
  }

  /**
   * A daemon restarted on a node that has the disk mounted (the previous daemon crashed) opens the
   * watchdog — the previous one left it counting — and takes the fence back first thing, before
   * its lease goes stale under the mounted disk; if the peer holds it already, this node is a
   * zombie writer: self-fence at once.
   */
  private async retakeFenceIfHoldingDisk(): Promise<void> {
    if (!this.diskInUse || this.config.fence.method === 'none') {
      this.inheritedRightEndsMs = -Infinity;
      return;
    }
    // start() published the resume record (resumeRecord) under the same condition
    try {
      const status = await this.fence.acquire(AbortSignal.timeout(this.retakeBoundMs()));
      this.log.info({ fence: status.detail }, 'disk in use at start-up: fence taken back');
      // not reopened at start-up (the inherited right had ended): the right to write is back now
      if (!this.watchdog.armed) this.armWatchdog('fence taken back but the watchdog cannot be armed');
    } catch (error) {
      this.state.selfFence = null; // let the self-fence below latch with this reason
      this.selfFence(`disk in use at start-up but the fence could not be taken back (${errorLine(error)})`);
    } finally {
      this.inheritedRightEndsMs = -Infinity;
      this.state.transition = null;
      this.persist();
    }
  }

  /**
   * Magic-closes the watchdog once nothing can be written (the filesystem verified gone): the
   * device this daemon armed, or one the previous daemon left counting that this daemon has not
   * opened (opened first: with nothing mounted, that keepalive cannot hurt).
   */
  private stopWatchdog(why: string): void {
    if (!this.watchdog.armed && this.watchdogLeftCounting) this.armWatchdog('the previous daemon left the watchdog counting and it cannot be opened to stop it: the node may reset');
    this.watchdogLeftCounting = false;
    this.watchdog.disarm(why);
  }

  /** Opens the watchdog (a no-op without one, or when open); a failure is logged as `failure`, never thrown. */
  private armWatchdog(failure: string): void {
    try {
      this.watchdog.arm();
    } catch (error) {
      this.log.error({ err: errorLine(error) }, failure);
    }
  }

  /** Reads the previous daemon's published tenure (lockfile method) into {@link inheritedRightEndsMs}. */
  private inheritRightToWrite(): void {
    if (this.config.fence.method !== 'lockfile') return;
    const published = readTenureFile(this.config.runDir, this.state.bootId);
    const tenure = published?.tenure;
    if (published === null || published.pid === process.pid || !tenure) return;
    this.inheritedRightEndsMs = tenure.rightEndsAtMs;
    const leftMs = Math.round(tenure.rightEndsAtMs - monoNow());
    this.log.info({ previous_pid: published.pid, right_left_ms: leftMs }, `the previous daemon's right to write ${leftMs > 0 ? `ends in ${leftMs} ms` : `ended ${-leftMs} ms ago`}: the watchdog may be petted until then while the fence is taken back`);
  }

  /** The bound on taking the fence back at start-up, ms. */
  private retakeBoundMs(): number {
    // lockfile: a read and a refresh; scsi-pr: unit attentions, the keys and the reservation read back
    const { fence } = this.config;
    const ioTimeoutMs = fence.method === 'lockfile' ? fence.ioTimeoutMs : fence.method === 'scsi-pr' ? fence.commandTimeoutMs : 0;
    return Math.min(this.config.deadlines.fenceAcquireMs, 4 * (ioTimeoutMs + 500));
  }

  /**
   * The transition record a daemon starting with the disk in use publishes until it has the fence
   * back: `check` counts a transition within its deadline as healthy (a MASTER whose daemon was
   * restarted keeps its database; keepalived must not count failed checks meanwhile — measured in
   * the two-VM lab). Deadline: the retake's bound twice (start-up before it included).
   */
  private resumeRecord(): TransitionRecord {
    const startedAt = new Date().toISOString();
    const deadlineMs = 2 * this.retakeBoundMs();
    return {
      id: `t-${Date.now()}-${++this.counter}`,
      kind: 'promote',
      reason: 'start-up: disk in use, taking the fence back',
      desire: this.state.desired ?? { vrrpState: 'MASTER', source: 'startup', issuedAt: 0 },
      startedAt,
      startedMono: monoNow(),
      deadlineMs,
      endedAt: null,
      durationMs: null,
      outcome: null,
      error: null,
      steps: [{ name: 'fence.retake', startedAt, deadlineMs, durationMs: null, outcome: 'running', detail: null }],
    };
  }

  /** Decides the start-up target from what is observed, the previous state and a pending notify. */
  private async reconcile(previous: AgentState | null): Promise<void> {
    const seen = await observe(this.config, this.fence, { probeTimeoutMs: 5000, sql: 'never' });
    const pending = takePendingDesire(this.config.stateDir);
    // The start-up request is as recent as the last one recorded, so it is never skipped as older.
    const last = previous?.desired ?? null;
    const recorded = [last, pending].filter((d): d is Desire => d !== null);
    const asRecent = recorded.length > 0 ? issuedOf(latestIssued(recorded)) : { issuedAt: 0 };
    const observed = `VIP ${seen.vip.held ? 'held' : 'not held'}, ${seen.mount?.mounted ? 'mounted' : 'not mounted'}, mysqld ${seen.mysqld?.pids.join(',') || 'none'}, fence ${seen.fence?.held ?? 'n/a'}`;
    let desire: Desire;
    if (!seen.vip.held) {
      // keepalived adds the VIP before it notifies MASTER: without the VIP, never promote at start-up.
      desire = { vrrpState: 'BACKUP', source: 'startup', ...asRecent, detail: observed };
    } else if (pending !== null && (last === null || compareIssued(pending, last) > 0)) {
      desire = { ...pending, detail: `pending ${pending.source} request; ${observed}` };
    } else if (last !== null && roleOf(last.vrrpState) === 'BACKUP') {
      desire = { ...last, source: 'startup', detail: `last request was ${last.vrrpState}; ${observed}` };
    } else {
      desire = { vrrpState: 'MASTER', source: 'startup', ...asRecent, detail: observed };
    }
    this.log.info({ observed }, `reconciling at start-up towards ${describe(desire)}`);
    this.request(desire);
  }

  /** Runs `answer` now once start-up is done, else when it is. */
  private afterStartUp(answer: () => ControlResponse | Promise<ControlResponse>): ControlResponse | Promise<ControlResponse> {
    return this.ready ? answer() : this.startedUp.then(answer);
  }

  private handle(request: ControlRequest): ControlResponse | Promise<ControlResponse> {
    switch (request.op) {
      case 'desire': {
        const problem = desireProblem(request.desire);
        if (problem !== null) {
          this.log.warn({ request }, `malformed request refused: ${problem}`);
          return { ok: false, error: `malformed desire: ${problem}` };
        }
        return { ok: true, op: 'desire', queued: this.request(request.desire) };
      }
      case 'status':
        return { ok: true, op: 'status', status: this.status() };
      // The operator's requests act on the reconciled state, never on the one start-up is still
      // restoring (a switchover asked during start-up was refused as "this node is UNKNOWN"):
      // switchover and rejoin are refused until the start-up reconciliation has run (it may be a
      // promotion: longer than the client waits for an answer); maintenance, a flag, waits for the
      // end of start() (milliseconds) and is then recorded as at any time.
      case 'switchover':
        return this.startSwitchover(request.timeoutMs);
      case 'maintenance':
        return this.afterStartUp(() => this.setMaintenance(request.on, request.reason));
      case 'rejoin':
        return this.reconciled ? this.rejoin() : { ok: false, error: `rejoin refused: ${STARTING_UP}` };
      default:
        return { ok: false, error: `unknown op ${(request as { op?: unknown }).op as string}` };
    }
  }

  /**
   * `fence-agent switchover`: a planned, verified hand-over of the MASTER role. First the node
   * demotes itself (stop mysqld, unmount, release the fence) while keepalived still has it MASTER
   * (phase `demoting`); then it reports itself unhealthy (health file 1, and `check` says
   * SWITCHOVER; phase `handing-over`) so that keepalived goes FAULT and moves the VIP to the peer,
   * whose promotion finds the fence free — with scsi-pr no live MMP holder, so no hold-down. Done
   * once a read of the fence shows the peer holding it; failed when the demotion fails; aborted at
   * `timeoutMs` — then the health is the probes' again, and keepalived (nopreempt) gives the role
   * back to this node if the peer never took it. Idempotent while one runs.
   * Refused (ok: false) unless this node is an idle MASTER with `timeoutMs` in 1000..3600000.
   */
  private startSwitchover(timeoutMs: number): ControlResponse {
    const refuse = (why: string): ControlResponse => {
      this.log.warn(`switchover refused: ${why}`);
      return { ok: false, error: `switchover refused: ${why}` };
    };
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1000 || timeoutMs > 3_600_000) return refuse(`timeoutMs: expected an integer 1000..3600000, got ${JSON.stringify(timeoutMs)}`);
    const running = this.state.switchover;
    if (running?.outcome === 'running') return { ok: true, op: 'switchover', switchover: running };
    if (this.stopping) return refuse('the daemon is stopping');
    if (this.state.maintenance) return refuse('maintenance is on (fence-agent maintenance off first)');
    if (!this.reconciled) return refuse(STARTING_UP);
    if (this.state.role !== 'MASTER') return refuse(`this node is ${this.state.role}, not MASTER: nothing to hand over`);
    if (this.busy !== null || this.state.transition !== null || this.queue.length > 0) return refuse('a transition is running or queued; try again when it is done');
    const now = monoNow();
    const handover: Switchover = { at: new Date().toISOString(), phase: 'demoting', startedMono: now, deadlineMono: now + timeoutMs, outcome: 'running', detail: null, endedAt: null };
    this.state.switchover = handover;
    this.persist();
    this.log.warn({ timeout_ms: timeoutMs }, 'switchover: demoting first (keepalived keeps the VIP meanwhile), then health 1 for keepalived until the peer holds the fence');
    this.queue.push({ vrrpState: 'BACKUP', source: 'switchover', issuedAt: Date.now(), order: orderNow(), detail: `switchover within ${timeoutMs} ms` });
    this.kick();
    this.switchoverTimer = setInterval(() => void this.watchSwitchover(), SWITCHOVER_WATCH_MS);
    return { ok: true, op: 'switchover', switchover: handover };
  }

  /**
   * `fence-agent maintenance on|off` (see AgentState.maintenance). On: recorded and persisted, the
   * health re-evaluated at once. Off: the last request keepalived made while it was on is applied
   * if the node's role differs from it, and a MASTER's SQL monitor starts again. Idempotent.
   * Refused (ok: false) during a switchover, or with a reason over 200 characters.
   */
  private setMaintenance(on: boolean, reason: string | null): ControlResponse {
    if (typeof on !== 'boolean' || (reason !== null && (typeof reason !== 'string' || reason.length > 200))) {
      return { ok: false, error: 'maintenance: expected on (true/false) and a reason of at most 200 characters' };
    }
    const current = this.state.maintenance ?? null;
    if (on) {
      if (this.state.switchover?.outcome === 'running') return { ok: false, error: 'maintenance refused: a switchover is running' };
      if (current !== null) return { ok: true, op: 'maintenance', maintenance: current, changed: false };
      this.state.maintenance = { at: new Date().toISOString(), reason };
      this.persist();
      this.events.emit(maintenanceEvent({ on: true, now: this.state.maintenance }, this.state.role));
      this.log.warn({ reason }, 'MAINTENANCE ON: no action is taken (keepalived requests recorded, not applied; no local restart) until maintenance off; the fence keeps working');
      void this.health.evaluateNow();
      return { ok: true, op: 'maintenance', maintenance: this.state.maintenance, changed: true };
    }
    if (current === null) return { ok: true, op: 'maintenance', maintenance: null, changed: false };
    this.state.maintenance = null;
    this.persist();
    this.events.emit(maintenanceEvent({ on: false, was: current }, this.state.role));
    this.log.warn({ was: current }, 'maintenance off: acting again');
    const desired = this.state.desired;
    if (desired !== null && roleOf(desired.vrrpState) !== this.state.role) {
      this.log.info({ desire: desired }, `maintenance off: applying the last request, ${describe(desired)}`);
      this.queue.push(desired);
      this.kick();
    } else if (this.state.role === 'MASTER' && this.sqlTimer === null) this.startSqlMonitor();
    void this.health.evaluateNow();
    return { ok: true, op: 'maintenance', maintenance: null, changed: true };
  }

  /**
   * `fence-agent rejoin`: after a look, the operator makes the node a candidate again: the start
   * hold (keepalived.startMode clean) and the self-fence latch (FENCED) are cleared — only on a
   * clean node: no transition, not MASTER or FENCED-IN, the filesystem gone from this kernel, the
   * fence not held. Refused (ok: false) otherwise; with nothing to clear, ok with `cleared` empty.
   */
  private async rejoinChecked(): Promise<ControlResponse> {
    if (this.busy !== null || this.state.transition !== null) return { ok: false, error: 'rejoin refused: a transition is running' };
    if (this.state.role === 'MASTER' || this.state.role === 'FENCED-IN') return { ok: false, error: `rejoin refused: this node is ${this.state.role}` };
    if (this.fence.holding()) return { ok: false, error: 'rejoin refused: this node holds the fence' };
    if (await this.filesystemInUse()) return { ok: false, error: 'rejoin refused: the filesystem is still in this kernel (a live superblock)' };
    const cleared: string[] = [];
    if (this.state.startHold) {
      cleared.push(`start hold (${this.state.startHold.reason})`);
      this.state.startHold = null;
      if (this.startHoldTimer !== null) clearTimeout(this.startHoldTimer);
      this.startHoldTimer = null;
    }
    if (this.state.selfFence !== null) {
      cleared.push(`self-fence latch (${this.state.selfFence.reason})`);
      this.state.selfFence = null;
      if (this.state.role === 'FENCED') this.state.role = 'BACKUP';
    }
    if (cleared.length > 0) {
      this.persist();
      this.log.warn({ cleared }, `rejoin by the operator: ${cleared.join('; ')} cleared; a candidate again`);
      void this.health.evaluateNow();
      const desired = this.state.desired;
      if (desired !== null && roleOf(desired.vrrpState) === 'MASTER') {
        this.queue.push(desired);
        this.kick();
      }
    }
    return { ok: true, op: 'rejoin', cleared };
  }

  private rejoinPending: Promise<ControlResponse> | null = null;

  private rejoin(): ControlResponse | Promise<ControlResponse> {
    this.rejoinPending ??= this.rejoinChecked().finally(() => (this.rejoinPending = null));
    return this.rejoinPending;
  }

  private scheduleStartHoldEnd(ms: number): void {
    if (this.startHoldTimer !== null) clearTimeout(this.startHoldTimer);
    this.startHoldTimer = setTimeout(() => {
      this.startHoldTimer = null;
      if (this.stopping || !this.state.startHold) return;
      this.log.info({ startHold: this.state.startHold }, 'start hold over: a candidate again');
      this.state.startHold = null;
      this.persist();
      void this.health.evaluateNow();
    }, Math.max(0, ms));
  }

  /** One look at a running switchover (every {@link SWITCHOVER_WATCH_MS}): done, failed, aborted or still running. */
  private async watchSwitchover(): Promise<void> {
    const handover = this.state.switchover;
    if (handover == null || handover.outcome !== 'running') {
      this.endSwitchoverWatch();
      return;
    }
    if (this.switchoverLooking) return;
    this.switchoverLooking = true;
    try {
      const last = this.state.lastTransition;
      let seen = `role ${this.state.role}, keepalived ${this.state.keepalivedState ?? 'unknown'}`;
      if (this.busy === null && this.state.transition === null && last?.kind === 'demote' && last.startedMono >= handover.startedMono) {
        if (last.outcome !== 'ok' || this.state.role !== 'BACKUP') {
          this.finishSwitchover('failed', `the demotion ended ${last.outcome ?? 'unknown'}${last.error ? ` (${last.error})` : ''}; role ${this.state.role}`);
          return;
        }
        if (handover.phase === 'demoting') {
          // released: now keepalived may move the VIP, and the peer finds the fence free
          this.state.switchover = { ...handover, phase: 'handing-over' };
          this.persist();
          this.log.warn({ demote_ms: last.durationMs }, 'switchover: demoted (fence released); health 1 for keepalived until the peer holds the fence');
          this.health.fault('UNHEALTHY: SWITCHOVER: handing the MASTER role to the peer');
          return;
        }
        if (this.config.fence.method === 'none') {
          this.finishSwitchover('done', 'demoted to a clean BACKUP; with fence.method none that the peer took over cannot be verified here');
          return;
        }
        try {
          const fence = await this.fence.verify();
          if (fence.held === false && fence.holder !== null) {
            this.finishSwitchover('done', `demoted to a clean BACKUP; the peer holds the fence (${fence.detail})`);
            return;
          }
          seen = `demoted; the fence: ${fence.detail}`;
        } catch (error) {
          seen = `demoted; the fence could not be read (${errorLine(error)})`;
        }
      }
      if (monoNow() >= handover.deadlineMono) this.finishSwitchover('aborted', `the peer did not take the MASTER role within ${Math.round(handover.deadlineMono - handover.startedMono)} ms (${seen})`);
    } finally {
      this.switchoverLooking = false;
    }
  }

  private finishSwitchover(outcome: 'done' | 'failed' | 'aborted', detail: string): void {
    this.endSwitchoverWatch();
    const handover = this.state.switchover;
    if (handover == null) return;
    this.state.switchover = { ...handover, outcome, detail, endedAt: new Date().toISOString() };
    this.persist();
    if (outcome === 'done') this.log.info({ duration_ms: Math.round(monoNow() - handover.startedMono) }, `switchover done: ${detail}`);
    else this.log.error({ duration_ms: Math.round(monoNow() - handover.startedMono) }, `switchover ${outcome}: ${detail}; health for keepalived from the probes again`);
    void this.health.evaluateNow();
  }

  private endSwitchoverWatch(): void {
    if (this.switchoverTimer !== null) clearInterval(this.switchoverTimer);
    this.switchoverTimer = null;
  }

  status(): DaemonStatus {
    return {
      pid: process.pid,
      startedAt: this.state.daemon?.startedAt ?? '',
      startingUp: !this.reconciled,
      busy: this.busy !== null,
      queue: [...this.queue],
      transition: this.state.transition,
      role: this.state.role,
      notifyFifo: this.config.keepalived.notifyFifo,
    };
  }

  /** Queues a request; returns the queue length. Applied after the running transition, latest first. */
  request(desire: Desire): number {
    if (this.stopping) {
      this.log.warn({ desire }, `daemon stopping; ignoring ${describe(desire)}`);
      return this.queue.length;
    }
    this.log.info({ desire }, `request: ${describe(desire)}`);
    if (desire.source === 'notify' || desire.source === 'fifo') this.metrics.record({ type: 'notify', state: desire.vrrpState, source: desire.source });
    const promotion = this.promotion;
    if (promotion !== null && !promotion.supersede.signal.aborted && roleOf(desire.vrrpState) === 'BACKUP' && KEEPALIVED_SOURCES.has(desire.source) && compareIssued(desire, promotion.desire) >= 0) {
      // keepalived took the node out of MASTER: a promotion still waiting for the fence stops now
      // (promote.ts rolls it back; after the mount it runs to its end and this request demotes)
      promotion.supersede.abort(new FenceAgentError('ESUPERSEDED', `superseded by ${describe(desire)}`));
    }
    this.queue.push(desire);
    setImmediate(() => this.kick()); // answer the caller first (notify waits for the answer)
    return this.queue.length;
  }

  /**
   * The fence was lost while this node held it (taken over, expired, unreadable past its bound):
   * loss is not graceful (DESIGN §5). SIGKILL mysqld now, abort whatever transition runs, and run
   * the self-fence demotion (mode fenced: kill what uses the disk, detach it, drop the VIP, verify
   * the filesystem gone) next. The node then refuses MASTER until keepalived has left MASTER and
   * it passed through a clean BACKUP (S6). The watchdog is no longer petted from this instant
   * (the fence no longer allows writing), so the node is reset unless the self-fence verifies
   * the unmount within the watchdog's timeout.
   */
  selfFence(reason: string): void {
    if (this.state.selfFence !== null && this.selfFencePending) return;
    const first = this.state.selfFence === null;
    this.state.selfFence ??= { at: new Date().toISOString(), reason };
    if (this.state.deferredBackup != null) this.endDeferral('the fence was lost');
    this.log.error({ reason }, `SELF-FENCE: ${reason}; SIGKILL to mysqld, unmounting, dropping the VIP`);
    // keepalived hears it at once (track_file), not after `fall` verdicts: a fenced node must not
    // hold or win the VRRP election while it gives the disk up
    this.health.fault(`UNHEALTHY: self-fencing (${reason})`);
    killMysqldNow(this.config).then(
      (pids) => {
        if (pids.length > 0) this.log.error({ pids }, 'fence lost: mysqld SIGKILLed');
      },
      (error: unknown) => this.log.error({ err: errorLine(error) }, 'fence lost: could not look for mysqld to kill'),
    );
    this.transitionAbort?.abort(new FenceAgentError('EFENCELOST', `fence lost: ${reason}`));
    if (first) this.metrics.record({ type: 'self-fence' });
    if (first) this.events.emit(fenceLostEvent(reason, this.state.role));
    if (first) this.persist();
    this.selfFencePending = true;
    this.kick();
  }

  /**
   * keepalived's VRRP process has been gone for `keepalived.goneMs` on a MASTER (daemon/
   * keepalived-watch.ts): nobody will notify this node or take the VIP off, and the peer is
   * MASTER too by now. Demote on our own, VIP first; when keepalived comes back it starts as
   * BACKUP (nopreempt) and its notifies lead again.
   */
  private keepalivedGone(why: string): void {
    this.log.error({ why }, `keepalived gone while MASTER (${why}): demoting on our own and dropping the VIP it left`);
    this.request({ vrrpState: 'FAULT', source: KEEPALIVED_GONE, issuedAt: Date.now(), order: orderNow(), detail: why });
  }

  private kick(): void {
    if (!this.ready) return; // start() kicks once it is done
    this.busy ??= this.work().finally(() => {
      this.busy = null;
      this.reconciled = true;
      if ((this.queue.length > 0 || this.selfFencePending || this.restartPending || this.fencedInRetryPending) && !this.stopping) this.kick();
    });
  }

  private async work(): Promise<void> {
    for (;;) {
      if (this.selfFencePending) {
        this.selfFencePending = false;
        this.restartPending = false;
        await this.transition('demote', this.state.desired ?? { vrrpState: 'FAULT', source: 'self-fence', issuedAt: 0 }, 'self-fence', 'fenced');
        continue;
      }
      if (this.fencedInRetryPending) {
        this.fencedInRetryPending = false;
        if (this.state.role === 'FENCED-IN' && this.queue.length === 0 && !this.stopping) {
          const last = this.state.lastTransition;
          this.log.warn({ last_outcome: last?.outcome ?? null, last_error: last?.error ?? null, selfFence: this.state.selfFence }, `fenced-in: the filesystem could not be verified gone; demoting again (every ${this.config.monitor.fencedInRetryMs} ms while fenced-in)`);
          const desire = this.state.desired ?? { vrrpState: 'FAULT', source: 'fenced-in-retry', issuedAt: 0 };
          await this.transition('demote', desire, 'fenced-in-retry', this.state.selfFence !== null ? 'fenced' : 'graceful');
        }
        continue;
      }
      if (this.restartPending && this.queue.length === 0) {
        this.restartPending = false;
        if (this.state.role === 'MASTER' && this.state.desired !== null) await this.transition('promote', this.state.desired, 'mysqld-restart');
        continue;
      }
      if (this.queue.length === 0 || this.stopping) return;
      const batch = this.queue.splice(0);
      const latest = latestIssued(batch);
      for (const skipped of batch) {
        if (skipped !== latest) this.log.info({ desire: skipped }, `superseded before it started, skipped: ${describe(skipped)}`);
      }
      const current = this.state.desired;
      if (current !== null && compareIssued(latest, current) < 0) {
        this.log.info({ desire: latest, current }, `older than the request already applied, skipped: ${describe(latest)}`);
        continue;
      }
      if (KEEPALIVED_SOURCES.has(latest.source)) this.state.keepalivedState = latest.vrrpState;
      if (this.state.maintenance && latest.source !== 'startup') {
        this.state.desired = latest;
        this.persist();
        this.log.warn({ desire: latest }, `MAINTENANCE: not acted on: ${describe(latest)} (applied at maintenance off if the role differs)`);
        continue;
      }
      if (this.deferBackup(latest)) continue;
      // keepalived delivers every event twice when both notify and notify_fifo are configured, and
      // repeats its state after a restart: a request for the state already reached is not re-run.
      if (current !== null && latest.vrrpState === current.vrrpState && latest.source !== 'startup' && this.state.role === roleOf(latest.vrrpState) && this.state.lastTransition?.outcome === 'ok') {
        this.log.info({ desire: latest }, `already ${this.state.role}: nothing to do for ${describe(latest)}`);
        this.state.desired = latest;
        this.persist();
        continue;
      }
      this.state.desired = latest;
      const startHold = roleOf(latest.vrrpState) === 'MASTER' ? activeStartHold(this.state, monoNow(), this.state.bootId) : null;
      if (startHold !== null) {
        this.log.warn({ startHold }, `refusing to promote: START HOLD (${startHold.reason}); fence-agent rejoin makes the node a candidate again`);
        this.persist();
        continue;
      }
      if (roleOf(latest.vrrpState) === 'MASTER' && this.state.selfFence !== null) {
        this.log.warn({ selfFence: this.state.selfFence }, 'refusing to promote: self-fenced; waiting for keepalived to leave MASTER');
        this.persist();
        continue;
      }
      const hold = roleOf(latest.vrrpState) === 'MASTER' ? activeHoldDown(this.state, monoNow(), this.state.bootId) : null;
      if (hold !== null) {
        this.log.warn({ holdDown: hold }, `refusing to promote: hold-down for ${Math.round(hold.untilMono - monoNow())} ms more (${hold.reason}); the request is retried when it ends`);
        this.persist();
        continue;
      }
      await this.transition(roleOf(latest.vrrpState) === 'MASTER' ? 'promote' : 'demote', latest, latest.source);
    }
  }

  private async transition(kind: TransitionKind, desire: Desire, reason: string, mode: DemoteMode = 'graceful'): Promise<void> {
    const id = `t-${Date.now()}-${++this.counter}`;
    const record: TransitionRecord = {
      id,
      kind,
      reason,
      desire,
      startedAt: new Date().toISOString(),
      startedMono: monoNow(),
      deadlineMs: kind === 'promote' ? promoteDeadlineMs(this.config) : demoteDeadlineMs(this.config),
      endedAt: null,
      durationMs: null,
      outcome: null,
      error: null,
      steps: [],
    };
    const log = this.log.child({ tid: id });
    // for its events (src/events/classify.ts)
    const roleBefore = this.state.role;
    const selfFenceReason = this.state.selfFence?.reason ?? null;
    this.stopSqlMonitor();
    const abort = new AbortController();
    this.transitionAbort = abort;
    this.cleanMono = null;
    this.state.transition = record;
    this.persist();
    log.info({ kind, reason, mode }, `${kind}: start (${reason})`);
    for (const warning of kind === 'promote' ? this.fence.describe().warnings : []) log.warn(`fence: ${warning}`);
    const runner = new StepRunner(record, log, () => this.persist(), abort.signal);
    const supersede = new AbortController();
    if (kind === 'promote') this.promotion = { desire, supersede };
    const outcome = kind === 'promote' ? await promote({ ...this.ctx, log, superseded: supersede.signal, stopping: this.stopSignal.signal }, runner) : await demote({ ...this.ctx, log }, runner, '', mode, { dropVip: desire.source === KEEPALIVED_GONE });
    this.promotion = null;
    this.transitionAbort = null;
    record.durationMs = Math.round(monoNow() - record.startedMono);
    record.endedAt = new Date().toISOString();
    record.outcome = outcome;
    this.diskInUse = await this.filesystemInUse();
    if (!this.diskInUse && !this.fence.holding()) this.stopWatchdog(`${kind} ${outcome}: filesystem verified gone, fence not held`);
    if (kind === 'demote' && mode === 'fenced') {
      this.state.role = outcome === 'ok' ? 'FENCED' : 'FENCED-IN';
      // mono: when the filesystem was verified gone and mysqld with it (the fence's release, which
      // may wait out hung lease storage, comes after and writes nothing to the disk)
      if (outcome === 'ok') log.warn({ duration_ms: record.durationMs, mono: Math.round(this.cleanMono ?? monoNow()) }, 'self-fence complete: mysqld gone, filesystem gone from the kernel');
      // Already out of MASTER (keepalived said so last) and verified clean: that is the clean BACKUP of S6.
      if (outcome === 'ok' && this.keepalivedLeftMaster()) this.clearSelfFence(log, `keepalived's last request was ${this.state.keepalivedState ?? 'none'}`);
    } else if (outcome === 'ok') {
      this.state.role = kind === 'promote' ? 'MASTER' : 'BACKUP';
    } else {
      // rolled back, failed or aborted: whatever is still in use decides
      this.state.role = this.diskInUse ? 'FENCED-IN' : 'BACKUP';
    }
    // A clean demotion once keepalived (or an operator) has taken the node out of MASTER clears the
    // self-fence latch; the daemon's own start-up or shutdown requests do not: keepalived may still
    // be MASTER, and only a failing check (the latch) makes it leave.
    if (kind === 'demote' && mode === 'graceful' && outcome === 'ok' && this.state.selfFence !== null && !this.selfFencePending && this.keepalivedLeftMaster()) {
      this.clearSelfFence(log, `clean BACKUP reached, keepalived's last request ${this.state.keepalivedState ?? 'none'}`);
    }
    this.state.transition = null;
    this.state.lastTransition = record;
    this.persist();
    this.metrics.record({ type: 'transition', record }); // counts, durations of the transition and its steps
    const restartAttempt = reason === 'mysqld-restart' ? this.restartAttempt : null;
    const takeover = kind === 'promote' ? (this.fence.lastTakeover?.() ?? null) : null;
    this.events.emit(...transitionEvents({ record, mode, roleBefore, roleAfter: this.state.role, node: this.config.node, takeover, selfFenceReason, restartAttempt }));
    const line = `${kind}: ${outcome} in ${record.durationMs} ms${record.error ? ` (${record.error})` : ''}`;
    if (outcome === 'ok') log.info({ kind, duration_ms: record.durationMs, outcome }, line);
    else log.error({ kind, duration_ms: record.durationMs, outcome }, line);
    // the filesystem verified gone (a demotion, a rollback): the empty mountpoint is made immutable again
    if (!this.diskInUse) await this.protectMountpoint(`after ${kind} ${outcome}`);
    if (this.state.role === 'MASTER') this.startSqlMonitor();
    const refused = kind === 'promote' && outcome === 'rolled-back' ? record.steps.find((step) => step.name === 'fence.acquire' && step.code === 'EHOLDERALIVE') : undefined;
    if (refused !== undefined) this.startHoldDown(refused.detail ?? 'the holder is alive');
  }

  /** `fence.holdDownMs` (scsi-pr; 0 or another method: no hold-down, no deferral). */
  private holdDownMs(): number {
    return this.config.fence.method === 'scsi-pr' ? this.config.fence.holdDownMs : 0;
  }

  /**
   * Issue 9 §2, the partition tie-break: the fence refused a promotion because the holder is alive
   * (its MMP heartbeat moves: only the cluster link broke). For `fence.holdDownMs` the node reports
   * FAULT to keepalived at once (the tracked file; `check` says HOLD-DOWN) and promotes nothing, so
   * it neither keeps the VIP nor retries every few seconds; at the end it is a BACKUP candidate again.
   */
  private startHoldDown(reason: string): void {
    const ms = this.holdDownMs();
    if (ms <= 0) return;
    const untilMono = monoNow() + ms;
    this.state.holdDown = { at: new Date().toISOString(), untilMono, untilAt: new Date(Date.now() + ms).toISOString(), reason };
    this.persist();
    this.log.warn({ hold_down_ms: ms, reason }, `HOLD-DOWN for ${ms} ms: ${reason}`);
    this.health.fault(`UNHEALTHY: HOLD-DOWN: ${reason}`);
    this.scheduleHoldDownEnd(ms);
  }

  private scheduleHoldDownEnd(ms: number): void {
    if (this.holdDownTimer !== null) clearTimeout(this.holdDownTimer);
    this.holdDownTimer = setTimeout(() => {
      this.holdDownTimer = null;
      if (this.stopping || this.state.holdDown == null) return;
      this.log.info({ holdDown: this.state.holdDown }, 'hold-down over');
      this.state.holdDown = null;
      this.persist();
      void this.health.evaluateNow();
      // keepalived may still be MASTER (no tracked file or check configured): its request runs now
      const desired = this.state.desired;
      if (desired !== null && roleOf(desired.vrrpState) === 'MASTER' && this.state.role !== 'MASTER') {
        this.queue.push(desired);
        this.kick();
      }
    }, Math.max(0, ms));
  }

  /**
   * Issue 9 §2: a keepalived BACKUP request reaching a MASTER that holds the fence while no other
   * node is registered (fence.registeredAlone) comes from a peer that won VRRP back without being
   * able to write — a thawed zombie, fenced, about to go FAULT. Demoting would leave nobody: the
   * request waits `fence.holdDownMs` (the node counts as healthy meanwhile, src/health.ts); a newer
   * request replaces it (MASTER: nothing moved), and at the bound it is applied. Not for an
   * operator's request, a STOP or FAULT. Returns true when `latest` was deferred (or already is).
   */
  private deferBackup(latest: Desire): boolean {
    const active = this.state.deferredBackup ?? null;
    if (this.deferralDue === latest) {
      this.deferralDue = null;
      return false;
    }
    if (active !== null && latest.vrrpState === 'BACKUP' && latest.source !== 'manual') {
      this.log.info({ desire: latest }, `BACKUP already deferred: ${describe(latest)}`);
      return true;
    }
    if (active !== null) this.endDeferral(`replaced by ${describe(latest)}`);
    const ms = this.holdDownMs();
    if (ms <= 0 || latest.vrrpState !== 'BACKUP' || latest.source === 'manual' || !KEEPALIVED_SOURCES.has(latest.source)) return false;
    if (this.state.role !== 'MASTER' || this.state.lastTransition?.outcome !== 'ok' || this.fence.registeredAlone?.() !== true) return false;
    const reason = 'this node holds the fence and no other key is registered: the peer that won VRRP cannot write';
    this.state.deferredBackup = { desire: latest, at: new Date().toISOString(), untilMono: monoNow() + ms, reason };
    this.persist();
    this.log.warn({ desire: latest, defer_ms: ms }, `BACKUP request deferred ${ms} ms: ${reason}`);
    this.deferTimer = setTimeout(() => {
      this.deferTimer = null;
      if (this.state.deferredBackup?.desire !== latest || this.stopping) return;
      this.log.warn({ desire: latest }, `deferred BACKUP request due: applying ${describe(latest)}`);
      this.state.deferredBackup = null;
      this.deferralDue = latest;
      this.queue.push(latest);
      this.kick();
    }, ms);
    return true;
  }

  private endDeferral(why: string): void {
    if (this.deferTimer !== null) clearTimeout(this.deferTimer);
    this.deferTimer = null;
    this.log.info({ deferred: this.state.deferredBackup }, `deferred BACKUP request dropped: ${why}`);
    this.state.deferredBackup = null;
    this.persist();
  }

  /**
   * `disk.immutableMountpoint`: makes the empty mountpoint immutable unless something is mounted
   * on it (src/disk/immutable.ts); at start-up and after every transition that leaves the
   * filesystem verified gone. Never fails the daemon: a filesystem without the flag is a warn line.
   */
  private async protectMountpoint(when: string): Promise<void> {
    await protectMountpoint(this.config, AbortSignal.timeout(5000), this.log.child({ when }));
  }

  private keepalivedLeftMaster(): boolean {
    return this.state.keepalivedState === null || roleOf(this.state.keepalivedState) !== 'MASTER';
  }

  private clearSelfFence(log: Logger, why: string): void {
    log.info({ selfFence: this.state.selfFence }, `${why}: self-fence latch cleared`);
    this.state.selfFence = null;
    this.state.role = 'BACKUP';
  }

  /**
   * While MASTER: ping mysqld over SQL every `monitor.sqlIntervalMs` and publish the result in
   * `<runDir>/sql-health.json` for `check` (src/sql-health.ts). Only observes; acts on nothing.
   */
  private startSqlMonitor(): void {
    this.stopSqlMonitor();
    const pinger = new SqlPinger(this.config.mysqld, SQL_FRESH_CONNECTION_MS);
    this.sqlPinger = pinger;
    let pinging = false;
    const tick = (): void => {
      if (pinging || this.busy !== null || this.state.role !== 'MASTER') return;
      pinging = true;
      void (async () => {
        try {
          const { pids } = await findMysqld(mysqldSelector(this.config), { firstOnly: true });
          const pid = pids[0];
          if (pid === undefined) {
            if (this.busy === null && this.state.role === 'MASTER') this.mysqldGone();
            return;
          }
          const ping = await pinger.ping(pid, this.config.deadlines.sqlPingMs);
          if (this.busy === null && this.state.role === 'MASTER') {
            writeSqlHealth(this.config.runDir, { pid, ok: ping.ok, latencyMs: ping.latencyMs, error: ping.error, atMono: monoNow() });
          }
          if (!ping.ok) this.log.warn({ pid, err: ping.error }, 'SQL ping failed');
        } catch (error) {
          this.log.warn({ err: errorLine(error) }, 'SQL monitor error');
        } finally {
          pinging = false;
        }
      })();
    };
    tick();
    this.sqlTimer = setInterval(tick, this.config.monitor.sqlIntervalMs);
  }

  /**
   * mysqld died under a MASTER. With budget left in the local restart policy
   * (`mysqld.restartAttempts` within `mysqld.restartWindowMs`), restart it in place (an idempotent
   * promotion: fence and mount are kept, mysqld is started, SQL awaited); otherwise do nothing:
   * `check` fails and keepalived fails over.
   */
  private mysqldGone(): void {
    if (this.state.maintenance) {
      this.log.warn('MAINTENANCE: mysqld gone on the MASTER; not acted on (no local restart, keepalived keeps the role); its SQL monitor starts again at maintenance off');
      this.stopSqlMonitor();
      return;
    }
    const { restartAttempts, restartWindowMs } = this.config.mysqld;
    const now = monoNow();
    while (this.restarts.length > 0 && (this.restarts[0] as number) < now - restartWindowMs) this.restarts.shift();
    if (this.restarts.length >= restartAttempts) {
      this.log.error({ restarts: this.restarts.length, restartAttempts }, 'mysqld gone on the MASTER and no local restart left: check fails, keepalived fails over');
      this.stopSqlMonitor();
      return;
    }
    this.restarts.push(now);
    this.metrics.record({ type: 'local-restart' });
    this.restartAttempt = `${this.restarts.length} of ${restartAttempts} within ${restartWindowMs} ms`;
    this.log.warn({ attempt: this.restarts.length, restartAttempts, windowMs: restartWindowMs }, `mysqld gone on the MASTER: local restart ${this.restarts.length} of ${restartAttempts}`);
    this.restartPending = true;
    this.kick();
  }

  private stopSqlMonitor(): void {
    if (this.sqlTimer !== null) clearInterval(this.sqlTimer);
    this.sqlTimer = null;
    void this.sqlPinger?.close();
    this.sqlPinger = null;
    clearSqlHealth(this.config.runDir);
  }

  /**
   * Whether a SIGTERM is systemd restarting the daemon (a `restart` job for its unit) on a MASTER
   * that can hand its resources to the next daemon: no self-fence latched, and with the lockfile
   * method a watchdog armed (without one nothing would stop the node if the next daemon never
   * came and its lease expired under a running mysqld). Anything else, or anything unknown: false.
   */
  private async handOffOnRestart(signalName: string): Promise<boolean> {
    if (signalName !== 'SIGTERM' || this.state.role !== 'MASTER' || this.state.selfFence !== null) return false;
    if (this.config.fence.method === 'lockfile' && !this.watchdog.armed) return false;
    if (this.fence.mayWrite() === false) return false;
    const job = await this.restartJob();
    if (!job.restarting) {
      this.log.info({ unit: job.unit }, `not a restart (${job.why}): the MASTER gives the disk up`);
      return false;
    }
    this.log.warn(
      { unit: job.unit, watchdog_timeout_ms: this.config.fence.method === 'lockfile' ? this.config.fence.watchdog?.timeoutMs : null },
      `systemd is restarting ${job.unit}: VIP, mount, mysqld and the fence stay; the next daemon takes them back (the watchdog stays armed until it does)`,
    );
    return true;
  }

  private persist(): void {
    this.state.watchdog = this.watchdog.snapshot();
    try {
      writeState(this.config.stateDir, this.state);
    } catch (error) {
      this.log.error({ err: errorLine(error) }, 'cannot write the state file');
    }
    this.metrics.changed(); // the state the metrics read changed: the textfile follows (coalesced)
  }

  /**
   * Graceful stop (SIGTERM/SIGINT): no new requests; let the running transition finish; if the
   * node holds the disk, demote it — the lease must not outlive the process that refreshes it.
   * A node whose demotion could not verify the unmount exits with the watchdog armed: nobody will
   * refresh its lease, so its watchdog resets it before the peer may take over.
   *
   * Except a restart: when systemd is restarting this unit (`systemctl restart`, a package
   * upgrade; see {@link handOffOnRestart}) a healthy MASTER keeps VIP, mount, mysqld and the fence,
   * and exits with the watchdog armed and freshly petted: the next daemon opens the watchdog and
   * takes the fence back as after a crash (retakeFenceIfHoldingDisk), or the watchdog resets the
   * node if it never comes.
   */
  async stop(signalName: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info({ signal: signalName }, 'daemon stopping');
    this.fifo?.close();
    this.server?.close();
    this.stopSqlMonitor();
    this.keepalivedWatch?.stop();
    this.endSwitchoverWatch();
    if (this.startHoldTimer !== null) clearTimeout(this.startHoldTimer);
    if (this.holdDownTimer !== null) clearTimeout(this.holdDownTimer);
    if (this.deferTimer !== null) clearTimeout(this.deferTimer);
    await this.health.stop();
    // a promotion in flight rolls back now: the stop then takes a demotion's time, within
    // TimeoutStopSec, not the rest of a promotion (issue 11 §9)
    if (this.promotion !== null) this.log.warn({ signal: signalName }, 'daemon stopping during a promotion: rolling it back');
    this.stopSignal.abort(new FenceAgentError('ESTOPPING', `the daemon is stopping (${signalName})`));
    await this.busy;
    const handOff = await this.handOffOnRestart(signalName);
    if (handOff) {
      // one last lease refresh, then a keepalive: the next daemon inherits a right to write that
      // starts now (t_g + S − M − W) and a full watchdog timeout to open the device
      const refreshed = (await this.fence.refreshNow?.()) ?? false;
      if (!refreshed && this.fence.holding()) this.log.warn('the last lease refresh before the hand-over did not count: the next daemon inherits the right of the refresh before');
      this.watchdog.tick();
      // `check` keeps the MASTER healthy until the next daemon publishes its own record
      const watchdogMs = this.config.fence.method === 'lockfile' ? (this.config.fence.watchdog?.timeoutMs ?? 0) : 0;
      this.state.transition = { ...this.resumeRecord(), reason: 'restart: VIP, mount, mysqld and the fence left to the next daemon', deadlineMs: watchdogMs + 2 * this.retakeBoundMs(), handOff: true };
    } else if (this.state.role === 'MASTER' || (await this.filesystemInUse()) || this.fence.holding()) {
      this.log.warn('daemon stopping while holding the disk or the fence: demoting first');
      await this.transition('demote', { vrrpState: 'STOP', source: 'shutdown', issuedAt: Date.now(), order: orderNow() }, 'shutdown');
    }
    this.fence.stop();
    if (this.watchdog.armed && !handOff) {
      this.log.fatal({ timeout_ms: this.config.fence.method === 'lockfile' ? this.config.fence.watchdog?.timeoutMs : null }, 'exiting with the watchdog armed (the unmount was not verified, or nowayout): the node will be reset');
    }
    this.watchdog.stop();
    rmSync(daemonReadyPath(this.config.runDir), { force: true });
    await this.releaseLock?.().catch(() => undefined);
    this.state.daemon = null;
    this.persist();
    await this.events.stop(); // the hook gets one run's time for what is queued (the shutdown demotion's event)
    await this.metrics.stop(); // the textfile's last write: the end state
    this.log.info('daemon stopped');
  }
}
