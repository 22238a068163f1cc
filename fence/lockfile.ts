// Method `lockfile`: a lease record on storage both nodes see (an NFS path), with the timing rules
// that make it a fence when a watchdog backs it (DESIGN §5; sanlock's delta lease and sbd's
// watchdog are the models, ../shared/reference/ha-anchors.md §2–3).
//
// - The record (fence/lease/record.ts) names the holder (node, boot id, machine id, pid), a nonce
//   per tenure and a counter the holder bumps on every refresh (every `updateMs`, R).
// - The holder's right to write ends on its own monotonic clock at t_g + S − M − W, where t_g is
//   the start of its last good refresh (fence/lease/holder-clock.ts). The daemon pets the watchdog
//   only while `mayWrite()`; at that instant the listeners hear "lost" and the daemon self-fences.
// - The peer takes the lease over only after seeing the record unchanged for `takeoverAfterMs`
//   (≥ S + M) on its own monotonic clock (fence/lease/observer.ts). No wall-clock comparison.
// - Every write is a compare-and-replace of the exact text last seen (src/lease-io.ts), so a
//   refresh never overwrites a takeover and a takeover never overwrites a refresh it did not see.
//   After taking the lease, the taker waits 2·T_io and reads it back: a competing write that was
//   in flight has landed by then, and whoever's record is there holds the lease.
// - A daemon restarted on the holder (crashed, SIGKILLed, `systemctl restart`) continues the dead
//   daemon's tenure without that wait when the record still carries the confirmed tenure the dead
//   daemon published (lease-tenure.json of this boot: same pid, same nonce) and its write completes, within
//   T_io, by that tenure's dead-by time t_g + S − M. Why no competing write can be in flight: the
//   record last changed at or after t_g, so the peer, which takes over only after seeing it
//   unchanged for takeoverAfterMs ≥ S + M on its own clock, starts its takeover write no earlier
//   than t_g + S + M − (drift ≤ M) ≥ t_g + S; our write has landed by t_g + S − M, so the peer's
//   compare-and-replace reads our record and fails, and its observation starts afresh. The write
//   is a refresh in all but the nonce: t_g moves to its start. Between the dead daemon's right's end
//   (t_g + S − M − W) and this write nobody pets the watchdog (src/daemon/watchdog-keeper.ts), so a
//   node that does not get here in time is reset by t_g + S − M, before the peer could take over.
// - Lease I/O goes through a bounded `LeaseIo`: the daemon's is a helper process abandoned when it
//   hangs; `check` and `status` read in-process with a timer.
//
// Without a watchdog this fence is cooperative: a frozen holder that wakes up has no timer running
// and may write until its first timer fires (the README's freeze table measures it).
import type { LockfileFenceConfig } from '../src/config/types.ts';
import { monoNow } from '../src/clock.ts';
import { sleep } from '../src/deadline.ts';
import { FenceAgentError, errorLine } from '../src/errors.ts';
import { isAlive as processAlive } from '../src/proc.ts';
import type { LeaseIo } from '../src/lease-io.ts';
import { HolderClock } from './lease/holder-clock.ts';
import { LeaseObserver } from './lease/observer.ts';
import { describeHolder, newNonce, parseLease, sameIdentity, serializeLease, type LeaseIdentity, type LeaseRecord, type LeaseView } from './lease/record.ts';
import { readTenureFile, writeTenureFile, type TenureFile } from './lease/tenure-file.ts';
import type { Fence, FenceLostListener, FenceStatus, Takeover } from './types.ts';

/** The few logger methods the fence uses (pino's signature). */
export interface FenceLog {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface LockfileFenceOptions {
  /** this node on the lease: name, boot id, machine id */
  identity: LeaseIdentity;
  /** bounded lease I/O: the helper process in the daemon, in-process in `check`/`status` */
  io: LeaseIo;
  /** where the daemon publishes its tenure (`lease-tenure.json`) and other processes read it; null = neither */
  runDir: string | null;
  /** placement warnings found at start-up, published for `status` */
  warnings?: string[];
  log?: FenceLog | null;
  /** monotonic ms (default src/clock.ts monoNow); injectable for tests */
  clock?: () => number;
  /** whether a pid lives on this host (default /proc); injectable for tests */
  isAlive?: (pid: number) => boolean;
  /** this process's pid as written into the record (default process.pid) */
  pid?: number;
}

interface Tenure {
  nonce: string;
  counter: number;
  /** the exact text last written (what the next compare-and-replace expects) */
  text: string;
  record: LeaseRecord;
  clock: HolderClock;
  /** the acquisition's read-back confirmed it; only a confirmed tenure's loss reaches the listeners */
  confirmed: boolean;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** The lockfile fence with the lease internals exposed for `status` and tests. */
export interface LockfileFence extends Fence {
  /** t_g, the right's end and the dead-by time of the current tenure (monotonic ms), or null */
  tenureTimes(): { lastGoodStartMs: number; rightEndsAtMs: number; deadByMs: number; counter: number } | null;
  /** how long the peer's record has been seen unchanged (ms), or null */
  observedUnchangedMs(): number | null;
  /** adds lines to the fence's warnings (placement findings at start-up) and publishes them */
  addWarnings(lines: string[]): void;
  /** see Fence.lastTakeover */
  lastTakeover(): Takeover | null;
}

export function createLockfileFence(config: LockfileFenceConfig, options: LockfileFenceOptions): LockfileFence {
  const { io, identity, runDir } = options;
  const clock = options.clock ?? monoNow;
  const alive = options.isAlive ?? processAlive;
  const pid = options.pid ?? process.pid;
  const log = options.log ?? null;
  const T_io = config.ioTimeoutMs;
  const timers = { staleMs: config.staleMs, marginMs: config.marginMs, ioTimeoutMs: T_io, watchdogMs: config.watchdog?.timeoutMs ?? 0 };
  const observer = new LeaseObserver(config.takeoverAfterMs);
  const listeners: FenceLostListener[] = [];
  const warnings = [...(options.warnings ?? [])];
  if (config.watchdog === null) warnings.push('no watchdog (fence.allowNoWatchdog): a frozen MASTER can keep writing after the peer took the lease over');
  if (config.allowLocalLease) warnings.push('lease placement checks off (fence.allowLocalLease): for the netns lab only; on a real pair the peer cannot see a local lease');

  let tenure: Tenure | null = null;
  /** see Fence.lastTakeover: set by each acquisition that completes */
  let takeover: Takeover | null = null;
  /** the tenure file a previous daemon of this boot left, read once before this fence first publishes its own */
  let previousFile: TenureFile | null | undefined;
  const previousTenureFile = (): TenureFile | null => {
    if (previousFile === undefined) {
      const file = runDir === null ? null : readTenureFile(runDir, identity.bootId);
      previousFile = file !== null && file.pid !== pid ? file : null;
    }
    return previousFile;
  };
  let lost: { reason: string; atMs: number } | null = null;
  let observedHolder: string | null = null;
  let background = false;
  /** set by stop(): no timer of this fence runs again until start() */
  let halted = false;
  let refreshTimer: NodeJS.Timeout | null = null;
  let expiryTimer: NodeJS.Timeout | null = null;
  let observeTimer: NodeJS.Timeout | null = null;
  let acquiring = false;
  let queue: Promise<unknown> = Promise.resolve();
  /** runs acquire and release one at a time */
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  };

  const publish = (): void => {
    if (runDir === null || !background) return;
    previousTenureFile(); // read before it is overwritten
    const t = tenure;
    const file: TenureFile = {
      version: 1,
      bootId: identity.bootId,
      pid,
      tenure:
        t === null || t.clock.lastGoodStartMs === null
          ? null
          : { nonce: t.nonce, counter: t.counter, lastGoodStartMs: t.clock.lastGoodStartMs, rightEndsAtMs: t.clock.rightEndsAtMs ?? 0, deadByMs: t.clock.deadByMs ?? 0, confirmed: t.confirmed },
      lost,
      observing: t === null && observer.lastText !== undefined ? { holder: observedHolder, sinceMs: clock() - (observer.unchangedForMs(clock()) ?? 0), takeoverAfterMs: config.takeoverAfterMs } : null,
      warnings,
      writtenAtMs: clock(),
    };
    try {
      writeTenureFile(runDir, file);
    } catch (error) {
      log?.error({ err: errorLine(error) }, 'cannot publish the lease tenure');
    }
  };

  const holderName = (view: LeaseView): string | null => (view.kind === 'held' ? view.record.node : view.kind === 'unreadable' ? 'unknown' : null);

  /** One bounded read; feeds the observer. */
  const read = async (timeoutMs = T_io): Promise<{ text: string | null; view: LeaseView; atMs: number }> => {
    const text = await io.read(config.path, timeoutMs);
    const atMs = clock();
    const view = parseLease(text);
    if (observer.saw(text, atMs)) {
      observedHolder = holderName(view);
      publish();
    }
    return { text, view, atMs };
  };

  const clearTenureTimers = (): void => {
    if (refreshTimer !== null) clearTimeout(refreshTimer);
    if (expiryTimer !== null) clearTimeout(expiryTimer);
    refreshTimer = expiryTimer = null;
  };

  /** Ends the tenure; tells the listeners when it was a confirmed one. */
  const lose = (reason: string): void => {
    const t = tenure;
    if (t === null) return;
    tenure = null;
    clearTenureTimers();
    lost = { reason, atMs: clock() };
    observer.reset();
    publish();
    if (!t.confirmed) {
      log?.warn({ reason }, `lease lost while acquiring: ${reason}`);
      return;
    }
    log?.error({ reason, mono: Math.round(clock()), t_g: t.clock.lastGoodStartMs, right_ends_at: t.clock.rightEndsAtMs, dead_by: t.clock.deadByMs }, `LEASE LOST: ${reason}`);
    for (const listener of listeners) listener(reason);
  };

  const scheduleExpiry = (): void => {
    if (expiryTimer !== null) clearTimeout(expiryTimer);
    if (halted) return;
    const t = tenure;
    const end = t?.clock.rightEndsAtMs;
    if (t === null || end === null || end === undefined) return;
    expiryTimer = setTimeout(() => {
      expiryTimer = null;
      if (tenure !== t) return;
      const now = clock();
      if (t.clock.mayWrite(now)) {
        scheduleExpiry(); // a good refresh moved the end meanwhile
        return;
      }
      const since = now - (t.clock.lastGoodStartMs ?? now);
      lose(`right to write ended: no good refresh of ${config.path} for ${since.toFixed(0)} ms (S − M − W = ${t.clock.rightMs} ms)`);
    }, Math.max(0, end - clock()) + 1);
  };

  /** One refresh: compare-and-replace of the text we last wrote with the counter bumped. */
  const refresh = async (): Promise<void> => {
    const t = tenure;
    if (t === null) return;
    const started = clock();
    if (!t.clock.mayStartRefresh(started)) return; // it could not land in time: the expiry timer decides
    const record: LeaseRecord = { ...t.record, counter: t.counter + 1, writtenAt: new Date().toISOString() };
    const text = serializeLease(record);
    let result;
    try {
      result = await io.replaceIf(config.path, t.text, text, T_io);
    } catch (error) {
      log?.warn({ err: errorLine(error), lease: config.path }, 'lease refresh failed; retrying at the next interval');
      return;
    }
    const completed = clock();
    if (tenure !== t) return;
    if (result.replaced) {
      t.text = text;
      t.record = record;
      t.counter = record.counter;
      if (t.clock.good(started, completed)) {
        scheduleExpiry();
        publish();
      } else {
        log?.warn({ duration_ms: Math.round(completed - started), bound_ms: T_io }, 'lease refresh landed but took longer than ioTimeoutMs: not counted');
      }
      return;
    }
    const view = parseLease(result.current);
    if (view.kind === 'held' && view.record.nonce === t.nonce && sameIdentity(view.record, identity)) {
      // our own earlier refresh, given up on at its bound, landed late: adopt it (t_g unchanged)
      t.text = result.current ?? '';
      t.record = view.record;
      t.counter = view.record.counter;
      return;
    }
    if (view.kind === 'held' && sameIdentity(view.record, identity) && view.record.pid !== pid && !alive(view.record.pid)) {
      // the dead daemon whose tenure this one continued had a write in flight (its lease I/O helper
      // outlives it by one call), landed now: another change the peer sees, not a taker. The next
      // refresh replaces it; t_g unchanged.
      log?.warn({ lease: config.path, left_by: view.record.pid }, `a late write of this node's dead daemon (pid ${view.record.pid}) landed on the lease; replaced at the next refresh`);
      t.text = result.current ?? '';
      return;
    }
    lose(`the lease was taken: ${config.path} now ${view.kind === 'held' ? `names ${describeHolder(view.record)}` : view.kind === 'free' ? 'is free' : 'holds an unreadable record'}`);
  };

  /** the timer's refresh while it runs (refreshNow waits for it, so its own write starts after) */
  let timerRefresh: Promise<void> | null = null;
  const scheduleRefresh = (): void => {
    if (refreshTimer !== null) clearTimeout(refreshTimer);
    if (halted) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      if (tenure === null) return;
      // Not serialised with acquire/release: every write is a compare-and-replace, so a refresh
      // racing a release either lands first (the release then replaces it) or finds the lease gone.
      const running = refresh().finally(() => {
        if (timerRefresh === running) timerRefresh = null;
        if (tenure !== null) scheduleRefresh();
      });
      timerRefresh = running;
    }, config.updateMs);
  };

  const heldStatus = (t: Tenure, now: number): FenceStatus => ({
    held: t.clock.mayWrite(now),
    holder: identity.node,
    registrants: [],
    detail: t.clock.mayWrite(now)
      ? `lease ${config.path} held by ${describeHolder(t.record)}; right to write ${seconds((t.clock.rightEndsAtMs ?? now) - now)} more`
      : `lease ${config.path} names ${describeHolder(t.record)} but its right to write ended ${seconds(now - (t.clock.rightEndsAtMs ?? now))} ago`,
  });

  /**
   * Writes our record over `expected`; on success, a provisional tenure starts (t_g = start of the
   * write). With `continueByMs` (the dead daemon's dead-by time, see the header), a good write that
   * completed by then is confirmed at once: 'continued'.
   */
  const take = async (expected: string | null, why: string, continueByMs: number | null = null): Promise<'taken' | 'continued' | 'raced'> => {
    const nonce = newNonce();
    const record: LeaseRecord = { version: 2, state: 'held', ...identity, pid, nonce, counter: 0, writtenAt: new Date().toISOString() };
    const text = serializeLease(record);
    const started = clock();
    const result = await io.replaceIf(config.path, expected, text, T_io);
    const completed = clock();
    if (!result.replaced) {
      observer.saw(result.current, completed);
      observedHolder = holderName(parseLease(result.current));
      return 'raced';
    }
    const holderClock = new HolderClock(timers);
    if (!holderClock.good(started, completed)) {
      log?.warn({ duration_ms: Math.round(completed - started), bound_ms: T_io }, 'lease write took longer than ioTimeoutMs; trying again');
      return 'raced'; // the record names us now; the next turn reclaims it with a timely write
    }
    const continued = continueByMs !== null && completed <= continueByMs;
    tenure = { nonce, counter: 0, text, record, clock: holderClock, confirmed: continued };
    lost = null;
    if (continued) {
      log?.info(
        { lease: config.path, why, counter: 0, mono: Math.round(completed), t_g: started, before_dead_by_ms: Math.round((continueByMs ?? completed) - completed) },
        `lease acquired (${why}): the dead daemon's tenure continued, written ${Math.round((continueByMs ?? completed) - completed)} ms before its dead-by time t_g + S − M; no read-back wait needed`,
      );
    } else {
      if (continueByMs !== null) log?.warn({ lease: config.path, late_ms: Math.round(completed - continueByMs) }, "lease written after the dead daemon's dead-by time: confirming as a takeover");
      log?.info({ lease: config.path, why }, `lease written (${why}); confirming in ${2 * T_io} ms`);
    }
    scheduleExpiry();
    scheduleRefresh();
    publish();
    return continued ? 'continued' : 'taken';
  };

  /**
   * The dead-by time (t_g + S − M, monotonic ms) of the confirmed tenure a dead daemon of this node
   * published when `view` still carries that tenure (same pid and nonce, this boot), else null. An
   * unconfirmed one may still have a competing write in flight: that needs the read-back.
   */
  const continuableBy = (view: LeaseView): number | null => {
    if (view.kind !== 'held') return null;
    const file = previousTenureFile();
    const published = file?.tenure;
    if (file === null || !published || published.confirmed !== true || file.pid !== view.record.pid || published.nonce !== view.record.nonce) return null;
    return published.deadByMs;
  };

  const acquireLoop = async (signal: AbortSignal): Promise<FenceStatus> => {
    for (;;) {
      if (signal.aborted) {
        const unchanged = observer.unchangedForMs(clock());
        const who = observedHolder ?? 'another node';
        throw new FenceAgentError(
          'EFENCE',
          `lease ${config.path} is held by ${who}${unchanged === null ? '' : ` (record unchanged for ${seconds(unchanged)}; takeover after ${seconds(config.takeoverAfterMs)})`}`,
          { cause: signal.reason },
        );
      }
      let seen;
      try {
        seen = await read();
      } catch (error) {
        log?.warn({ err: errorLine(error), lease: config.path }, 'lease read failed while acquiring; retrying');
        await sleep(config.updateMs, signal).catch(() => undefined);
        continue;
      }
      const { text, view, atMs } = seen;
      let why: string | null = null;
      let takenFrom: string | null = null;
      let continueByMs: number | null = null;
      if (view.kind === 'free') why = view.record === null ? 'free' : `released by ${view.record.node}`;
      else if (view.kind === 'held' && sameIdentity(view.record, identity) && (view.record.pid === pid || !alive(view.record.pid))) {
        why = view.record.pid === pid ? 'our own earlier tenure' : `left by this node's dead daemon (pid ${view.record.pid})`;
        if (view.record.pid !== pid) continueByMs = continuableBy(view);
      } else if (observer.mayTakeOver(atMs)) {
        takenFrom = view.kind === 'held' ? view.record.node : 'unreadable';
        why = `taken over from ${view.kind === 'held' ? describeHolder(view.record) : 'an unreadable record'}: unchanged for ${seconds(observer.unchangedForMs(atMs) ?? 0)} on this node's clock`;
      }
      if (why === null) {
        await sleep(Math.min(config.updateMs, Math.max(50, observer.remainingMs(atMs) ?? config.updateMs)), signal).catch(() => undefined);
        continue;
      }
      let outcome: 'taken' | 'continued' | 'raced';
      try {
        outcome = await take(text, why, continueByMs);
      } catch (error) {
        log?.warn({ err: errorLine(error), lease: config.path }, 'lease write failed while acquiring; retrying');
        await sleep(config.updateMs, signal).catch(() => undefined);
        continue;
      }
      if (outcome === 'raced') continue;
      const t = tenure;
      if (outcome === 'continued' && t !== null) {
        takeover = null;
        return heldStatus(t, clock());
      }
      // Confirm: after 2·T_io every competing write that was in flight has landed.
      await sleep(2 * T_io, signal).catch(() => undefined);
      if (signal.aborted) {
        // the caller gave up: do not keep a lease nobody knows about
        if (tenure === t && t !== null) await releaseTenure(t).catch(() => undefined);
        continue; // throws at the top of the loop
      }
      if (tenure !== t || t === null) continue; // lost meanwhile (a competing write)
      let back: Awaited<ReturnType<typeof read>> | null = null;
      while (back === null && tenure === t && !signal.aborted) {
        try {
          back = await read();
        } catch (error) {
          // the provisional tenure keeps being refreshed meanwhile; its expiry still applies
          log?.warn({ err: errorLine(error) }, 'lease read-back failed; reading again');
          await sleep(Math.min(config.updateMs, T_io), signal).catch(() => undefined);
        }
      }
      if (back === null || tenure !== t) {
        if (tenure === t) await releaseTenure(t).catch(() => undefined);
        continue;
      }
      if (back.view.kind === 'held' && back.view.record.nonce === t.nonce) {
        t.confirmed = true;
        takeover = takenFrom === null ? null : { from: takenFrom, detail: `lease ${config.path} ${why}` };
        log?.info({ lease: config.path, counter: t.counter, mono: Math.round(clock()), t_g: t.clock.lastGoodStartMs }, `lease acquired (${why})`);
        publish();
        return heldStatus(t, clock());
      }
      lose(`another write won the lease: ${back.view.kind === 'held' ? describeHolder(back.view.record) : back.view.kind}`);
    }
  };

  /** Writes a `released` record over our tenure's text. */
  const releaseTenure = async (t: Tenure): Promise<void> => {
    if (tenure === t) {
      tenure = null;
      clearTenureTimers();
      publish();
    }
    const record: LeaseRecord = { ...t.record, state: 'released', counter: t.counter + 1, writtenAt: new Date().toISOString() };
    let expected = t.text;
    for (let attempt = 0; attempt < 2; attempt++) {
      let result;
      try {
        result = await io.replaceIf(config.path, expected, serializeLease(record), T_io);
      } catch (error) {
        throw new FenceAgentError(
          'EFENCE',
          `could not write the released lease record (${errorLine(error)}); it goes stale instead: the peer may take it over ${seconds(config.takeoverAfterMs)} after its last change`,
        );
      }
      if (result.replaced) {
        log?.info({ lease: config.path }, 'lease released');
        return;
      }
      const view = parseLease(result.current);
      if (view.kind === 'held' && view.record.nonce === t.nonce) {
        expected = result.current ?? ''; // our own late refresh landed: release over it
        continue;
      }
      log?.warn({ lease: config.path }, 'lease no longer ours: nothing to release');
      return;
    }
  };

  const fence: LockfileFence = {
    describe: () => ({ method: 'lockfile', target: config.path, identity: identity.node, warnings: [...warnings] }),
    lastTakeover: () => takeover,

    acquire(signal) {
      return serial(async () => {
        const t = tenure;
        if (t !== null && t.confirmed && t.clock.mayWrite(clock())) return heldStatus(t, clock());
        if (t !== null) lose('the right to write ended before it was acquired again');
        acquiring = true;
        try {
          return await acquireLoop(signal);
        } finally {
          acquiring = false;
        }
      });
    },

    release() {
      return serial(async () => {
        const t = tenure;
        if (t !== null) {
          await releaseTenure(t);
          return;
        }
        // Not held by this process: release only what names this node and no live daemon of ours.
        const { text, view } = await read();
        if (view.kind !== 'held' || !sameIdentity(view.record, identity)) return;
        if (view.record.pid !== pid && alive(view.record.pid)) return;
        const record: LeaseRecord = { ...view.record, state: 'released', counter: view.record.counter + 1, pid, writtenAt: new Date().toISOString() };
        try {
          const result = await io.replaceIf(config.path, text, serializeLease(record), T_io);
          if (result.replaced) log?.info({ lease: config.path, left_by: view.record.pid }, 'lease left by this node released');
        } catch (error) {
          throw new FenceAgentError('EFENCE', `could not write the released lease record (${errorLine(error)})`);
        }
      });
    },

    async verify(timeoutMs = T_io) {
      const text = await io.read(config.path, timeoutMs);
      const now = clock();
      const view = parseLease(text);
      const base = { registrants: [] as string[] };
      if (view.kind === 'free') {
        return { ...base, held: false, holder: null, detail: `lease ${config.path} free${view.record === null ? '' : ` (released by ${view.record.node})`}` };
      }
      if (view.kind === 'unreadable') return { ...base, held: false, holder: 'unknown', detail: `lease ${config.path} holds an unreadable record (not a version 2 lease)` };
      const record = view.record;
      if (!sameIdentity(record, identity)) {
        return { ...base, held: false, holder: record.node, detail: `lease ${config.path} held by ${describeHolder(record)}${record.node === identity.node ? ' (same node name, another boot or machine)' : ''}` };
      }
      // The record names this node. Held only by a live tenure with this nonce and right to write.
      const t = tenure;
      if (t !== null && t.nonce === record.nonce) return heldStatus(t, now);
      const published = runDir === null ? null : readTenureFile(runDir, identity.bootId);
      const pub = published?.tenure;
      if (published !== null && pub && pub.nonce === record.nonce && alive(published.pid)) {
        const left = pub.rightEndsAtMs - now;
        return left >= 0
          ? { ...base, held: true, holder: identity.node, detail: `lease ${config.path} held by ${describeHolder(record)}; right to write ${seconds(left)} more` }
          : { ...base, held: false, holder: identity.node, detail: `lease ${config.path} names this node but its right to write ended ${seconds(-left)} ago (no good refresh since)` };
      }
      if (record.pid !== pid && !alive(record.pid)) {
        return { ...base, held: false, holder: identity.node, detail: `lease ${config.path} names ${describeHolder(record)}, a daemon of this node that is gone` };
      }
      return { ...base, held: false, holder: identity.node, detail: `lease ${config.path} names ${describeHolder(record)}, not a tenure this node holds now` };
    },

    onLost(listener) {
      listeners.push(listener);
    },

    start() {
      halted = false;
      if (background) return;
      background = true;
      publish();
      const observe = (): void => {
        observeTimer = setTimeout(() => {
          if (!background) return;
          if (tenure !== null || acquiring) {
            observe();
            return;
          }
          read()
            .catch(() => undefined)
            .finally(observe);
        }, config.updateMs);
        observeTimer.unref();
      };
      observe();
    },

    stop() {
      background = false;
      halted = true;
      if (observeTimer !== null) clearTimeout(observeTimer);
      observeTimer = null;
      clearTenureTimers();
    },

    mayWrite: () => tenure !== null && tenure.clock.mayWrite(clock()),
    holding: () => tenure !== null,

    async refreshNow() {
      const t = tenure;
      if (t === null || !t.confirmed) return false;
      // a timer's refresh in flight would make ours find its write and adopt it (t_g unchanged)
      await timerRefresh?.catch(() => undefined);
      const before = t.clock.lastGoodStartMs;
      await refresh().catch(() => undefined);
      return tenure === t && t.clock.lastGoodStartMs !== before;
    },

    tenureTimes() {
      const t = tenure;
      if (t === null || t.clock.lastGoodStartMs === null) return null;
      return { lastGoodStartMs: t.clock.lastGoodStartMs, rightEndsAtMs: t.clock.rightEndsAtMs ?? 0, deadByMs: t.clock.deadByMs ?? 0, counter: t.counter };
    },
    observedUnchangedMs: () => observer.unchangedForMs(clock()),
    addWarnings(lines) {
      warnings.push(...lines);
      publish();
    },
  };
  return fence;
}
