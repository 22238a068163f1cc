// Reads from storage that may be dead (the lease on NFS) through short-lived child processes.
//
// Why not fs.readFile? A read that never returns (a hard-mounted NFS server gone, a FIFO) holds
// one of libuv's four threadpool threads forever, and Node cannot even exit then: libuv joins its
// threadpool in a destructor at exit. A child process that hangs is abandoned instead (SIGKILLed,
// unreferenced, never waited for), so `check` still answers and exits on time.
// node:child_process, not execa: this runs inside `check`, where execa's ~110 ms import is too much.
import { spawn } from 'node:child_process';
import { FenceAgentError } from './errors.ts';

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
      reject(new FenceAgentError('ETIMEDOUT', `${argv.join(' ')} did not return within ${timeoutMs} ms (storage not answering?)`));
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
  const result = await capture(['stat', '-c', '%.3Y', '--', path], timeoutMs);
  if (result.code === 0) return Math.round(Number(result.stdout.trim()) * 1000);
  if (missing(result.stderr)) return null;
  throw new FenceAgentError('EIO', `stat ${path}: ${result.stderr.trim()}`);
}
