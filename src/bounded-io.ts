// Reads from storage that may be dead (the lease on NFS), bounded in time.
//
// The trap: a read that never returns (an NFS server gone, a FIFO) holds one of libuv's four
// threadpool threads, and then Node cannot even exit — libuv joins its threadpool in a destructor
// at exit. Two strategies:
// - `child` (default, the daemon): read through a short-lived child process (cat, stat); one
//   that hangs is SIGKILLed and abandoned, never waited for. Costs ~20 ms per read.
// - `inline` (`check`, `status`: short-lived, run every few seconds): fs in-process, raced with a
//   timer; a read still pending at exit makes exitProcess() (src/lease-io.ts) end the process with
//   SIGKILL (killable NFS waits and FIFO reads die with it) instead of hanging in exit. The count
//   of pending reads is the one src/lease-io.ts keeps on globalThis, shared by both modules and by
//   their copies in dist/cli.cjs and dist/full.mjs.
// src/lease-io.ts supersedes this module for the lease; fence/lockfile.ts still reads through it.
// node:child_process, not execa: this runs inside `check`, where execa's ~110 ms import is too much.
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { FenceAgentError } from './errors.ts';
import { boundedInline } from './lease-io.ts';

let strategy: 'child' | 'inline' = 'child';

/** Switches this process to in-process reads (see the module comment). */
export function useInlineStorageIo(): void {
  strategy = 'inline';
}

const timedOut = (what: string, timeoutMs: number): FenceAgentError =>
  new FenceAgentError('ETIMEDOUT', `${what} did not return within ${timeoutMs} ms (storage not answering?)`);

const orNullIfMissing = <T>(op: Promise<T>): Promise<T | null> =>
  op.catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw new FenceAgentError('EIO', `${error.message}`);
  });

/** Runs `argv`, resolving with its stdout, or rejecting `ETIMEDOUT` at `timeoutMs` without waiting for it to die. */
function capture(argv: readonly string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    const child = spawn(file as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      child.unref();
      child.stdout.destroy();
      child.stderr.destroy();
      reject(timedOut(argv.join(' '), timeoutMs));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

const missing = (stderr: string): boolean => stderr.includes('No such file or directory');

/**
 * The text of `path` (`cat`), or null when it does not exist.
 * @throws FenceAgentError code `ETIMEDOUT` at `timeoutMs`; `EIO` when cat fails otherwise.
 */
export async function readFileBounded(path: string, timeoutMs: number): Promise<string | null> {
  if (strategy === 'inline') return boundedInline(`read ${path}`, timeoutMs, () => orNullIfMissing(readFile(path, 'utf8')));
  const result = await capture(['cat', '--', path], timeoutMs);
  if (result.code === 0) return result.stdout;
  if (missing(result.stderr)) return null;
  throw new FenceAgentError('EIO', `cat ${path}: ${result.stderr.trim()}`);
}

/**
 * The modification time of `path` in ms since the epoch (`stat -c %.3Y`), or null when it does
 * not exist. @throws FenceAgentError code `ETIMEDOUT` at `timeoutMs`; `EIO` otherwise.
 */
export async function mtimeMsBounded(path: string, timeoutMs: number): Promise<number | null> {
  if (strategy === 'inline') return boundedInline(`stat ${path}`, timeoutMs, async () => (await orNullIfMissing(stat(path)))?.mtimeMs ?? null);
  const result = await capture(['stat', '-c', '%.3Y', '--', path], timeoutMs);
  if (result.code === 0) return Math.round(Number(result.stdout.trim()) * 1000);
  if (missing(result.stderr)) return null;
  throw new FenceAgentError('EIO', `stat ${path}: ${result.stderr.trim()}`);
}
