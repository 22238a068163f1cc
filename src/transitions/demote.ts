// demote (DESIGN §4): stop mysqld → unmount (with escalation, verified: the filesystem gone from
// the kernel) → release the fence. If the unmount cannot be verified the fence is NOT released:
// the node stays fenced-in and the transition fails loudly. Also used, with a `rollback:` prefix,
// to undo a failed promotion.
//
// Mode `fenced` is the self-fence after the fence was lost (DESIGN §5): SIGKILL mysqld at once,
// SIGKILL what uses the mountpoint and detach it lazily if it must, drop the VIP, wait for the
// filesystem to be gone; release only what still names this node.
import type { Config } from '../config/types.ts';
import { unmountDisk } from '../disk/unmount.ts';
import { errorLine } from '../errors.ts';
import type { Logger } from '../log.ts';
import { stopMysqld } from '../mysqld/stop.ts';
import { findMysqld, mysqldSelector } from '../probes/mysqld.ts';
import { probeVip } from '../probes/vip.ts';
import { run } from '../run.ts';
import type { Fence } from '../../fence/types.ts';
import type { StepRunner } from './steps.ts';

/** What a transition works with. */
export interface TransitionContext {
  config: Config;
  fence: Fence;
  log: Logger;
  /** opens the watchdog before the fence is acquired (promotion); absent = no watchdog */
  armWatchdog?: () => void;
  /**
   * aborted when keepalived has taken the node out of MASTER while the promotion has not mounted
   * yet (a newer BACKUP/FAULT/STOP request): the watchdog and fence steps stop and the promotion
   * rolls back instead of waiting out `deadlines.fenceAcquireMs` for a role it no longer has
   */
  superseded?: AbortSignal;
  /**
   * aborted when the daemon is stopping (SIGTERM, `systemctl stop`; issue 11 §9): every forward
   * step of a promotion stops and it rolls back, so the stop takes a demotion's time, not the rest
   * of a promotion that may outlast systemd's `TimeoutStopSec` (then SIGKILL, mysqld left behind)
   */
  stopping?: AbortSignal;
  /** called right before mounting: from here on the node may write, so the watchdog is petted only while the fence allows it */
  beforeMount?: () => void;
  /**
   * called as soon as the unmount step succeeded and no mysqld is left, before the fence is
   * released: the filesystem is gone from the kernel, so the watchdog may be petted again at once. A self-fence whose lease
   * storage hangs would otherwise wait out the release's I/O bound with the watchdog unpetted and
   * be reset although nothing can write any more (measured in the two-VM lab).
   */
  afterUnmount?: () => Promise<void>;
}

export type DemoteMode = 'graceful' | 'fenced';

/** Sum of the demotion step deadlines, ms (the time `check` allows a demotion). */
export const demoteDeadlineMs = (config: Config): number =>
  config.deadlines.mysqldStopMs + config.deadlines.unmountMs + config.deadlines.fenceReleaseMs;

/** Takes the VIP off its interface (`ip addr del`); keepalived's FAULT follows from the failing check. */
async function dropVip(config: Config, signal: AbortSignal, log: Logger): Promise<'ok' | 'skipped'> {
  const { address, prefix, interface: ifname } = config.vip;
  if (!probeVip(config.vip).held) return 'skipped';
  const result = await run(['ip', 'addr', 'del', `${address}/${prefix}`, 'dev', ifname], signal);
  if (result.exitCode !== 0) {
    log.warn({ stderr: result.stderr.trim() }, `could not drop the VIP ${address}`);
    throw new Error(`ip addr del ${address}/${prefix} dev ${ifname}: ${result.stderr.trim()}`);
  }
  log.warn(`VIP ${address} dropped from ${ifname}`);
  return 'ok';
}

/**
 * Runs the demotion steps. Resolves `ok` (clean BACKUP: mysqld gone, filesystem gone from the
 * kernel) or `failed` (with `run.record.error` set); never throws. `failed` after an unverified
 * unmount means the fence was kept. A release that cannot be written after a verified unmount is
 * recorded but does not fail the demotion: the node writes nothing, and the lease goes stale.
 * `options.dropVip`: a graceful demotion that takes the VIP off first (keepalived is gone and left it).
 */
export async function demote(ctx: TransitionContext, run_: StepRunner, prefix = '', mode: DemoteMode = 'graceful', options: { dropVip?: boolean } = {}): Promise<'ok' | 'failed'> {
  const { config, fence, log } = ctx;
  const { deadlines } = config;
  const fail = (why: string): 'failed' => {
    run_.record.error = run_.record.error === null ? why : `${run_.record.error}; ${why}`;
    return 'failed';
  };
  // keepalived gone (daemon/keepalived-watch.ts): nobody else takes its VIP off; clients first
  if (mode === 'graceful' && options.dropVip === true) await run_.step(`${prefix}vip.drop`, 5000, (signal) => dropVip(config, signal, log)).catch(() => undefined);
  // A failed stop is not the end: the unmount escalation kills whatever still uses the disk.
  await run_
    .step(`${prefix}${mode === 'fenced' ? 'mysqld.kill' : 'mysqld.stop'}`, deadlines.mysqldStopMs, (signal) => stopMysqld(config, signal, log, mode))
    .catch(() => undefined);
  if (mode === 'fenced') await run_.step(`${prefix}vip.drop`, 5000, (signal) => dropVip(config, signal, log)).catch(() => undefined);
  try {
    await run_.step(`${prefix}unmount`, deadlines.unmountMs, (signal) => unmountDisk(config, signal, log, mode));
  } catch (error) {
    log.fatal({ tid: run_.record.id }, `unmount of ${config.disk.mountpoint} not verified: keeping the fence (fenced-in); demoting again every ${config.monitor.fencedInRetryMs} ms once keepalived has left MASTER (monitor.fencedInRetryMs) — find what holds the filesystem`);
    return fail(`unmount not verified (${errorLine(error)}): fence kept, node fenced-in`);
  }
  const left = await findMysqld(mysqldSelector(config));
  if (left.pids.length > 0) return fail(`mysqld ${left.pids.join(', ')} still running after the unmount`);
  await ctx.afterUnmount?.();
  try {
    await run_.step(`${prefix}fence.release`, deadlines.fenceReleaseMs, async (signal) => {
      // release only what names this node: held, lost but still naming us, or left by our own dead
      // daemon — for scsi-pr also our key still registered without the reservation (a BACKUP must
      // not be a registrant: under WERO a registrant may write)
      if (!fence.holding()) {
        const before = await fence.verify();
        const me = fence.describe().identity;
        if (before.held !== true && before.holder !== config.node && before.holder !== me && !before.registrants.includes(me)) return 'skipped';
      }
      await fence.release(signal);
      return 'ok';
    });
  } catch (error) {
    const why = `fence release failed after a verified unmount (${errorLine(error)})`;
    log.warn({ tid: run_.record.id }, `${why}; the node writes nothing, the lease goes stale`);
    run_.record.error = run_.record.error === null ? why : `${run_.record.error}; ${why}`;
  }
  return 'ok';
}
