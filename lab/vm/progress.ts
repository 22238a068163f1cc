// Progress lines for the VM lab's long steps (issue 12 §4): an image build's phases, a boot, a
// fresh pair take minutes under TCG, and each logs its duration only when it ends. A heartbeat
// says, every half minute meanwhile, that the step still runs and for how long — not silence.

/** How often a heartbeat speaks, ms. */
export const HEARTBEAT_MS = 30_000;

/**
 * Calls `log(line(elapsedMs))` every `everyMs` from now until the returned function is called
 * (elapsedMs: ms since this call). The timer does not keep the process alive.
 * @returns stop: ends the heartbeat (idempotent)
 */
export function heartbeat(log: (line: string) => void, line: (elapsedMs: number) => string, everyMs: number = HEARTBEAT_MS): () => void {
  const started = Date.now();
  const timer = setInterval(() => log(line(Date.now() - started)), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Runs `body` with a {@link heartbeat}, stopped however `body` ends. */
export async function withHeartbeat<T>(log: (line: string) => void, line: (elapsedMs: number) => string, body: () => Promise<T>, everyMs: number = HEARTBEAT_MS): Promise<T> {
  const stop = heartbeat(log, line, everyMs);
  try {
    return await body();
  } finally {
    stop();
  }
}
