// The event hook (`events.exec`): an executable the daemon runs once per event (./types.ts), with
// the event as one line of JSON on its stdin. Bounded and off every transition's path:
// - runs one at a time, in the order the events happened, from a queue of at most `maxQueued`
//   events; an event that finds the queue full is dropped (one warn line when dropping starts,
//   one with the count when the queue has drained);
// - each run bounded by `events.timeoutMs`: then SIGTERM to the hook and everything it started
//   (its own process group), SIGKILL KILL_GRACE_MS later; the daemon stops waiting for it
//   WAIT_SLACK_MS after that whatever happens;
// - a failure (exit ≠ 0, killed, could not run) is one warn line with the tail of its stderr;
//   nothing is thrown, nothing is retried.
// execa is imported at the first run (as fence/scsi-pr/mmp.ts does): `check` and `notify` never load it.
import { errorLine, oneLine } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { AgentEvent } from './types.ts';

/** After SIGTERM at the bound, how long the hook gets before SIGKILL, ms. */
export const KILL_GRACE_MS = 1000;
/** After SIGKILL, how long the daemon still waits for the hook's end before it moves on, ms. */
export const WAIT_SLACK_MS = 1000;
/** Events waiting for the hook; more are dropped. */
export const MAX_QUEUED = 100;
/** How long the daemon reads the hook's stderr after the hook exited, ms. */
const STDERR_AFTER_EXIT_MS = 200;
/** How much of the hook's stderr is kept for the log line, characters (the end of it). */
const STDERR_TAIL = 500;

/** How one run of the hook ended. */
export interface HookRun {
  /** the exit status, or null when it did not exit by itself (killed, could not run, did not end) */
  exitCode: number | null;
  /** the signal that ended it, e.g. `SIGKILL` */
  signal: string | null;
  /** it was still running at the bound */
  timedOut: boolean;
  /** why it could not run (`spawn … ENOENT`), or that it did not end; null otherwise */
  error: string | null;
  /** the end of what it wrote on stderr, one line */
  stderr: string;
  durationMs: number;
}

/** One line: how a run went (`exited 3`, `killed by SIGKILL at its 5000 ms bound`, `could not run: …`). */
export function describeRun(run: HookRun, timeoutMs: number): string {
  if (run.error !== null) return run.exitCode === null && run.signal === null && !run.timedOut ? `could not run: ${run.error}` : run.error;
  if (run.timedOut) return `killed${run.signal === null ? '' : ` by ${run.signal}`} at its ${timeoutMs} ms bound`;
  if (run.signal !== null) return `killed by ${run.signal}`;
  return run.exitCode === 0 ? 'ok' : `exited ${run.exitCode ?? 'unknown'}`;
}

/**
 * Runs `file` (no arguments, no shell, cwd `/`, the daemon's environment plus
 * `FENCE_AGENT_EVENT=<kind>`) with `event` as one JSON line on stdin; stdout is discarded. Never
 * rejects. `signal` (the daemon stopping) kills it at once.
 */
export async function runHook(file: string, event: AgentEvent, timeoutMs: number, signal?: AbortSignal): Promise<HookRun> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  let timedOut = false;
  let stderr = '';
  const timers: NodeJS.Timeout[] = [];
  let pid: number | undefined;
  // the whole process group: a hook's own children (curl, logger) are bounded with it
  const kill = (name: NodeJS.Signals): void => {
    try {
      if (pid !== undefined) process.kill(-pid, name);
    } catch {
      // already gone
    }
  };
  const onAbort = (): void => kill('SIGKILL');
  try {
    const { execa } = await import('execa');
    const child = execa(file, [], {
      input: `${JSON.stringify(event)}\n`,
      stdout: 'ignore',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      detached: true,
      cwd: '/',
      env: { FENCE_AGENT_EVENT: event.kind },
    });
    pid = child.pid;
    // a process the hook left behind in a session of its own (setsid) may hold its stderr open:
    // the run ends when the hook itself has exited, not when the last holder closes the pipe
    child.once('exit', () => {
      timers.push(setTimeout(() => child.stderr?.destroy(), STDERR_AFTER_EXIT_MS));
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted === true) onAbort();
    timers.push(
      setTimeout(() => {
        timedOut = true;
        kill('SIGTERM');
      }, timeoutMs),
      setTimeout(() => kill('SIGKILL'), timeoutMs + KILL_GRACE_MS),
    );
    let giveUp: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<null>((resolve) => {
      giveUp = setTimeout(() => resolve(null), timeoutMs + KILL_GRACE_MS + WAIT_SLACK_MS);
    });
    if (giveUp !== undefined) timers.push(giveUp);
    const result = (await Promise.race([child, gaveUp])) as { exitCode?: number; signal?: string; failed?: boolean; shortMessage?: string } | null;
    if (result === null) {
      child.stderr?.destroy(); // nothing of it is kept: the daemon holds no pipe for a hook it gave up on
      return { exitCode: null, signal: null, timedOut, error: `did not end ${timeoutMs + KILL_GRACE_MS + WAIT_SLACK_MS} ms after it started (SIGKILL sent); no longer waited for`, stderr: oneLine(stderr.trim()), durationMs: elapsed() };
    }
    const spawnFailed = result.exitCode === undefined && result.signal === undefined;
    return {
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      timedOut,
      error: spawnFailed ? oneLine(result.shortMessage ?? 'unknown error') : null,
      stderr: oneLine(stderr.trim()),
      durationMs: elapsed(),
    };
  } catch (error) {
    return { exitCode: null, signal: null, timedOut, error: errorLine(error), stderr: oneLine(stderr.trim()), durationMs: elapsed() };
  } finally {
    for (const timer of timers) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

export interface EventHookOptions {
  file: string;
  timeoutMs: number;
  log: Logger;
  /** default {@link MAX_QUEUED} */
  maxQueued?: number;
}

/** The queue in front of the hook: one run at a time, in order, bounded. */
export class EventHook {
  private readonly queue: AgentEvent[] = [];
  private running: Promise<void> | null = null;
  private dropped = 0;
  private stopped = false;
  private readonly stopping = new AbortController();

  constructor(private readonly options: EventHookOptions) {}

  /** Queues `event` for the hook; drops it when the queue is full or the hook stopped. Never throws, never waits. */
  enqueue(event: AgentEvent): void {
    if (this.stopped) {
      this.options.log.warn({ event: event.kind }, `events.exec: the daemon is stopping; ${event.kind} event not handed to the hook`);
      return;
    }
    if (this.queue.length >= (this.options.maxQueued ?? MAX_QUEUED)) {
      if (this.dropped === 0) this.options.log.warn({ queued: this.queue.length }, `events.exec: ${this.queue.length} events wait for the hook; dropping new ones until the queue drains`);
      this.dropped++;
      return;
    }
    this.queue.push(event);
    this.pump();
  }

  /** Starts the drain unless it runs; again after it ended if an event came in at its very end. */
  private pump(): void {
    this.running ??= this.drain().finally(() => {
      this.running = null;
      if (this.queue.length > 0) this.pump();
    });
  }

  /** Resolves once the queue is empty and no hook runs. */
  async idle(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  /**
   * No more events; waits for the queued ones at most `boundMs`, then kills a hook still running
   * (SIGKILL to its group) and drops what is left (one warn line with the count).
   */
  async stop(boundMs: number): Promise<void> {
    this.stopped = true;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, boundMs);
    });
    await Promise.race([this.idle(), bound]);
    clearTimeout(timer);
    if (this.running === null) return;
    const left = this.queue.length;
    this.queue.length = 0;
    this.stopping.abort();
    this.options.log.warn({ dropped: left }, `events.exec: the daemon is stopping; the running hook killed${left > 0 ? `, ${left} queued events not handed to it` : ''}`);
    await this.running;
  }

  private async drain(): Promise<void> {
    const { file, timeoutMs, log } = this.options;
    for (let event = this.queue.shift(); event !== undefined; event = this.queue.shift()) {
      const run = await runHook(file, event, timeoutMs, this.stopping.signal);
      const how = describeRun(run, timeoutMs);
      const fields = { hook: file, event: event.kind, duration_ms: run.durationMs, exit_code: run.exitCode, signal: run.signal, stderr: run.stderr || undefined };
      if (how === 'ok') log.debug(fields, `events.exec: ${event.kind} handed to ${file} in ${run.durationMs} ms`);
      else log.warn(fields, `events.exec: ${file} for the ${event.kind} event: ${how}${run.stderr ? `; stderr: ${run.stderr}` : ''}`);
    }
    if (this.dropped > 0) {
      log.warn({ dropped: this.dropped }, `events.exec: ${this.dropped} events were dropped while the queue was full`);
      this.dropped = 0;
    }
  }
}
