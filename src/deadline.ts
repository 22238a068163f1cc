import { FenceAgentError } from './errors.ts';

/** Raised when a bounded operation runs past its deadline: code `EDEADLINE`. */
export class DeadlineError extends FenceAgentError {
  readonly deadlineMs: number;
  constructor(what: string, deadlineMs: number) {
    super('EDEADLINE', `${what} did not finish within ${deadlineMs} ms`);
    this.deadlineMs = deadlineMs;
  }
}

/**
 * Runs `work` and rejects with a {@link DeadlineError} (code `EDEADLINE`) if it has not settled
 * after `deadlineMs`. The `AbortSignal` passed to `work` is aborted at the deadline so that
 * child processes and polls stop.
 *
 * With `settleGraceMs`, an expired call still waits up to that long for `work` to settle after
 * the abort before rejecting, so that a caller rolling back does not race a step that is still
 * finishing (a mount completing just after its deadline).
 *
 * With `outer`, an abort of that signal (the daemon aborting a whole transition because the fence
 * was lost) aborts `work` and rejects at once with the outer reason, without any settle grace.
 */
export async function withDeadline<T>(
  what: string,
  deadlineMs: number,
  work: (signal: AbortSignal) => Promise<T>,
  options: { settleGraceMs?: number; outer?: AbortSignal } = {},
): Promise<T> {
  const controller = new AbortController();
  const { outer } = options;
  if (outer?.aborted) throw outer.reason as Error;
  const settled = work(controller.signal).then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  let timer: NodeJS.Timeout | undefined;
  let onOuter: (() => void) | undefined;
  const expired = new Promise<'expired' | 'outer'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), deadlineMs);
    onOuter = () => resolve('outer');
    outer?.addEventListener('abort', onOuter, { once: true });
  });
  const first = await Promise.race([settled, expired]);
  clearTimeout(timer);
  if (onOuter !== undefined) outer?.removeEventListener('abort', onOuter);
  if (first === 'outer') {
    // the whole transition was aborted (the fence was lost): do not wait for this step at all
    controller.abort(outer?.reason);
    throw outer?.reason as Error;
  }
  if (first !== 'expired') {
    if ('error' in first) throw first.error;
    return first.value;
  }
  const error = new DeadlineError(what, deadlineMs);
  controller.abort(error);
  if ((options.settleGraceMs ?? 0) > 0) await Promise.race([settled, sleep(options.settleGraceMs ?? 0)]);
  throw error;
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Polls `probe` every `intervalMs` until it returns a value other than `undefined`, or until
 * `signal` aborts (rejecting with the abort reason, usually a {@link DeadlineError}).
 */
export async function pollUntil<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  intervalMs: number,
  signal: AbortSignal,
): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(intervalMs, signal);
  }
}
