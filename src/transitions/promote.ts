// promote (DESIGN §4): open the watchdog → acquire the fence → mount → start mysqld → wait until it
// answers SQL. A failed step rolls back what was done, in reverse order, through the demotion
// steps, leaving a clean BACKUP (`rolled-back`) or, if even that fails, a fenced-in node (`failed`).
// A promotion superseded by a newer BACKUP request before its mount (the fence still being waited
// for) rolls back the same way (`ESUPERSEDED`).
// A promotion stopped because the fence was lost meanwhile (`EFENCELOST`) is `aborted` without a
// rollback: the daemon's self-fence demotion (mode fenced) follows at once.
import type { Config } from '../config/types.ts';
import { mountDisk } from '../disk/mount.ts';
import { DeadlineError } from '../deadline.ts';
import { FenceAgentError, errorLine } from '../errors.ts';
import { startMysqld, waitSqlReady } from '../mysqld/start.ts';
import type { TransitionOutcome } from '../state.ts';
import { demote, type TransitionContext } from './demote.ts';
import type { StepRunner } from './steps.ts';

/** The promotion's own deadline, ms (`deadlines.promoteMs`; the time `check` allows a promotion). */
export const promoteDeadlineMs = (config: Config): number => config.deadlines.promoteMs;

const isFenceLost = (error: unknown): boolean => error instanceof FenceAgentError && error.code === 'EFENCELOST';

/** Runs the promotion steps, rolling back on failure. Never throws. */
export async function promote(ctx: TransitionContext, run: StepRunner): Promise<TransitionOutcome> {
  const { config, fence } = ctx;
  const { deadlines } = config;
  // the whole promotion's deadline bounds the forward steps; the rollback gets its own step deadlines
  const overall = new AbortController();
  const overallTimer = setTimeout(() => overall.abort(new DeadlineError('promotion', deadlines.promoteMs)), deadlines.promoteMs);
  // the daemon stopping stops every forward step (TransitionContext.stopping); before the mount a
  // newer BACKUP request stops the promotion too (TransitionContext.superseded)
  const forward = ctx.stopping === undefined ? overall.signal : AbortSignal.any([overall.signal, ctx.stopping]);
  const beforeMount = ctx.superseded === undefined ? forward : AbortSignal.any([forward, ctx.superseded]);
  try {
    const armWatchdog = ctx.armWatchdog;
    if (armWatchdog !== undefined) {
      await run.step('watchdog.arm', 5000, () => {
        armWatchdog();
        return Promise.resolve('ok' as const);
      }, beforeMount);
    }
    await run.step('fence.acquire', deadlines.fenceAcquireMs, async (signal) => {
      const before = fence.holding() ? await fence.verify() : null;
      if (before !== null && before.held === true) return 'skipped'; // held already
      const after = await fence.acquire(signal);
      if (after.held === false) throw new FenceAgentError('EFENCE', `fence not held after acquire: ${after.detail}`);
      return after.held === null ? 'skipped' : 'ok'; // null: method none
    }, beforeMount);
    if (ctx.superseded?.aborted === true) throw ctx.superseded.reason; // acquired as the BACKUP request came: roll back, do not mount
    if (ctx.stopping?.aborted === true) throw ctx.stopping.reason; // acquired as the daemon began to stop: roll back, do not mount
    await run.step('mount', deadlines.mountMs, async (signal) => {
      // S2: mount only while holding the fence — by this node's own clock, right before mounting.
      if (fence.mayWrite() === false) throw new FenceAgentError('EFENCE', `fence not held before mount: ${(await fence.verify()).detail}`);
      ctx.beforeMount?.();
      return mountDisk(config, signal);
    }, forward);
    await run.step('mysqld.start', deadlines.mysqldStartMs, (signal) => startMysqld(config, signal), forward);
    await run.step('mysqld.sql-ready', deadlines.sqlReadyMs, (signal) => waitSqlReady(config, signal), forward);
    return 'ok';
  } catch (error) {
    if (isFenceLost(error) || isFenceLost(run.abort.reason)) {
      run.record.error = `promotion aborted: ${errorLine(run.abort.reason ?? error)}`;
      ctx.log.error({ tid: run.record.id }, `${run.record.error}; the self-fence follows`);
      return 'aborted';
    }
    run.record.error = `promotion failed: ${errorLine(error)}`;
    ctx.log.error({ tid: run.record.id }, `${run.record.error}; rolling back`);
    const rolledBack = await demote(ctx, run, 'rollback:');
    if (isFenceLost(run.abort.reason)) return 'aborted'; // lost during the rollback: the self-fence follows
    return rolledBack === 'ok' ? 'rolled-back' : 'failed';
  } finally {
    clearTimeout(overallTimer);
  }
}
