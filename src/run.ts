// Child processes for transitions (mount, umount, systemctl, mysqld stop commands), through execa:
// no shell, bounded, killed (SIGTERM, then SIGKILL after 1 s) when the step's signal aborts.
import { execa } from 'execa';
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
    // every line, not the last: mount(8)'s reason comes before its "dmesg(1) may have more information"
    const why = (result.stderr.trim() || result.stdout.trim()).split('\n').map((line) => line.trim()).filter(Boolean).join(' ').slice(0, 500);
    throw new FenceAgentError('ECOMMAND', `${argv.join(' ')} exited ${result.exitCode}${why ? `: ${why}` : ''}`);
  }
  return result;
}

