// The daemon owns every transition on the node (DESIGN §3): one queue where the latest desired
// state wins, promote/demote with per-step deadlines, a fence watch while MASTER with self-fence on
// loss, reconciliation at start-up, and the state file `check` and `status` read.
import type { Server } from 'node:net';
import type { Config } from '../config/types.ts';
import { listenControl } from '../control/server.ts';
import type { ControlRequest, ControlResponse, DaemonStatus } from '../control/protocol.ts';
import { errorLine } from '../errors.ts';
import type { Logger } from '../log.ts';
import { observe } from '../probes/observe.ts';
import { probeMount } from '../probes/mountinfo.ts';
import {
  desireProblem,
  pendingDesirePath,
  readPendingDesire,
  readState,
  roleOf,
  writeState,
  type AgentState,
  type Desire,
  type TransitionKind,
  type TransitionRecord,
} from '../state.ts';
import { demote, demoteDeadlineMs, type TransitionContext } from '../transitions/demote.ts';
import { promote, promoteDeadlineMs } from '../transitions/promote.ts';
import { StepRunner } from '../transitions/steps.ts';
import type { Fence } from '../../fence/types.ts';
import { NONE_WARNING } from '../../fence/none.ts';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { findMysqld, mysqldSelector } from '../probes/mysqld.ts';
import { pingSql } from '../probes/sql.ts';
import { clearSqlHealth, writeSqlHealth } from '../sql-health.ts';
import { acquireDaemonLock } from './lock.ts';
import { readNotifyFifo, type FifoReader } from './fifo.ts';

const describe = (d: Desire): string => `${d.vrrpState} from ${d.source}${d.detail ? ` (${d.detail})` : ''}`;

export class Daemon {
  private readonly state: AgentState;
  private readonly queue: Desire[] = [];
  private busy: Promise<void> | null = null;
  private selfFencePending = false;
  private restartPending = false;
  /** when mysqld was restarted in place (local restart policy), ms since the epoch */
  private readonly restarts: number[] = [];
  private stopping = false;
  private counter = 0;
  private server: Server | null = null;
  private fifo: FifoReader | null = null;
  private fenceTimer: NodeJS.Timeout | null = null;
  private sqlTimer: NodeJS.Timeout | null = null;
  private releaseLock: (() => Promise<void>) | null = null;
  private readonly ctx: TransitionContext;

  constructor(
    private readonly config: Config,
    private readonly fence: Fence,
    private readonly log: Logger,
  ) {
    this.ctx = { config, fence, log };
    this.state = {
      version: 1,
      node: config.node,
      daemon: { pid: process.pid, startedAt: new Date().toISOString() },
      desired: null,
      role: 'UNKNOWN',
      transition: null,
      lastTransition: null,
      selfFence: null,
      updatedAt: new Date().toISOString(),
    };
  }

  /**
   * Takes the daemon lock, restores what the previous daemon recorded, listens on the control
   * socket, starts reading notify_fifo, and queues the start-up reconciliation.
   * @throws FenceAgentError code `EDAEMONRUNNING` when another daemon runs on this node.
   */
  async start(): Promise<void> {
    mkdirSync(this.config.runDir, { recursive: true, mode: 0o700 });
    chmodSync(this.config.runDir, 0o700);
    mkdirSync(this.config.stateDir, { recursive: true, mode: 0o755 });
    this.releaseLock = await acquireDaemonLock(this.config.runDir, (error) => {
      this.log.fatal({ err: error.message }, 'daemon lock compromised; exiting so that a single daemon remains');
      process.exit(1);
    });
    if (this.config.fence.method === 'none') this.log.warn(NONE_WARNING);
    const previous = readState(this.config.stateDir);
    if (previous !== null) {
      this.state.desired = previous.desired;
      this.state.selfFence = previous.selfFence;
      this.state.lastTransition =
        previous.transition !== null
          ? { ...previous.transition, outcome: 'failed', error: 'interrupted: the daemon running it died', endedAt: new Date().toISOString() }
          : previous.lastTransition;
    }
    this.persist();
    this.fence.onLost((reason) => this.selfFence(reason));
    await this.retakeFenceIfHoldingDisk();
    this.server = await listenControl(this.config.runDir, (request) => this.handle(request));
    if (this.config.keepalived.notifyFifo !== null) {
      this.fifo = await readNotifyFifo(this.config.keepalived.notifyFifo, this.config.keepalived.instance, this.log, (desire) => {
        this.request(desire);
      });
    }
    await this.reconcile(previous);
    this.log.info({ runDir: this.config.runDir, stateDir: this.config.stateDir, fence: this.fence.describe() }, 'daemon started');
  }

  /**
   * A daemon restarted on a node that has the disk mounted (the previous daemon crashed) takes the
   * fence back first thing, before its lease goes stale under the mounted disk; if the peer holds
   * it already, this node is a zombie writer: self-fence at once.
   */
  private async retakeFenceIfHoldingDisk(): Promise<void> {
    const mount = await probeMount(this.config.disk.device, this.config.disk.mountpoint).catch(() => null);
    if (mount?.mounted !== true || this.config.fence.method === 'none') return;
    try {
      const status = await this.fence.acquire(AbortSignal.timeout(Math.min(this.config.deadlines.fenceAcquireMs, 2000)));
      this.log.info({ fence: status.detail }, 'disk mounted at start-up: fence taken back');
    } catch (error) {
      this.selfFence(`disk mounted at start-up but the fence could not be taken back (${errorLine(error)})`);
    }
  }

  /** Decides the start-up target from what is observed, the previous state and a pending notify. */
  private async reconcile(previous: AgentState | null): Promise<void> {
    const seen = await observe(this.config, this.fence, { probeTimeoutMs: 5000, sql: 'never' });
    const pending = readPendingDesire(this.config.stateDir);
    rmSync(pendingDesirePath(this.config.stateDir), { force: true });
    // The start-up request is as recent as the last one recorded, so it is never skipped as older.
    const lastIssued = previous?.desired?.issuedAt ?? 0;
    const observed = `VIP ${seen.vip.held ? 'held' : 'not held'}, ${seen.mount?.mounted ? 'mounted' : 'not mounted'}, mysqld ${seen.mysqld?.pids.join(',') || 'none'}, fence ${seen.fence?.held ?? 'n/a'}`;
    let desire: Desire;
    if (!seen.vip.held) {
      // keepalived adds the VIP before it notifies MASTER: without the VIP, never promote at start-up.
      desire = { vrrpState: 'BACKUP', source: 'startup', issuedAt: Math.max(lastIssued, pending?.issuedAt ?? 0), detail: observed };
    } else if (pending !== null && pending.issuedAt > lastIssued) {
      desire = { ...pending, detail: `pending ${pending.source} request; ${observed}` };
    } else if (previous?.desired && roleOf(previous.desired.vrrpState) === 'BACKUP') {
      desire = { ...previous.desired, source: 'startup', detail: `last request was ${previous.desired.vrrpState}; ${observed}` };
    } else {
      desire = { vrrpState: 'MASTER', source: 'startup', issuedAt: lastIssued, detail: observed };
    }
    this.log.info({ observed }, `reconciling at start-up towards ${describe(desire)}`);
    this.request(desire);
  }

  private handle(request: ControlRequest): ControlResponse {
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
      default:
        return { ok: false, error: `unknown op ${(request as { op?: unknown }).op as string}` };
    }
  }

  status(): DaemonStatus {
    return {
      pid: process.pid,
      startedAt: this.state.daemon?.startedAt ?? '',
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
    this.queue.push(desire);
    setImmediate(() => this.kick()); // answer the caller first (notify waits for the answer)
    return this.queue.length;
  }

  /** Fence lost while holding it: stop mysqld and unmount now; no promotion until clean BACKUP. */
  selfFence(reason: string): void {
    if (this.state.selfFence !== null) return;
    this.state.selfFence = { at: new Date().toISOString(), reason };
    this.log.error({ reason }, `SELF-FENCE: ${reason}; stopping mysqld and unmounting`);
    this.persist();
    this.selfFencePending = true;
    this.kick();
  }

  private kick(): void {
    this.busy ??= this.work().finally(() => {
      this.busy = null;
      if ((this.queue.length > 0 || this.selfFencePending || this.restartPending) && !this.stopping) this.kick();
    });
  }

  private async work(): Promise<void> {
    for (;;) {
      if (this.selfFencePending) {
        this.selfFencePending = false;
        this.restartPending = false;
        await this.transition('demote', this.state.desired ?? { vrrpState: 'FAULT', source: 'self-fence', issuedAt: 0 }, 'self-fence');
        continue;
      }
      if (this.restartPending && this.queue.length === 0) {
        this.restartPending = false;
        if (this.state.role === 'MASTER' && this.state.desired !== null) await this.transition('promote', this.state.desired, 'mysqld-restart');
        continue;
      }
      if (this.queue.length === 0 || this.stopping) return;
      const batch = this.queue.splice(0);
      const latest = batch.reduce((a, b) => (b.issuedAt >= a.issuedAt ? b : a));
      for (const skipped of batch) {
        if (skipped !== latest) this.log.info({ desire: skipped }, `superseded before it started, skipped: ${describe(skipped)}`);
      }
      const current = this.state.desired;
      if (current !== null && latest.issuedAt < current.issuedAt) {
        this.log.info({ desire: latest, current }, `older than the request already applied, skipped: ${describe(latest)}`);
        continue;
      }
      // keepalived delivers every event twice when both notify and notify_fifo are configured, and
      // repeats its state after a restart: a request for the state already reached is not re-run.
      if (current !== null && latest.vrrpState === current.vrrpState && latest.source !== 'startup' && this.state.role === roleOf(latest.vrrpState) && this.state.lastTransition?.outcome === 'ok') {
        this.log.info({ desire: latest }, `already ${this.state.role}: nothing to do for ${describe(latest)}`);
        this.state.desired = latest;
        this.persist();
        continue;
      }
      this.state.desired = latest;
      if (roleOf(latest.vrrpState) === 'MASTER' && this.state.selfFence !== null) {
        this.log.warn({ selfFence: this.state.selfFence }, 'refusing to promote: self-fenced; waiting for keepalived to leave MASTER');
        this.persist();
        continue;
      }
      await this.transition(roleOf(latest.vrrpState) === 'MASTER' ? 'promote' : 'demote', latest, latest.source);
    }
  }

  private async transition(kind: TransitionKind, desire: Desire, reason: string): Promise<void> {
    const id = `t-${Date.now()}-${++this.counter}`;
    const record: TransitionRecord = {
      id,
      kind,
      reason,
      desire,
      startedAt: new Date().toISOString(),
      deadlineMs: kind === 'promote' ? promoteDeadlineMs(this.config) : demoteDeadlineMs(this.config),
      endedAt: null,
      durationMs: null,
      outcome: null,
      error: null,
      steps: [],
    };
    const log = this.log.child({ tid: id });
    this.stopFenceWatch();
    this.stopSqlMonitor();
    this.state.transition = record;
    this.persist();
    log.info({ kind, reason }, `${kind}: start (${reason})`);
    if (kind === 'promote' && this.config.fence.method === 'none') log.warn(NONE_WARNING);
    const started = performance.now();
    const runner = new StepRunner(record, log, () => this.persist());
    const outcome = kind === 'promote' ? await promote({ ...this.ctx, log }, runner) : await demote({ ...this.ctx, log }, runner);
    record.durationMs = Math.round(performance.now() - started);
    record.endedAt = new Date().toISOString();
    record.outcome = outcome;
    if (outcome === 'ok') {
      this.state.role = kind === 'promote' ? 'MASTER' : 'BACKUP';
    } else {
      const mount = await probeMount(this.config.disk.device, this.config.disk.mountpoint).catch(() => null);
      this.state.role = mount?.mounted === false ? 'BACKUP' : 'FENCED-IN';
    }
    // A demotion that keepalived (or an operator) asked for, ending clean, clears the self-fence latch.
    if (kind === 'demote' && outcome === 'ok' && reason !== 'self-fence' && this.state.selfFence !== null) {
      log.info({ selfFence: this.state.selfFence }, 'clean BACKUP reached: self-fence latch cleared');
      this.state.selfFence = null;
    }
    this.state.transition = null;
    this.state.lastTransition = record;
    this.persist();
    const line = `${kind}: ${outcome} in ${record.durationMs} ms${record.error ? ` (${record.error})` : ''}`;
    if (outcome === 'ok') log.info({ kind, duration_ms: record.durationMs, outcome }, line);
    else log.error({ kind, duration_ms: record.durationMs, outcome }, line);
    if (this.state.role === 'MASTER') {
      this.startFenceWatch();
      this.startSqlMonitor();
    }
  }

  /**
   * While MASTER: ping mysqld over SQL every `monitor.sqlIntervalMs` and publish the result in
   * `<runDir>/sql-health.json` for `check` (src/sql-health.ts). Only observes; acts on nothing.
   */
  private startSqlMonitor(): void {
    this.stopSqlMonitor();
    let pinging = false;
    const tick = (): void => {
      if (pinging || this.busy !== null || this.state.role !== 'MASTER') return;
      pinging = true;
      void (async () => {
        try {
          const { pids } = await findMysqld(mysqldSelector(this.config));
          const pid = pids[0];
          if (pid === undefined) {
            if (this.busy === null && this.state.role === 'MASTER') this.mysqldGone();
            return;
          }
          const ping = await pingSql(this.config.mysqld, this.config.deadlines.sqlPingMs);
          if (this.busy === null && this.state.role === 'MASTER') {
            writeSqlHealth(this.config.runDir, { pid, ok: ping.ok, latencyMs: ping.latencyMs, error: ping.error, at: Date.now() });
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
    const { restartAttempts, restartWindowMs } = this.config.mysqld;
    const now = Date.now();
    while (this.restarts.length > 0 && (this.restarts[0] as number) < now - restartWindowMs) this.restarts.shift();
    if (this.restarts.length >= restartAttempts) {
      this.log.error({ restarts: this.restarts.length, restartAttempts }, 'mysqld gone on the MASTER and no local restart left: check fails, keepalived fails over');
      this.stopSqlMonitor();
      return;
    }
    this.restarts.push(now);
    this.log.warn({ attempt: this.restarts.length, restartAttempts, windowMs: restartWindowMs }, `mysqld gone on the MASTER: local restart ${this.restarts.length} of ${restartAttempts}`);
    this.restartPending = true;
    this.kick();
  }

  private stopSqlMonitor(): void {
    if (this.sqlTimer !== null) clearInterval(this.sqlTimer);
    this.sqlTimer = null;
    clearSqlHealth(this.config.runDir);
  }

  /**
   * While MASTER: read the fence back every `monitor.fenceIntervalMs`; self-fence when it is gone,
   * or when it could not be read back for longer than the lease's `staleMs` (by then the peer may
   * have taken it: a dead NFS server must not leave us writing).
   */
  private startFenceWatch(): void {
    this.stopFenceWatch();
    if (this.config.fence.method === 'none') return;
    const blindLimitMs = this.config.fence.staleMs;
    let lastReadMs = Date.now();
    let reading = false;
    this.fenceTimer = setInterval(() => {
      if (reading || this.busy !== null || this.state.role !== 'MASTER') return;
      reading = true;
      this.fence
        .verify()
        .then(
          (status) => {
            lastReadMs = Date.now();
            if (status.held === false && this.busy === null && this.state.role === 'MASTER') this.selfFence(`fence verification: ${status.detail}`);
          },
          (error: unknown) => {
            const blindMs = Date.now() - lastReadMs;
            if (blindMs > blindLimitMs) this.selfFence(`fence unreadable for ${blindMs} ms (${errorLine(error)})`);
            else this.log.warn({ err: errorLine(error), blind_ms: blindMs }, 'fence verification failed; retrying');
          },
        )
        .finally(() => {
          reading = false;
        });
    }, this.config.monitor.fenceIntervalMs);
  }

  private stopFenceWatch(): void {
    if (this.fenceTimer !== null) clearInterval(this.fenceTimer);
    this.fenceTimer = null;
  }

  private persist(): void {
    try {
      writeState(this.config.stateDir, this.state);
    } catch (error) {
      this.log.error({ err: errorLine(error) }, 'cannot write the state file');
    }
  }

  /**
   * Graceful stop (SIGTERM/SIGINT): no new requests; let the running transition finish; if the
   * node holds the disk, demote it — the lease must not outlive the process that refreshes it.
   */
  async stop(signalName: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info({ signal: signalName }, 'daemon stopping');
    this.fifo?.close();
    this.server?.close();
    this.stopFenceWatch();
    this.stopSqlMonitor();
    await this.busy;
    const mount = await probeMount(this.config.disk.device, this.config.disk.mountpoint).catch(() => null);
    if (this.state.role === 'MASTER' || mount?.mounted === true) {
      this.log.warn('daemon stopping while holding the disk: demoting first');
      await this.transition('demote', { vrrpState: 'STOP', source: 'shutdown', issuedAt: Date.now() }, 'shutdown');
    }
    await this.releaseLock?.().catch(() => undefined);
    this.state.daemon = null;
    this.persist();
    this.log.info('daemon stopped');
  }
}
