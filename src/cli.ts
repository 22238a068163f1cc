// Entry point of the `fence-agent` binary, built to CommonJS (dist/cli.cjs) because it starts
// faster than an ES module. `check` and `notify` run on every keepalived interval and
// transition, so they take a fast path: node:util parseArgs, our own code, no package loaded
// up front. Every other command, and --help anywhere, loads the full CLI (dist/full.mjs: yargs,
// one lazily imported module per command).
import { exitProcess } from './pending-io.ts';
import { nodeVersionProblem } from './node-version.ts';

async function main(argv: string[]): Promise<number> {
  const tooOld = nodeVersionProblem(process.versions.node);
  if (tooOld !== null) {
    process.stderr.write(`${tooOld}\n`);
    return 6; // ExitCode.CONFIG: the environment cannot run the agent; nothing was done
  }
  const [command, ...rest] = argv;
  const wantsHelp = rest.includes('--help') || rest.includes('-h');
  if (command === 'check' && !wantsHelp) return (await import('./commands/check.ts')).main(rest);
  if (command === 'notify' && !wantsHelp) return (await import('./commands/notify.ts')).main(rest);
  // a daemon restarted under a mounted disk opens the watchdog its predecessor left counting before
  // loading anything else (src/daemon/early-watchdog.ts)
  if (command === 'daemon' && !wantsHelp) (await import('./daemon/early-watchdog.ts')).openWatchdogEarly(rest);
  // A specifier in a variable: esbuild leaves it alone, Node resolves it next to dist/cli.cjs.
  const full = (await import(FULL_CLI)) as { runFull: (argv: string[]) => Promise<number> };
  return full.runFull(argv);
}

const FULL_CLI = './full.mjs';

// Exit at once when done: a half-closed mysql2 socket or a timer must not keep `check` alive.
// The daemon never gets here (its main() only settles on failure).
void main(process.argv.slice(2)).then(exitProcess);
