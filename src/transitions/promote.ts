// promote (DESIGN §4): acquire the fence → mount → start mysqld → wait until it answers SQL.
// A failed step rolls back what was done, in reverse order, through the demotion steps, leaving a
// clean BACKUP (`rolled-back`) or, if even that fails, a fenced-in node (`failed`).
import type { Config } from '../config/types.ts';
import { mountDisk } from '../disk/mount.ts';
import { FenceAgentError, errorLine } from '../errors.ts';
import { startMysqld, waitSqlReady } from '../mysqld/start.ts';
import type { TransitionOutcome } from '../state.ts';
import { demote, type TransitionContext } from './demote.ts';
import type { StepRunner } from './steps.ts';

/** Sum of the promotion step deadlines, ms (the time `check` allows a promotion). */
export const promoteDeadlineMs = (config: Config): number =>
  config.deadlines.fenceAcquireMs + config.deadlines.mountMs + config.deadlines.mysqldStartMs + config.deadlines.sqlReadyMs;

/** Runs the promotion steps, rolling back on failure. Never throws. */
export async function promote(ctx: TransitionContext, run: StepRunner): Promise<TransitionOutcome> {
  const { config, fence } = ctx;
  const { deadlines } = config;
  try {
    await run.step('fence.acquire', deadlines.fenceAcquireMs, async (signal) => {
      const before = await fence.verify();
      if (before.held !== false) return 'skipped'; // held already, or method none
      const after = await fence.acquire(signal);
      if (after.held === false) throw new FenceAgentError('EFENCE', `fence not held after acquire: ${after.detail}`);
      return 'ok';
    });
    await run.step('mount', deadlines.mountMs, async (signal) => {
      // S2: mount only while holding the fence — read it back right before mounting.
      const fenceNow = await fence.verify();
      if (fenceNow.held === false) throw new FenceAgentError('EFENCE', `fence lost before mount: ${fenceNow.detail}`);
      return mountDisk(config, signal);
    });
    await run.step('mysqld.start', deadlines.mysqldStartMs, (signal) => startMysqld(config, signal));
    await run.step('mysqld.sql-ready', deadlines.sqlReadyMs, (signal) => waitSqlReady(config, signal));
    return 'ok';
  } catch (error) {
    run.record.error = `promotion failed: ${errorLine(error)}`;
    ctx.log.error({ tid: run.record.id }, `${run.record.error}; rolling back`);
    return (await demote(ctx, run, 'rollback:')) === 'ok' ? 'rolled-back' : 'failed';
  }
}
