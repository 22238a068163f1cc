// Runs the steps of one transition: each under its own deadline, each logged at start and end
// (tid, step, duration_ms, outcome) and recorded in the transition record, which the daemon
// persists after every change so that `check` and `status` see progress.
import { withDeadline } from '../deadline.ts';
import { errorLine } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { StepRecord, TransitionRecord } from '../state.ts';

/** A step's own result: done, or nothing to do because the node was already there. */
export type StepResult = 'ok' | 'skipped';

/** How long a step that hit its deadline may take to stop before the transition moves on. */
export const SETTLE_GRACE_MS = 5000;

export class StepRunner {
  /**
   * @param abort aborted by the daemon when the whole transition must stop at once (fence lost):
   *   the running step rejects with its reason, no later step starts
   */
  constructor(
    readonly record: TransitionRecord,
    private readonly log: Logger,
    private readonly changed: () => void,
    readonly abort: AbortSignal = new AbortController().signal,
  ) {}

  /**
   * Runs one step under `deadlineMs` (and `also`, e.g. the whole promotion's deadline). Resolves
   * with the step's result, or rejects with its error (a `DeadlineError`, code `EDEADLINE`, when it
   * ran out of time; the abort reason when {@link abort} or `also` fired) after recording it.
   */
  async step(name: string, deadlineMs: number, work: (signal: AbortSignal) => Promise<StepResult>, also?: AbortSignal): Promise<StepResult> {
    const started = performance.now();
    const entry: StepRecord = { name, startedAt: new Date().toISOString(), deadlineMs, durationMs: null, outcome: 'running', detail: null };
    this.record.steps.push(entry);
    this.changed();
    this.log.info({ tid: this.record.id, step: name, deadline_ms: deadlineMs }, `${name}: start`);
    const finish = (outcome: StepRecord['outcome'], detail: string | null): number => {
      entry.durationMs = Math.round(performance.now() - started);
      entry.outcome = outcome;
      entry.detail = detail;
      this.changed();
      return entry.durationMs;
    };
    try {
      const result = await withDeadline(name, deadlineMs, work, { settleGraceMs: SETTLE_GRACE_MS, outer: also === undefined ? this.abort : AbortSignal.any([this.abort, also]) });
      const duration = finish(result, null);
      this.log.info({ tid: this.record.id, step: name, duration_ms: duration, outcome: result }, `${name}: ${result}`);
      return result;
    } catch (error) {
      const detail = errorLine(error);
      const duration = finish('failed', detail);
      const code = (error as { code?: unknown } | null)?.code;
      if (typeof code === 'string') entry.code = code;
      this.log.error({ tid: this.record.id, step: name, duration_ms: duration, outcome: 'failed', err: detail }, `${name}: failed: ${detail}`);
      throw error;
    }
  }
}
