// Running programs for the lab and the tests: execa, no shell, output captured.
import { execa } from 'execa';

export interface Ran {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs argv and resolves with its exit code and output (never rejects on a non-zero exit). */
export async function sh(argv: readonly string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<Ran> {
  const [file, ...args] = argv;
  const result = await execa(file as string, args, {
    reject: false,
    timeout: options.timeoutMs ?? 60_000,
    env: options.env,
    input: options.input,
    stdin: options.input === undefined ? 'ignore' : 'pipe',
  });
  return { exitCode: result.exitCode ?? (result.timedOut ? 124 : 1), stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Like {@link sh} but throws with the command's stderr when it exits non-zero. */
export async function shOk(argv: readonly string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<string> {
  const result = await sh(argv, options);
  if (result.exitCode !== 0) throw new Error(`${argv.join(' ')} exited ${result.exitCode}: ${(result.stderr || result.stdout).trim()}`);
  return result.stdout;
}
