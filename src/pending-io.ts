// Ending a short-lived command while a filesystem call hangs in the kernel. Node's process.exit()
// joins libuv's threadpool (uv_library_shutdown), so one fs call stuck on dead storage — a lease
// file on a frozen NFS server, a read that waits for an iSCSI path until replacement_timeout —
// holds the exit until the kernel gives up, or forever on a hard mount (issue 11 §3: `status`
// printed its report and never exited). Every in-process fs call a command makes on something
// that may hang is tracked here until it settles, even long after its caller gave up on it;
// exitProcess() ends the process with SIGKILL when any is still pending.
// The count lives on globalThis under Symbol.for('fence-agent.pendingStorageIo'): this module is
// bundled into both dist/cli.cjs and dist/full.mjs, and every copy must see the same count
// (`status` runs its probes in full.mjs and exits through cli.cjs).

const PENDING = Symbol.for('fence-agent.pendingStorageIo');
const shared = globalThis as unknown as Record<symbol, number | undefined>;

/** In-process fs calls still running in this process, counted by every bundled copy of this module. */
export const pendingIo = (): number => shared[PENDING] ?? 0;

/**
 * Counts `work` (in-process fs calls on storage or /proc entries that may hang) as pending until it
 * settles, and returns it unchanged. Start it, then race it with a deadline: the count outlives the
 * caller's patience, which is the point.
 */
export function trackPending<T>(work: Promise<T>): Promise<T> {
  shared[PENDING] = pendingIo() + 1;
  void work.then(
    () => (shared[PENDING] = pendingIo() - 1),
    () => (shared[PENDING] = pendingIo() - 1),
  );
  return work;
}

/**
 * Exits with `code` — unless a tracked fs call (from any bundled copy of this module) is still
 * pending, in which case a normal exit would hang joining libuv's threadpool: then the process
 * SIGKILLs itself (its parent sees "killed by signal 9": keepalived counts a failed check; a
 * shell sees exit status 137, which `status` documents as "cannot tell, a probe is stuck in the
 * kernel"). Whatever the command printed is already written (stdout/stderr to a file or pipe are
 * written synchronously here).
 */
export function exitProcess(code: number): never {
  if (pendingIo() > 0) process.kill(process.pid, 'SIGKILL');
  process.exit(code);
}
