// Bounded I/O on the lease: a small JSON record file on storage both nodes see (an NFS path), which
// the MASTER refreshes every 0.5–2 s and the BACKUP reads to see whether it changed.
//
// That storage can hang: when the NFS server stops answering, open(2), read(2), fsync(2) and
// rename(2) on a `hard` mount wait until it comes back (killably, since Linux 2.6.25). The daemon
// must never block on it: every call here takes its bound `timeoutMs` (T_io) and rejects with
// FenceAgentError `ETIMEDOUT` when storage has not answered by then, at once; whatever was doing
// the call is abandoned.
//
// The trap: an in-process fs call runs on one of libuv's four threadpool threads. One that never
// returns holds its thread for good (four of them and every fs call, dns.lookup and zlib job of
// the process queues behind them), and the process cannot even exit: libuv joins its threadpool
// at exit. Hence two implementations behind one interface:
// - createHelperLeaseIo() (the daemon): one long-lived helper process (`node -e HELPER_SOURCE`,
//   the source a plain-JS string below, so it runs the same from dist/cli.cjs, dist/full.mjs and
//   tsx) doing synchronous fs calls, spoken to in JSON lines over its stdin/stdout, one request at
//   a time. It costs one spawn, until it hangs: a request not answered in time SIGKILLs it and
//   abandons it (unref'd, pipes destroyed, never waited for); the next request spawns a fresh one.
//   A request is sent only once the helper has said it is ready: a helper still starting (a node
//   process needs seconds on a loaded or emulated machine) is not hung on storage, so a request
//   that times out before it was sent leaves the helper starting for the next one (killing it and
//   starting another, as this did, only repeated the slow start: measured in the two-VM lab after
//   a boot, every lease request timed out and each spawned a new helper).
//   The old way (a `cat`/`stat` child per read) cost a process per read: ~40× the CPU.
// - createInlineLeaseIo() (`check`, `status`: short-lived): fs.promises in-process, raced with a
//   timer. A call still pending when the command ends makes exitProcess() (src/pending-io.ts)
//   SIGKILL the process instead of hanging in exit.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { StatsFs } from 'node:fs';
import { open, readFile, rename, rm, stat, statfs } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { FenceAgentError, isFenceAgentError } from './errors.ts';
import { majorMinorOf } from './probes/mountinfo.ts';
import { trackPending } from './pending-io.ts';

export interface ReplaceResult {
  /** true: the file held `expected` and now holds the new text */
  replaced: boolean;
  /** the text found before writing (null = the file did not exist, or was empty) */
  current: string | null;
}

/**
 * I/O on a lease file whose storage may hang. Every call takes `timeoutMs` (milliseconds, counted
 * from the call, including any wait behind an earlier request) and rejects with FenceAgentError
 * code `ETIMEDOUT` when it has not completed by then; any other failure rejects with code `EIO`
 * and a message that names the errno (`EACCES`, `EISDIR`, ...).
 */
export interface LeaseIo {
  /** The file's text (utf8; '' for an empty file), or null when it does not exist. Rejects `ETIMEDOUT` at `timeoutMs`, `EIO` otherwise. */
  read(path: string, timeoutMs: number): Promise<string | null>;
  /**
   * Compare-and-replace: reads the file; only if its text equals `expected` (null or '' = absent
   * or empty) writes `text` atomically (`<path>.tmp.<host>.<pid>` in the same directory, fsync, rename
   * over `path`: a reader sees the old record or the new one, never a part). One bounded request.
   * Not atomic against a writer on the other node: the lease's timers keep writers apart.
   * Rejects `ETIMEDOUT`/`EIO`.
   */
  replaceIf(path: string, expected: string | null, text: string, timeoutMs: number): Promise<ReplaceResult>;
  /** statfs(2) of `path` (f_type in `type`, e.g. 0x6969 NFS). Rejects `ETIMEDOUT`/`EIO` (also for a missing path). */
  statfs(path: string, timeoutMs: number): Promise<StatsFs>;
  /** st_dev of `path` as `major:minor` (as /proc/self/mountinfo prints it). Rejects `ETIMEDOUT`/`EIO` (also for a missing path). */
  deviceOf(path: string, timeoutMs: number): Promise<string>;
  /** Ends the helper (if any). Idempotent. */
  close(): void;
}

/** The helper implementation, with the pid of its current helper for diagnostics and tests. */
export interface HelperLeaseIo extends LeaseIo {
  /** pid of the running helper; null before the first request (or prestart()), after one died or timed out, and after close() */
  readonly helperPid: number | null;
  /**
   * Starts the helper now if none runs, so that the first request does not wait for its start (a
   * node process: seconds on a loaded or emulated machine — the daemon's first lease read after a
   * restart, measured in the two-VM lab). It does not keep the event loop alive. A no-op after close().
   */
  prestart(): void;
}

const timedOut = (what: string, timeoutMs: number): FenceAgentError =>
  new FenceAgentError('ETIMEDOUT', `${what} did not return within ${timeoutMs} ms (storage not answering?)`);

/** EIO for a failed fs call; the message keeps the errno code (Node's messages start with it). */
function ioError(what: string, error: unknown): FenceAgentError {
  const fields = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; message?: unknown };
  const code = typeof fields.code === 'string' ? fields.code : undefined;
  let message = typeof fields.message === 'string' ? fields.message : String(error);
  if (code !== undefined && !message.includes(code)) message += ` (${code})`;
  return new FenceAgentError('EIO', `${what}: ${message}`, { cause: error });
}

const statsFsFields = (s: StatsFs): StatsFs => ({ type: s.type, bsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree });

// ---------------------------------------------------------------------------------------------
// The helper

/**
 * The helper's program, run as `node -e HELPER_SOURCE`. Plain CommonJS with no dependencies (not
 * Function.prototype.toString of a function here: tsx and esbuild may inject their helpers into
 * it). Keep it free of backquotes and dollar-brace: it lives in a String.raw template.
 */
const HELPER_SOURCE = String.raw`// fence-agent lease I/O helper (src/lease-io.ts)
'use strict';
// Requests arrive as JSON lines on stdin: { id, op, path, ... }. Each is run with synchronous fs
// calls, one at a time, and answered with one JSON line on stdout:
// { id, ok: true, value } or { id, ok: false, code, message }. A call that hangs (dead NFS) hangs
// this process only; the parent then SIGKILLs it and starts another.
const fs = require('node:fs');

process.title = 'fence-agent lease-io';
// Stop signals for the whole process group or cgroup (Ctrl-C, systemd) are for the parent, which
// may still need us to release the lease while it shuts down. We end when it closes our stdin.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => {});
process.stdin.on('end', () => process.exit(0));
process.stdout.on('error', () => process.exit(0)); // EPIPE: the parent is gone

// The file's text, or null when it does not exist.
function readOrNull(path) {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch (error) {
    if (error.code === 'ENOENT') return null;
    throw error;
  }
}

// Linux dev_t as major:minor (glibc gnu_dev_major/gnu_dev_minor), as mountinfo prints it.
function majorMinor(dev) {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return major + ':' + minor;
}

const ops = {
  read: (request) => readOrNull(request.path),
  // Compare, then write a temp file in the same directory, fsync it and rename it over the
  // record: readers see the old record or the new one, never a part of one.
  replaceIf: (request) => {
    const found = readOrNull(request.path);
    const current = found === '' ? null : found;
    const expected = request.expected === '' ? null : request.expected;
    if (current !== expected) return { replaced: false, current };
    const temp = request.path + '.tmp.' + require('node:os').hostname() + '.' + process.pid;
    try {
      const fd = fs.openSync(temp, 'w', 0o644);
      try {
        fs.writeFileSync(fd, request.text, 'utf8');
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(temp, request.path);
    } catch (error) {
      try {
        fs.unlinkSync(temp);
      } catch {}
      throw error;
    }
    return { replaced: true, current };
  },
  statfs: (request) => {
    const s = fs.statfsSync(request.path);
    return { type: s.type, bsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree };
  },
  deviceOf: (request) => majorMinor(fs.statSync(request.path, { bigint: true }).dev),
};

function answer(line) {
  let request;
  try {
    request = JSON.parse(line);
  } catch {
    process.stderr.write('fence-agent lease-io: not JSON: ' + line.slice(0, 200) + '\n');
    return;
  }
  let reply;
  try {
    if (!Object.hasOwn(ops, request.op)) throw Object.assign(new Error('unknown op ' + request.op), { code: 'EINVAL' });
    reply = { id: request.id, ok: true, value: ops[request.op](request) };
  } catch (error) {
    reply = { id: request.id, ok: false, code: String(error.code || 'EIO'), message: String(error.message) };
  }
  process.stdout.write(JSON.stringify(reply) + '\n');
}

let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    if (line.trim() !== '') answer(line);
  }
});
// Started: the parent sends requests only after this line.
process.stdout.write(JSON.stringify({ ready: true }) + '\n');
`;

interface Helper {
  child: ChildProcessWithoutNullStreams;
  pid: number | null;
  /** exited, failed to start, or abandoned: nothing it says or does matters any more */
  gone: boolean;
  /** stdout not yet ended by a newline */
  buffered: string;
  /** performance.now() at spawn */
  spawnedAt: number;
  /** performance.now() of its ready line; null before it: no request may be sent yet */
  readyAt: number | null;
  /** abandons it if it is still not ready after HELPER_START_LIMIT_MS */
  startTimer: NodeJS.Timeout | undefined;
}

/**
 * A helper not ready this long after its spawn is abandoned and the next request starts another
 * (its start does not touch the lease storage, so this is a machine too loaded to start a process,
 * or a helper that cannot run at all).
 */
export const HELPER_START_LIMIT_MS = 30_000;

interface Call {
  id: number;
  /** the request, one JSON line */
  line: string;
  /** `<op> <path>` for messages */
  what: string;
  timeoutMs: number;
  /** performance.now() at which the call times out (its call + `timeoutMs`) */
  deadline: number;
  timer: NodeJS.Timeout | undefined;
  settled: boolean;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; code: string; message: string } | { ready: true };

interface Refable {
  ref(): unknown;
  unref(): unknown;
}

/**
 * The daemon's lease I/O: one long-lived helper process (see the module comment). Requests are
 * queued and sent one at a time. One not answered within its `timeoutMs` rejects `ETIMEDOUT`, and
 * its helper is SIGKILLed, unref'd, its pipes destroyed, never waited for; the next request spawns
 * a fresh helper. Requests are sent only once the helper has written its ready line: one whose
 * bound ends while the helper is still starting (a node process: 40–170 ms here, seconds on a
 * loaded or emulated machine), or that waited for the start and has less than half its bound
 * left when it ends, rejects `ETIMEDOUT` saying so, unsent, and the helper is kept for the next
 * request; a helper not ready after {@link HELPER_START_LIMIT_MS} is
 * abandoned. A helper that dies rejects the request it was running with `EIO` and is replaced on
 * the next request. The helper never keeps the event loop alive on its own: it is referenced only
 * while a request is in flight. The helper runs in `/` (never holding a mount busy), so relative
 * paths are resolved here first. After close(), every call rejects `EIO`.
 *
 * `log` receives one line when a helper starts, is slow to start, times out or dies.
 * `helperExecArgv`: node options put before the helper's program (the tests delay its start with a
 * `--require` fixture); none by default.
 */
export function createHelperLeaseIo(options: { log?: (line: string) => void; helperExecArgv?: readonly string[] } = {}): HelperLeaseIo {
  const log = options.log ?? (() => undefined);
  const execArgv = options.helperExecArgv ?? [];
  let helper: Helper | null = null;
  let inFlight: Call | null = null;
  let queue: Call[] = [];
  let lastId = 0;
  let closed = false;

  const setReferenced = (h: Helper, on: boolean): void => {
    const { child } = h;
    for (const handle of [child, child.stdin, child.stdout, child.stderr] as unknown as Refable[]) {
      if (on) handle.ref();
      else handle.unref();
    }
  };

  const settle = (call: Call, outcome: { value: unknown } | { error: Error }): void => {
    if (call.settled) return;
    call.settled = true;
    clearTimeout(call.timer);
    if ('error' in outcome) call.reject(outcome.error);
    else call.resolve(outcome.value);
  };

  /** SIGKILLs `h` and lets go of it: no reference, no pipes, never waited for. */
  const abandon = (h: Helper): void => {
    h.gone = true;
    clearTimeout(h.startTimer);
    if (helper === h) helper = null;
    try {
      h.child.kill('SIGKILL');
    } catch {
      // already gone
    }
    h.child.unref();
    h.child.stdin.destroy();
    h.child.stdout.destroy();
    h.child.stderr.destroy();
  };

  /** Rejects `call` ETIMEDOUT without having sent it: the helper `h` was `why` (its start, which says nothing about the storage); `h` is kept. */
  const rejectUnsent = (call: Call, h: Helper, why: string): void => {
    const sinceSpawnMs = Math.round((h.readyAt ?? performance.now()) - h.spawnedAt);
    settle(call, { error: new FenceAgentError('ETIMEDOUT', `${call.what} did not run within ${call.timeoutMs} ms: the lease I/O helper was ${why} (${sinceSpawnMs} ms after its spawn; a loaded machine), the request was not sent`) });
    log(`lease I/O helper pid ${h.pid ?? '?'} ${why} (${sinceSpawnMs} ms after its spawn): ${call.what} timed out unsent, the helper is kept for the next request`);
  };

  const onGone = (h: Helper, how: string): void => {
    if (h.gone) return;
    h.gone = true;
    clearTimeout(h.startTimer);
    if (helper === h) helper = null;
    const call = inFlight;
    log(`lease I/O helper pid ${h.pid ?? '?'} ${how}${call ? ` during ${call.what}` : ''}`);
    if (call) {
      inFlight = null;
      settle(call, { error: new FenceAgentError('EIO', `${call.what}: the lease I/O helper ${how}`) });
    }
    pump();
  };

  const onReply = (h: Helper, line: string): void => {
    let reply: Reply;
    try {
      reply = JSON.parse(line) as Reply;
    } catch {
      log(`lease I/O helper pid ${h.pid ?? '?'} wrote something that is not JSON: ${line.slice(0, 200)}`);
      return;
    }
    if ('ready' in reply) {
      h.readyAt = performance.now();
      clearTimeout(h.startTimer);
      const tookMs = h.readyAt - h.spawnedAt;
      if (tookMs >= 1000) log(`lease I/O helper pid ${h.pid ?? '?'} ready ${Math.round(tookMs)} ms after its spawn (a loaded machine)`);
      pump();
      return;
    }
    const call = inFlight;
    if (call === null || reply.id !== call.id) return;
    inFlight = null;
    settle(call, reply.ok ? { value: reply.value } : { error: ioError(call.what, reply) });
    pump();
  };

  const start = (): Helper => {
    const env = { ...process.env };
    delete env.NODE_OPTIONS; // nothing to preload (tsx, --inspect, ...) into a plain-JS helper
    const child = spawn(process.execPath, [...execArgv, '-e', HELPER_SOURCE], { cwd: '/', env, stdio: ['pipe', 'pipe', 'pipe'] });
    const h: Helper = { child, pid: child.pid ?? null, gone: false, buffered: '', spawnedAt: performance.now(), readyAt: null, startTimer: undefined };
    h.startTimer = setTimeout(() => {
      if (h.gone || h.readyAt !== null) return;
      log(`lease I/O helper pid ${h.pid ?? '?'} not ready ${HELPER_START_LIMIT_MS} ms after its spawn: SIGKILLed and abandoned`);
      abandon(h);
      pump();
    }, HELPER_START_LIMIT_MS);
    h.startTimer.unref();
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (h.gone) return;
      h.buffered += chunk;
      for (let newline = h.buffered.indexOf('\n'); newline >= 0 && !h.gone; newline = h.buffered.indexOf('\n')) {
        const line = h.buffered.slice(0, newline);
        h.buffered = h.buffered.slice(newline + 1);
        onReply(h, line);
      }
    });
    child.stderr.resume(); // drained, not kept
    // EPIPE and the like when the helper died: its 'close' tells, once.
    for (const stream of [child.stdin, child.stdout, child.stderr]) stream.on('error', () => undefined);
    child.on('error', (error) => onGone(h, `could not be run: ${error.message}`));
    child.on('close', (code, signal) => onGone(h, signal ? `was killed by ${signal}` : `exited with code ${code}`));
    if (h.pid !== null) log(`lease I/O helper pid ${h.pid} started`);
    return h;
  };

  /**
   * Sends the next queued request when none is in flight and the helper is ready (starting one if
   * there is none); references the helper only while a request is in flight or waits for it.
   */
  function pump(): void {
    while (inFlight === null && queue.length > 0 && !closed) {
      const call = queue[0] as Call;
      // Its timer is due (it fires right after the one of the call ahead of it, whose helper just
      // hung): do not start a helper only to kill it. (+1: libuv's timers count whole ms.)
      if (call.settled || performance.now() + 1 >= call.deadline) {
        queue.shift();
        settle(call, { error: timedOut(call.what, call.timeoutMs) });
        continue;
      }
      helper ??= start();
      setReferenced(helper, true);
      if (helper.readyAt === null) return; // sent when its ready line arrives (onReply)
      // It waited for this helper to start and has less than half its bound left: sent now, a
      // helper that just started (its first fs calls, on a loaded machine) could miss the rest and
      // be killed as hung, and the next request would wait for yet another start (measured in
      // the two-VM lab). Rejected unsent instead; the next request gets the whole of its bound.
      if (call.deadline - call.timeoutMs < helper.readyAt && call.deadline - performance.now() < call.timeoutMs / 2) {
        queue.shift();
        rejectUnsent(call, helper, 'ready with less than half of the bound left');
        continue;
      }
      queue.shift();
      inFlight = call;
      helper.child.stdin.write(call.line);
    }
    if (inFlight === null && queue.length === 0 && helper !== null && !helper.gone) setReferenced(helper, false);
  }

  const onTimeout = (call: Call): void => {
    if (call.settled) return;
    if (inFlight !== call && helper !== null && helper.readyAt === null) rejectUnsent(call, helper, 'still starting');
    else settle(call, { error: timedOut(call.what, call.timeoutMs) });
    if (inFlight === call) {
      inFlight = null;
      if (helper !== null) {
        log(`lease I/O helper pid ${helper.pid ?? '?'} did not answer ${call.what} within ${call.timeoutMs} ms: SIGKILLed and abandoned`);
        abandon(helper);
      }
    } else {
      queue = queue.filter((queued) => queued !== call);
    }
    pump();
  };

  const request = <T>(op: string, path: string, fields: Record<string, unknown>, timeoutMs: number): Promise<T> => {
    const what = `${op} ${path}`;
    if (closed) return Promise.reject(new FenceAgentError('EIO', `${what}: the lease I/O is closed`));
    return new Promise<T>((resolve, reject) => {
      const id = ++lastId;
      const call: Call = {
        id,
        line: `${JSON.stringify({ id, op, path: resolvePath(path), ...fields })}\n`,
        what,
        timeoutMs,
        deadline: performance.now() + timeoutMs,
        timer: undefined,
        settled: false,
        resolve: resolve as (value: unknown) => void,
        reject,
      };
      call.timer = setTimeout(() => onTimeout(call), timeoutMs);
      queue.push(call);
      pump();
    });
  };

  return {
    read: (path, timeoutMs) => request<string | null>('read', path, {}, timeoutMs),
    replaceIf: (path, expected, text, timeoutMs) => request<ReplaceResult>('replaceIf', path, { expected, text }, timeoutMs),
    statfs: (path, timeoutMs) => request<StatsFs>('statfs', path, {}, timeoutMs),
    deviceOf: (path, timeoutMs) => request<string>('deviceOf', path, {}, timeoutMs),
    close: () => {
      if (closed) return;
      closed = true;
      const pending = [...(inFlight ? [inFlight] : []), ...queue];
      inFlight = null;
      queue = [];
      for (const call of pending) settle(call, { error: new FenceAgentError('EIO', `${call.what}: the lease I/O is closed`) });
      if (helper !== null) abandon(helper);
    },
    get helperPid() {
      return helper?.pid ?? null;
    },
    prestart: () => {
      if (closed || helper !== null) return;
      helper = start();
      setReferenced(helper, false);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// In-process

/**
 * Runs `op` (in-process fs calls on storage that may hang) raced with a timer: rejects
 * FenceAgentError `ETIMEDOUT` at `timeoutMs`, maps fs errors to `EIO` (FenceAgentErrors pass). The
 * call is counted as pending until `op` settles, even long after the timeout, so that
 * exitProcess() (src/pending-io.ts) knows a normal exit would hang.
 */
export async function boundedInline<T>(what: string, timeoutMs: number, op: () => Promise<T>): Promise<T> {
  const running = trackPending(op()).catch((error: unknown) => {
    throw isFenceAgentError(error) ? error : ioError(what, error);
  });
  running.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([running, new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(timedOut(what, timeoutMs)), timeoutMs)))]);
  } finally {
    clearTimeout(timer);
  }
}

const readOrNull = (path: string): Promise<string | null> =>
  readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });

async function replaceInline(path: string, expected: string | null, text: string): Promise<ReplaceResult> {
  const found = await readOrNull(path);
  const current = found === '' ? null : found;
  if (current !== (expected === '' ? null : expected)) return { replaced: false, current };
  const temp = `${path}.tmp.${hostname()}.${process.pid}`;
  try {
    const handle = await open(temp, 'w', 0o644);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
  return { replaced: true, current };
}

/**
 * Lease I/O in this process (fs.promises), for short-lived commands (`check`, `status`): each call
 * raced with a timer (`ETIMEDOUT` at `timeoutMs`), counted as pending until it really ends. A
 * command that got `ETIMEDOUT` must end through exitProcess() (src/pending-io.ts). close() does nothing.
 */
export function createInlineLeaseIo(): LeaseIo {
  return {
    read: (path, timeoutMs) => boundedInline(`read ${path}`, timeoutMs, () => readOrNull(path)),
    replaceIf: (path, expected, text, timeoutMs) => boundedInline(`replaceIf ${path}`, timeoutMs, () => replaceInline(path, expected, text)),
    statfs: (path, timeoutMs) => boundedInline(`statfs ${path}`, timeoutMs, async () => statsFsFields(await statfs(path))),
    deviceOf: (path, timeoutMs) => boundedInline(`deviceOf ${path}`, timeoutMs, async () => majorMinorOf((await stat(path, { bigint: true })).dev)),
    close: () => undefined,
  };
}

