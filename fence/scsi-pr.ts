// Fencing method `scsi-pr`: SCSI-3 persistent reservations (SPC-4 §5.13) on the shared LU, so the
// storage itself refuses writes from a node whose key was removed — a paused VM or a hung
// hypervisor that resumes can no longer write, whatever its clocks say. Reservation type 5, Write
// Exclusive – Registrants Only (WERO): every registrant may write, so
//
//     registered ⟺ may write ⟺ MASTER
//
// and a BACKUP is unregistered. A node that registers finishes the take-over or unregisters again.
//
// acquire (the promotion's fence step), in this order:
//   1. TEST UNIT READY through pending unit attentions (≤ 5 tries, fence_scsi does the same);
//   2. read keys and reservation. Ours alone and reserved WERO: held (idempotent). Another key
//      registered: ask the heartbeat (ext4 MMP, fence/scsi-pr/mmp.ts) *before* registering: a
//      holder whose kernel still writes it is alive (a cluster-link partition): no preempt,
//      EHOLDERALIVE "holder alive", the promotion rolls back (the daemon holds down: issue 9 §2);
//   3. REGISTER AND IGNORE EXISTING KEY with our key (clears a stale registration of our own);
//   4. no reservation: RESERVE WERO — and when no key was registered but the filesystem's MMP
//      block is not clean (a holder whose registration is gone: `fence clear`, a target that lost
//      its PR state), wait `drainMs`, then reset the heartbeat (readHeartbeat, clearHeartbeat), or
//      the kernel's mount waits out the gone holder's check interval. Other keys: PREEMPT AND ABORT each, falling back to PREEMPT
//      on ILLEGAL REQUEST (tgtd), and then wait `drainMs`, since the victim's queued commands were
//      not aborted;
//   5. read back: held only when the reservation is ours, WERO, and no other key is registered.
//      Any PR OUT that failed or timed out is followed by this read-back (a killed sg_persist may
//      have executed). Not held → unregister again, EFENCE.
// release: unregister (the reservation goes with it); call only once the filesystem is gone.
// watch (start(), while held): read keys every `watchIntervalMs`; our key gone or a reservation
// conflict → fence lost (listeners: the daemon SIGKILLs mysqld and self-fences). A read that
// times out is "unknown", never "lost" and never "held anew": it is reported, and the next read
// decides. No keys at all plus a power-on/reset unit attention is a target restart (tgtd keeps no
// reservations across one), not a preemption: re-register, re-reserve, read back, log loudly.
import { FenceAgentError, errorLine } from '../src/errors.ts';
import { monoNow } from '../src/clock.ts';
import { formatKey } from './scsi-pr/key.ts';
import type { HolderVerdict } from './scsi-pr/mmp.ts';
import { PrCommandError, WERO, type PrDevice, type PrKeys, type PrReservation } from './scsi-pr/sg-persist.ts';
import { takenOverBy } from './scsi-pr/state-file.ts';
import type { Fence, FenceLostListener, FenceStatus, Takeover } from './types.ts';
import type { FenceLog } from './lockfile.ts';

export interface ScsiPrOptions {
  /** the LU's PR commands (fence/scsi-pr/sg-persist.ts) */
  device: PrDevice;
  /** this node's reservation key (fence/scsi-pr/key.ts) */
  key: bigint;
  /**
   * Is the current holder's kernel still writing to the disk? (fence/scsi-pr/mmp.ts watchHolder on
   * the partition). Called before preempting another key; `alive`/`fsck` → no preempt.
   */
  checkHolder: (signal: AbortSignal) => Promise<HolderVerdict>;
  /**
   * After a silent holder's key was preempted and the take-over confirmed: reset its heartbeat
   * (fence/scsi-pr/mmp.ts clearMmp), so the kernel's mount does not wait out the dead holder's
   * MMP interval again. A failure is logged, not thrown: the mount then waits (or fails on its
   * deadline and the promotion rolls back).
   */
  clearHeartbeat?: (signal: AbortSignal) => Promise<void>;
  /**
   * One read of the filesystem's heartbeat (fence/scsi-pr/mmp.ts heartbeatNow), asked when the LU
   * is free (no key registered): an unclean MMP block there was left by a holder whose registration
   * is gone (a `fence clear` after it died, a target that lost its PR state), and the kernel's
   * mount would wait out its last check interval (85 s seen under TCG: past the mount's deadline,
   * at every attempt). Then: reserve first (the storage now refuses any other writer), wait
   * `drainMs`, reset the heartbeat. `fsck` refuses (EHOLDERALIVE). `mounted-here`: this node's
   * own kernel has the filesystem (a restarted daemon retaking the fence): never reset under it.
   * Unset: not asked.
   */
  readHeartbeat?: (signal: AbortSignal) => Promise<{ state: 'clean' | 'fsck' | 'unclean' | 'mounted-here'; block: { nodename: string } }>;
  /** after a plain PREEMPT (no ABORT), wait this long before the caller mounts, ms */
  drainMs: number;
  /** how often the daemon reads the keys back while it holds the fence, ms (≤ 1000) */
  watchIntervalMs: number;
  /** the bound on one PR command, ms (the age a watch read may have and still count fresh); default 3000 */
  commandTimeoutMs?: number;
  /** register with APTPL (the target keeps registrations through a power loss); `auto`: when REPORT CAPABILITIES says PTPL_C (read once) */
  aptpl?: boolean | 'auto';
  log?: FenceLog | null;
  /**
   * The daemon: called with its view after every change and every read of the watch, for
   * `check` and `status` in other processes (fence/scsi-pr/state-file.ts). Must not throw.
   */
  publish?: (view: PublishedView) => void;
  /**
   * `check` and `status`: the daemon's fresh published status, or null to read the LU
   * (fence/scsi-pr/state-file.ts cachedPrStatus). Absent: always read the LU (`status --live`).
   */
  cached?: () => FenceStatus | null;
}

/** What the daemon publishes (fence/scsi-pr/state-file.ts PrStateFile without its envelope). */
export interface PublishedView {
  held: boolean;
  status: FenceStatus | null;
  readAtMs: number | null;
  lost: { reason: string; atMs: number } | null;
  lastPreempt: 'preempt-and-abort' | 'preempt' | null;
}

export interface ScsiPrFence extends Fence {
  /** how the last successful acquire removed the other key, for `status`; null: there was none to remove */
  /** see Fence.dropStrayRegistration */
  dropStrayRegistration(): Promise<string | null>;
  lastPreempt(): 'preempt-and-abort' | 'preempt' | null;
  /** see Fence.lastTakeover */
  lastTakeover(): Takeover | null;
}

/** the sense of a unit attention after a power-on or reset of the LU (SPC-4 ASC 29h): a target restart */
const RESET_SENSE = /power on|reset/i;

/** Builds the `scsi-pr` fence. */
export function createScsiPrFence(options: ScsiPrOptions): ScsiPrFence {
  const { device, key } = options;
  const ours = formatKey(key);
  const log = options.log ?? null;
  const listeners: FenceLostListener[] = [];
  let held = false;
  /** acquires running (see dropStrayRegistration) */
  let acquiring = 0;
  let preempted: 'preempt-and-abort' | 'preempt' | null = null;
  /** see Fence.lastTakeover: set by each acquire that completes */
  let takeover: Takeover | null = null;
  let watchTimer: NodeJS.Timeout | null = null;
  let stopped = true;
  let lost: PublishedView['lost'] = null;
  /** monotonic ms of the last read (acquire's read-back or the watch's) that showed our key the only one registered; null: none since held */
  let aloneAtMs: number | null = null;
  const publish = (status: FenceStatus | null, readAtMs: number | null): void => {
    options.publish?.({ held, status: held ? status : null, readAtMs: held ? readAtMs : null, lost, lastPreempt: preempted });
  };

  /** APTPL for REGISTER: as configured, or for `auto` what REPORT CAPABILITIES said (PTPL_C), asked once; false if it cannot be read */
  let aptplFound: Promise<boolean> | null = null;
  const aptpl = (): Promise<boolean> => {
    if (options.aptpl !== 'auto') return Promise.resolve(options.aptpl === true);
    aptplFound ??= device.reportCapabilities().then(
      (caps) => {
        log?.info({ device: device.device, ptpl_capable: caps.ptplCapable, ptpl_active: caps.ptplActive }, `REPORT CAPABILITIES: ${caps.ptplCapable ? 'the target keeps registrations through its power loss (PTPL_C): registering with APTPL' : 'no PTPL_C: registering without APTPL'}`);
        return caps.ptplCapable;
      },
      (error: unknown) => {
        log?.warn({ device: device.device, err: errorLine(error) }, 'REPORT CAPABILITIES failed: registering without APTPL this time');
        aptplFound = null; // asked again at the next registration
        return false;
      },
    );
    return aptplFound;
  };

  const statusOf = (keys: PrKeys, reservation: PrReservation): FenceStatus => {
    const registrants = keys.keys.map(formatKey);
    const holder = reservation.holder === null ? null : formatKey(reservation.holder.key);
    const mine = reservation.holder?.key === key && reservation.holder.type === WERO && keys.keys.includes(key) && keys.keys.every((k) => k === key);
    const type = reservation.holder === null ? '' : reservation.holder.type === WERO ? ' WERO' : ` type ${reservation.holder.type}`;
    return {
      held: mine,
      holder,
      registrants,
      detail: `${device.device}: ${holder === null ? 'no reservation' : `reserved${type} by ${holder}${holder === ours ? ' (this node)' : ''}`}; keys ${registrants.length === 0 ? 'none' : registrants.join(', ')} (generation ${keys.generation})`,
    };
  };

  const readBack = async (): Promise<FenceStatus> => {
    const keys = await device.readKeys();
    const reservation = await device.readReservation();
    return statusOf(keys, reservation);
  };

  /** A PR OUT whose failure is followed by the read-back rather than trusted. */
  const attempt = async (what: string, run: () => Promise<void>): Promise<PrCommandError | null> => {
    try {
      await run();
      return null;
    } catch (error) {
      if (!(error instanceof PrCommandError)) throw error;
      log?.warn({ err: errorLine(error), device: device.device }, `${what} failed; reading the keys back`);
      return error;
    }
  };

  const unregisterQuietly = async (why: string): Promise<void> => {
    const failed = await attempt('unregister', () => device.unregister(key));
    log?.warn({ device: device.device, why }, failed === null ? `unregistered ${ours}: ${why}` : `could not unregister ${ours} (${errorLine(failed)}): ${why}`);
  };

  const lose = (reason: string): void => {
    if (!held) return;
    held = false;
    lost = { reason, atMs: monoNow() };
    publish(null, null);
    log?.error({ device: device.device, reason }, `FENCE LOST: ${reason}`);
    for (const listener of listeners) listener(reason);
  };

  const watchOnce = async (): Promise<void> => {
    let keys: PrKeys;
    const readStarted = monoNow();
    try {
      keys = await device.readKeys();
    } catch (error) {
      if (error instanceof PrCommandError && error.code === 'EPRCONFLICT') return lose(`reservation conflict reading the keys of ${device.device}`);
      if (error instanceof PrCommandError && error.code === 'EPRUNITATTENTION') {
        // one unit attention per command: the next read says what changed
        log?.warn({ device: device.device, sense: error.sense }, `unit attention on ${device.device}: ${error.sense ?? 'unknown'}`);
        return;
      }
      log?.warn({ err: errorLine(error), device: device.device }, 'reading the keys failed: fence state unknown until the next read');
      return;
    }
    // released meanwhile (release sets held first): an empty list is our own unregister
    if (!held) return;
    if (keys.keys.includes(key)) {
      const registrants = keys.keys.map(formatKey);
      aloneAtMs = keys.keys.every((k) => k === key) ? readStarted : null;
      publish({ held: true, holder: ours, registrants, detail: `${device.device}: key ${ours} registered (this node); keys ${registrants.join(', ')} (generation ${keys.generation})` }, readStarted);
      return;
    }
    if (keys.keys.length > 0) return lose(`key ${ours} removed from ${device.device}: now registered ${keys.keys.map(formatKey).join(', ')} (preempted)`);
    // no keys at all: a target restart (tgtd keeps none) or a CLEAR. A preemption leaves the
    // preempter's key; nobody is registered, so nobody else can write: take it back, loudly.
    log?.error({ device: device.device }, `no key registered on ${device.device} any more (target restarted?): registering and reserving again`);
    const withAptpl = await aptpl();
    const failed = (await attempt('register', () => device.registerIgnore(key, withAptpl))) ?? (await attempt('reserve', () => device.reserve(key)));
    const status = await readBack().catch(() => null);
    if (status?.held !== true) return lose(`key ${ours} gone from ${device.device} and not re-registered${failed === null ? '' : ` (${errorLine(failed)})`}: ${status?.detail ?? 'state unknown'}`);
    log?.error({ device: device.device }, `re-registered and reserved ${device.device} after the keys were lost: ${status.detail}`);
  };

  const scheduleWatch = (): void => {
    if (stopped || !held) return;
    watchTimer = setTimeout(() => {
      watchTimer = null;
      void watchOnce().finally(scheduleWatch);
    }, options.watchIntervalMs);
  };

  const acquireOnce = async (signal: AbortSignal): Promise<FenceStatus> => {
    const resets = (await device.clearUnitAttentions()).filter((sense) => RESET_SENSE.test(sense));
    if (resets.length > 0) log?.warn({ device: device.device, senses: resets }, `${device.device} was reset (target restart?): ${resets.join('; ')}`);
    signal.throwIfAborted();
    const keys = await device.readKeys();
    const before = statusOf(keys, await device.readReservation());
    if (before.held === true) {
      held = true;
      takeover = null;
      aloneAtMs = monoNow();
      publish(before, aloneAtMs);
      scheduleWatch();
      return before;
    }
    const others = [...new Set(keys.keys.filter((k) => k !== key))];
    let silentHolder = false;
    if (others.length > 0) {
      const verdict = await options.checkHolder(signal);
      silentHolder = verdict.state === 'silent';
      if (verdict.state === 'alive' || verdict.state === 'fsck') {
        if (before.registrants.includes(ours)) await unregisterQuietly('the holder is alive');
        throw new FenceAgentError('EHOLDERALIVE', `holder alive: the filesystem on ${device.device} is ${verdict.state === 'fsck' ? 'being checked by e2fsck' : `being updated by ${verdict.last.nodename || 'another node'} (MMP sequence moving)`}; not preempting ${others.map(formatKey).join(', ')} (${before.detail})`);
      }
      log?.warn({ device: device.device, verdict: verdict.state, waited_ms: verdict.waitedMs, last_writer: verdict.last.nodename }, `holder ${verdict.state} (MMP): preempting ${others.map(formatKey).join(', ')}`);
    }
    // the LU free: is the filesystem's heartbeat clean? (an unclean one: see readHeartbeat)
    let staleHeartbeat: string | null = null;
    if (others.length === 0 && before.holder === null && options.readHeartbeat !== undefined) {
      // unreadable: go on without (the mount then waits, or fails on its deadline; the kernel
      // itself refuses a filesystem e2fsck holds)
      const heartbeat = await options.readHeartbeat(signal).catch((error: unknown) => {
        signal.throwIfAborted();
        log?.warn({ device: device.device, err: errorLine(error) }, `the filesystem's MMP block could not be read: taking the free LU without looking at its heartbeat`);
        return null;
      });
      if (heartbeat?.state === 'fsck') {
        if (before.registrants.includes(ours)) await unregisterQuietly('e2fsck runs on the filesystem');
        throw new FenceAgentError('EHOLDERALIVE', `e2fsck runs on the filesystem of ${device.device} (MMP), though nobody is registered: not taking it`);
      }
      if (heartbeat?.state === 'unclean') {
        staleHeartbeat = heartbeat.block.nodename || 'an unknown node';
        log?.warn({ device: device.device, last_writer: staleHeartbeat }, `no key registered on ${device.device}, yet its filesystem's MMP block is not clean (last written by ${staleHeartbeat}): a holder whose registration is gone; reserving first, then resetting the heartbeat`);
      }
    }
    signal.throwIfAborted();
    // From the register on, every way out but "held" unregisters again: a BACKUP is never a
    // registrant (under WERO a registrant may write).
    let after: FenceStatus;
    let failure: PrCommandError | null;
    let plain: boolean | null = null; // null: nobody preempted; true: PREEMPT without ABORT was used
    try {
      const withAptpl = await aptpl();
      failure = await attempt('register', () => device.registerIgnore(key, withAptpl));
      if (others.length === 0) {
        if (before.holder === null) failure ??= await attempt('reserve', () => device.reserve(key));
        if (staleHeartbeat !== null && failure === null) {
          // an unregistered writer's commands queued before the reservation
          await new Promise((resolve) => setTimeout(resolve, options.drainMs));
        }
      } else {
        plain = false;
        for (const victim of others) {
          let failed = await attempt('PREEMPT AND ABORT', () => device.preempt(key, victim, { abort: true }));
          if (failed?.code === 'EPRILLEGAL') {
            failed = await attempt('PREEMPT', () => device.preempt(key, victim, { abort: false }));
            if (failed === null) plain = true;
          }
          failure ??= failed;
        }
        // a victim that held no reservation leaves none: reserve it (already ours: a no-op)
        const reservation = await device.readReservation();
        if (reservation.holder === null) failure ??= await attempt('reserve', () => device.reserve(key));
        if (plain) {
          log?.warn({ device: device.device, drain_ms: options.drainMs }, `PREEMPT AND ABORT refused: preempted without abort; waiting ${options.drainMs} ms for the victim's queued commands to drain`);
          await new Promise((resolve) => setTimeout(resolve, options.drainMs));
        }
      }
      after = await readBack();
    } catch (error) {
      await unregisterQuietly(`the take-over failed: ${errorLine(error)}`);
      throw error;
    }
    if (after.held !== true) {
      await unregisterQuietly('the take-over did not complete');
      throw new FenceAgentError('EFENCE', `could not take the fence: ${after.detail}${failure === null ? '' : ` (${errorLine(failure)})`}`);
    }
    held = true;
    aloneAtMs = monoNow(); // held ⇒ read back with our key the only one
    // how the fence now held was taken: a later acquire without a peer to preempt says so
    preempted = plain === null ? null : plain ? 'preempt' : 'preempt-and-abort';
    takeover = preempted === null ? null : { from: others.map(formatKey).join(', '), detail: `${device.device}: key ${others.map(formatKey).join(', ')} preempted; ${takenOverBy(preempted)}` };
    publish(after, monoNow());
    if ((silentHolder || staleHeartbeat !== null) && options.clearHeartbeat !== undefined) {
      const whose = silentHolder ? "the preempted holder's" : `${staleHeartbeat}'s stale`;
      await options.clearHeartbeat(signal).then(
        () => log?.info({ device: device.device }, `${whose} MMP heartbeat reset to clean: the mount need not wait it out`),
        (error: unknown) => log?.warn({ err: errorLine(error), device: device.device }, `could not reset ${whose} MMP heartbeat: the mount waits out its interval`),
      );
    }
    log?.info({ device: device.device, preempt: preempted }, `fence held: ${after.detail}${preempted === null ? '' : `; ${takenOverBy(preempted)}`}`);
    scheduleWatch();
    return after;
  };

  const fence: ScsiPrFence = {
    describe: () => ({ method: 'scsi-pr', target: device.device, identity: ours, warnings: [] }),

    // counted while running: dropStrayRegistration never removes a registration an acquire made
    async acquire(signal) {
      acquiring++;
      try {
        return await acquireOnce(signal);
      } finally {
        acquiring--;
      }
    },

    async release() {
      held = false;
      publish(null, null);
      if (watchTimer !== null) clearTimeout(watchTimer);
      watchTimer = null;
      const failed = await attempt('unregister', () => device.unregister(key));
      const keys = await device.readKeys().catch((error: unknown) => {
        throw new FenceAgentError('EFENCE', `release of ${device.device}: keys unreadable after unregistering (${errorLine(error)})`);
      });
      if (keys.keys.includes(key)) throw new FenceAgentError('EFENCE', `release of ${device.device}: key ${ours} still registered${failed === null ? '' : ` (${errorLine(failed)})`}`);
    },

    // a unit attention (one per command, per I_T nexus: a target restart, a peer's reservation
    // change) says nothing about the keys: read again, at most three times
    async verify() {
      const cached = options.cached?.() ?? null;
      if (cached !== null) return cached;
      for (let attempt = 1; ; attempt++) {
        try {
          return await readBack();
        } catch (error) {
          if (attempt >= 3 || !(error instanceof PrCommandError) || error.code !== 'EPRUNITATTENTION') throw error;
        }
      }
    },
    onLost: (listener) => void listeners.push(listener),
    start() {
      stopped = false;
      publish(null, null);
      scheduleWatch();
    },
    stop() {
      stopped = true;
      if (watchTimer !== null) clearTimeout(watchTimer);
      watchTimer = null;
    },
    async dropStrayRegistration() {
      if (held || acquiring > 0) return null;
      let keys: PrKeys;
      try {
        keys = await device.readKeys();
      } catch (error) {
        log?.warn({ err: errorLine(error), device: device.device }, 'reading the keys for a stray registration of this node failed: asked again later');
        return null;
      }
      // a promotion started while the keys were read: the registration is its own
      if (held || acquiring > 0 || !keys.keys.includes(key)) return null;
      const failed = await attempt('unregister', () => device.unregister(key));
      const after = await device.readKeys().catch(() => null);
      const gone = after !== null && !after.keys.includes(key);
      const line = gone
        ? `unregistered this node's stray key ${ours} from ${device.device}: registered while not MASTER (registered ⟺ MASTER); keys now ${after.keys.length === 0 ? 'none' : after.keys.map(formatKey).join(', ')}`
        : `this node's key ${ours} is registered on ${device.device} while not MASTER, and unregistering it failed (${failed === null ? 'still listed' : errorLine(failed)}): tried again later`;
      if (gone) log?.error({ device: device.device }, line);
      else log?.warn({ device: device.device }, line);
      return gone ? line : null;
    },
    mayWrite: () => held,
    holding: () => held,
    // the watch's last read, if no older than two watch intervals and a command bound
    registeredAlone: () => held && aloneAtMs !== null && monoNow() - aloneAtMs <= 2 * options.watchIntervalMs + (options.commandTimeoutMs ?? 3000),
    lastPreempt: () => preempted,
    lastTakeover: () => takeover,
  };
  return fence;
}
