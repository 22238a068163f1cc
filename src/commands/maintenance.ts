// `fence-agent maintenance on|off [--reason TEXT]` — stop or resume the daemon's actions on this
// node (src/daemon/daemon.ts, setMaintenance; AgentState.maintenance). While on, keepalived's
// requests are recorded but not applied, a gone mysqld is not restarted, and the node holds its
// role for keepalived (a MASTER counts as healthy, a BACKUP takes none); the fence, the watchdog
// and the self-fence keep working. `status` shows it on its own line. Off applies the last
// request keepalived made meanwhile if the role differs. Exit 0 (also when already so), 1 when no
// daemon answers or it refuses, 2 for bad arguments.
import { loadConfig } from '../config/load.ts';
import { askDaemon, OPERATOR_ANSWER_MS } from '../control/client.ts';
import { ExitCode, usageError } from '../errors.ts';

const MAX_REASON = 200;

/**
 * Turns maintenance on or off through the daemon; returns the exit code.
 * @throws FenceAgentError `EUSAGE` (exit 2) for a reason over 200 characters or `--reason` with off, `ECONFIG` (exit 6),
 *   `ENODAEMON`/`EDAEMONSILENT`/`EDAEMONREFUSED` (exit 1, control/client.ts askDaemon)
 */
export async function main(configPath: string, on: boolean, reason: string | undefined): Promise<number> {
  if (reason !== undefined && (reason.length > MAX_REASON || reason.trim() === '')) throw usageError(`--reason: expected 1..${MAX_REASON} characters, got ${reason.trim() === '' ? 'an empty one' : `${reason.length}`}`);
  if (reason !== undefined && !on) throw usageError('--reason goes with maintenance on');
  const config = loadConfig(configPath);
  const response = await askDaemon(config.runDir, { op: 'maintenance', on, reason: reason ?? null }, OPERATOR_ANSWER_MS);
  const state = response.maintenance;
  const already = response.changed ? '' : ' (already)';
  process.stdout.write(
    state === null
      ? `maintenance off${already}: the agent acts again on ${config.node}\n`
      : `maintenance ON${already} since ${state.at}${state.reason ? ` (${state.reason})` : ''}: no action on ${config.node} until \`fence-agent maintenance off\`; the fence keeps working\n`,
  );
  return ExitCode.OK;
}
