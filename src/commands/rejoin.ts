// `fence-agent rejoin` — after a look, make this node a candidate again: clears the start hold
// (`keepalived.startMode: clean`, after a boot that ended with the disk held) and the self-fence
// latch (FENCED), only on a clean node (src/daemon/daemon.ts, rejoinChecked). A MASTER request
// keepalived made meanwhile is applied then. Exit 0 (also with nothing to clear), 1 refused or no
// daemon, 6 configuration.
import { loadConfig } from '../config/load.ts';
import { askDaemon, OPERATOR_ANSWER_MS } from '../control/client.ts';
import { ExitCode } from '../errors.ts';

/** Asks the daemon to clear the start hold and the self-fence latch; returns the exit code. @throws FenceAgentError `ECONFIG` (exit 6), `ENODAEMON`/`EDAEMONSILENT`/`EDAEMONREFUSED` (exit 1, askDaemon) */
export async function main(configPath: string): Promise<number> {
  const config = loadConfig(configPath);
  const response = await askDaemon(config.runDir, { op: 'rejoin' }, OPERATOR_ANSWER_MS);
  process.stdout.write(response.cleared.length === 0 ? `nothing to clear: ${config.node} is a candidate\n` : `cleared: ${response.cleared.join('; ')}; ${config.node} is a candidate again\n`);
  return ExitCode.OK;
}
