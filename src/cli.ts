// Entry point of the `fence-agent` binary. `check` and `notify` run on every keepalived interval
// and transition, so they take a fast path (node:util parseArgs, nothing else loaded); every
// other command, and --help anywhere, goes through yargs. Each command's module is imported only
// when that command runs.
import { exitProcess } from './bounded-io.ts';

const argv = process.argv.slice(2);
const [command, ...rest] = argv;
const wantsHelp = rest.includes('--help') || rest.includes('-h');

let code: number;
if (command === 'check' && !wantsHelp) {
  code = await (await import('./commands/check.ts')).main(rest);
} else if (command === 'notify' && !wantsHelp) {
  code = await (await import('./commands/notify.ts')).main(rest);
} else {
  code = await (await import('./cli/yargs.ts')).runYargs(argv);
}
// Exit at once: a half-closed mysql2 socket or a lock-refresh timer must not keep `check` alive.
// The daemon never gets here (its main() only settles on failure).
exitProcess(code);
