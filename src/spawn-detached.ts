// Starts a process that must outlive us: its own session (setsid), stdout and stderr appended to
// a file whose descriptor is handed straight to the child (no pipe through this process, which
// would break when we exit), never killed when we exit. node:child_process rather than execa on
// purpose: execa's value (promises, pipes, cleanup) is what a detached child must not have, and
// `notify` loads this on its hand-off fallback, where execa's ~110 ms import would hurt.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { FenceAgentError } from './errors.ts';

export interface DetachedExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Spawns `argv` detached, with cwd `/` and stdin from /dev/null. Resolves when the child exits
 * (if this process is still there to see it); rejects if it cannot be started.
 * @throws FenceAgentError code `ECOMMAND` for an empty argv.
 */
export function spawnDetached(argv: readonly string[], outputFile: string): Promise<DetachedExit> {
  const [file, ...args] = argv;
  if (file === undefined) throw new FenceAgentError('ECOMMAND', 'empty command');
  let fd: number;
  try {
    fd = openSync(outputFile, 'a', 0o640);
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
  try {
    const child = spawn(file, args, { detached: true, stdio: ['ignore', fd, fd], cwd: '/' });
    child.unref();
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
    });
  } finally {
    closeSync(fd);
  }
}
