// What every command does at its edges: find the configuration, report a fatal error as one
// line on stderr with its exit code.
import { ExitCode, errorLine, isFenceAgentError } from '../errors.ts';

/** Prints `fence-agent <command>: <message>` to stderr and returns the exit code for `error`. */
export function reportError(command: string, error: unknown): number {
  process.stderr.write(`fence-agent ${command}: ${errorLine(error)}\n`);
  if (isFenceAgentError(error)) return error.exitCode;
  if (!(error instanceof Error) || (error as NodeJS.ErrnoException).code === undefined) {
    // Not one of ours: a bug. Show where.
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  }
  return ExitCode.FAILURE;
}
