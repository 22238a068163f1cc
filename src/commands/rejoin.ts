// `fence-agent rejoin` — after a look, make this node a candidate again: clears the start hold
// (`keepalived.startMode: clean`, after a boot that ended with the disk held) and the self-fence
// latch (FENCED), only on a clean node (src/daemon/daemon.ts, rejoinChecked). A MASTER request
// keepalived made meanwhile is applied then. Exit 0 (also with nothing to clear), 1 refused or no
// daemon, 6 configuration.
import { loadConfig } from '../config/load.ts';
import { request } from '../control/client.ts';
import { controlSocketPath } from '../control/protocol.ts';
import { ExitCode, errorLine } from '../errors.ts';

/** Asks the daemon to clear the start hold and the self-fence latch; returns the exit code. @throws FenceAgentError `ECONFIG` */
export async function main(configPath: string): Promise<number> {
  const config = loadConfig(configPath);
  try {
    const response = await request(controlSocketPath(config.runDir), { op: 'rejoin' }, 5000);
    if (!response.ok || response.op !== 'rejoin') {
      process.stderr.write(`fence-agent rejoin: ${response.ok ? `unexpected answer ${response.op}` : response.error}\n`);
      return ExitCode.FAILURE;
    }
    process.stdout.write(response.cleared.length === 0 ? `nothing to clear: ${config.node} is a candidate\n` : `cleared: ${response.cleared.join('; ')}; ${config.node} is a candidate again\n`);
    return ExitCode.OK;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    process.stderr.write(`fence-agent rejoin: ${code === 'ENOENT' || code === 'ECONNREFUSED' ? 'no daemon is running on this node' : `the daemon did not answer (${errorLine(error)})`}\n`);
    return ExitCode.FAILURE;
  }
}
