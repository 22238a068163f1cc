// demote (DESIGN §4): stop mysqld → unmount (with escalation, verified) → release the fence.
// If the unmount cannot be verified the fence is NOT released: the node stays fenced-in and the
// transition fails loudly. Also used, with a `rollback:` prefix, to undo a failed promotion.
import type { Config } from '../config/types.ts';
import { unmountDisk } from '../disk/unmount.ts';
import { errorLine } from '../errors.ts';
import type { Logger } from '../log.ts';
import { stopMysqld } from '../mysqld/stop.ts';
import { findMysqld, mysqldSelector } from '../probes/mysqld.ts';
import type { Fence } from '../../fence/types.ts';
import type { StepRunner } from './steps.ts';

/** What a transition works with. */
export interface TransitionContext {
  config: Config;
  fence: Fence;
  log: Logger;
}

/** Sum of the demotion step deadlines, ms (the time `check` allows a demotion). */
export const demoteDeadlineMs = (config: Config): number =>
  config.deadlines.mysqldStopMs + config.deadlines.unmountMs + config.deadlines.fenceReleaseMs;

/**
 * Runs the demotion steps. Resolves `ok` (clean BACKUP) or `failed` (with `run.record.error`
 * set); never throws. `failed` after an unverified unmount means the fence was kept.
 */
export async function demote(ctx: TransitionContext, run: StepRunner, prefix = ''): Promise<'ok' | 'failed'> {
  const { config, fence, log } = ctx;
  const { deadlines } = config;
  const fail = (why: string): 'failed' => {
    run.record.error = run.record.error === null ? why : `${run.record.error}; ${why}`;
    return 'failed';
  };
  // A failed stop is not the end: the unmount escalation kills whatever still uses the disk.
  await run.step(`${prefix}mysqld.stop`, deadlines.mysqldStopMs, (signal) => stopMysqld(config, signal, log)).catch(() => undefined);
  try {
    await run.step(`${prefix}unmount`, deadlines.unmountMs, (signal) => unmountDisk(config, signal, log));
  } catch (error) {
    log.fatal({ tid: run.record.id }, `unmount of ${config.disk.mountpoint} not verified: keeping the fence (fenced-in); operator action needed`);
    return fail(`unmount not verified (${errorLine(error)}): fence kept, node fenced-in`);
  }
  const left = await findMysqld(mysqldSelector(config));
  if (left.pids.length > 0) return fail(`mysqld ${left.pids.join(', ')} still running after the unmount`);
  try {
    await run.step(`${prefix}fence.release`, deadlines.fenceReleaseMs, async (signal) => {
      const before = await fence.verify();
      // release when the fence names this node: held, or left by our own dead daemon
      if (before.held !== true && before.holder !== config.node) return 'skipped';
      await fence.release(signal);
      return 'ok';
    });
  } catch (error) {
    return fail(`fence release failed (${errorLine(error)})`);
  }
  return 'ok';
}

