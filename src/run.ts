// Child processes for transitions (mount, umount, systemctl, mysqld stop commands), through execa:
// no shell, bounded, killed (SIGTERM, then SIGKILL after 1 s) when the step's signal aborts.
import { closeSync, openSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import { FenceAgentError } from './errors.ts';

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `argv` and resolves whatever its exit code; rejects only when it could not run or was
 * cancelled. @throws FenceAgentError code `ECOMMAND` (spawn failure, cancelled by `signal`).
 */
export async function run(argv: readonly string[], signal: AbortSignal): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) throw new FenceAgentError('ECOMMAND', 'empty command');
  const result = await execa(file, args, {
    cancelSignal: signal,
    forceKillAfterDelay: 1000,
    reject: false,
    stdin: 'ignore',
    all: false,
  });
  if (result.isCanceled || result.failed && result.exitCode === undefined) {
    throw new FenceAgentError('ECOMMAND', `${argv.join(' ')}: ${result.isCanceled ? 'cancelled at its deadline' : result.shortMessage}`);
  }
  return { exitCode: result.exitCode ?? 1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Like {@link run}, but a non-zero exit is an error: code `ECOMMAND`, message = the command's stderr. */
export async function runOk(argv: readonly string[], signal: AbortSignal): Promise<RunResult> {
  const result = await run(argv, signal);
  if (result.exitCode !== 0) {
    const why = (result.stderr.trim() || result.stdout.trim()).split('\n').at(-1) ?? '';
    throw new FenceAgentError('ECOMMAND', `${argv.join(' ')} exited ${result.exitCode}${why ? `: ${why}` : ''}`);
  }
  return result;
}

/**
 * Starts `argv` in its own session (setsid) with stdout and stderr appended to `outputFile`, and
 * lets it outlive us: the file descriptor is handed to the child directly (no pipe through this
 * process, which would break when we exit), and execa's exit cleanup is off.
 */
export function spawnDetached(argv: readonly string[], outputFile: string): ResultPromise {
  const [file, ...args] = argv;
  if (file === undefined) throw new FenceAgentError('ECOMMAND', 'empty command');
  const fd = openSync(outputFile, 'a', 0o640);
  try {
    // execa passes a numeric fd straight to spawn(); its typings only accept literal numbers.
    const out = fd as 1;
    const child = execa(file, args, { detached: true, cleanup: false, reject: false, stdin: 'ignore', stdout: out, stderr: out, cwd: '/' });
    child.unref();
    return child;
  } finally {
    closeSync(fd);
  }
}
