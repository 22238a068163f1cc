// The full command-line surface (ES module, code-split: dist/full.mjs + dist/chunks/). Loaded by
// src/cli.ts for every command except the fast paths of `check` and `notify`.
import { runYargs } from './cli/yargs.ts';

/** Runs any command through yargs; resolves with the exit code. */
export const runFull = (argv: string[]): Promise<number> => runYargs(argv);
