// CONTRACT (to be implemented): bounded I/O on lease storage that may hang (NFS, FUSE).
//
// Two implementations behind one interface:
// - createHelperLeaseIo(): the daemon's. One long-lived helper child process (`node -e <source>`,
//   the source a string constant in this file, so it works from dist/cli.cjs, dist/full.mjs and
//   tsx alike) doing synchronous fs calls, spoken to over stdin/stdout in JSON lines. A request
//   not answered within its timeout rejects with FenceAgentError code `ETIMEDOUT`; the helper is
//   then SIGKILLed and abandoned (unref'd, pipes destroyed, never awaited) and the next request
//   spawns a fresh one. Requests are answered in order (one in flight at a time is fine).
// - createInlineLeaseIo(): for `check` and `status` (short-lived): fs.promises in-process, raced
//   with a timer; a call still pending makes exitProcess() SIGKILL the process instead of hanging
//   in exit (libuv joins its threadpool). The pending counter lives on globalThis under
//   Symbol.for('fence-agent.pendingStorageIo'), so the copies of this module bundled into
//   dist/cli.cjs and dist/full.mjs share it (issue 11 defect 3).
import type { StatFs } from 'node:fs';

export interface ReplaceResult {
  /** true: the file held `expected` and now holds the new text */
  replaced: boolean;
  /** the text found before writing (null = the file did not exist) */
  current: string | null;
}

export interface LeaseIo {
  /** The file's text, or null when it does not exist. Rejects `ETIMEDOUT` at `timeoutMs`, `EIO` otherwise. */
  read(path: string, timeoutMs: number): Promise<string | null>;
  /**
   * Compare-and-replace: reads the file; only if its text equals `expected` (null = absent or
   * empty) writes `text` atomically (a temp file in the same directory, fsync, rename over
   * `path`). One bounded request. Rejects `ETIMEDOUT`/`EIO`.
   */
  replaceIf(path: string, expected: string | null, text: string, timeoutMs: number): Promise<ReplaceResult>;
  /** statfs(2) of `path` (f_type in `type`). Rejects `ETIMEDOUT`/`EIO`. */
  statfs(path: string, timeoutMs: number): Promise<StatFs>;
  /** st_dev of `path` as `major:minor`. Rejects `ETIMEDOUT`/`EIO`. */
  deviceOf(path: string, timeoutMs: number): Promise<string>;
  /** Ends the helper (if any). Idempotent. */
  close(): void;
}
