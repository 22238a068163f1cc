// `fence-agent switchover [--timeout-ms N]` — a planned, verified hand-over of the MASTER role to
// the peer, run on the MASTER. The daemon reports the node unhealthy to keepalived (the tracked
// health file, and `check`) until the peer holds the fence: keepalived goes FAULT, the VIP moves,
// the peer promotes, this node demotes (src/daemon/daemon.ts, startSwitchover). This command asks
// for it and waits for the outcome the daemon records in the state file.
//
// Exit 0: done — this node a clean BACKUP and the peer holding the fence (with fence.method none:
// demoted, which is all that can be seen from here). Exit 1: refused (not an idle MASTER, no
// daemon), failed (the demotion failed) or aborted (the peer did not take over within the
// timeout; the node is healthy for keepalived again, and keepalived gives it the role back if no
// peer has it). Exit 2: bad arguments. Exit 3: no outcome recorded in time (see `status`).
import { loadConfig } from '../config/load.ts';
import { askDaemon, OPERATOR_ANSWER_MS } from '../control/client.ts';
import { ExitCode, usageError } from '../errors.ts';
import { readState } from '../state.ts';
import { monoNow } from '../clock.ts';
import { demoteDeadlineMs } from '../transitions/demote.ts';
import { promoteDeadlineMs } from '../transitions/promote.ts';

/** How often the state file is read while waiting, ms. */
const POLL_MS = 250;
/** How long past the hand-over's own deadline this command waits for the daemon to record it, ms. */
const GRACE_MS = 10_000;

const line = (text: string): void => void process.stderr.write(`fence-agent switchover: ${text}\n`);

/**
 * The default bound, ms: this node's demotion and the peer's promotion, one after the other.
 */
export const defaultSwitchoverTimeoutMs = (config: Parameters<typeof promoteDeadlineMs>[0]): number => demoteDeadlineMs(config) + promoteDeadlineMs(config);

/**
 * Asks the daemon for a switchover and waits for its outcome; returns the exit code.
 * @param timeoutMs the hand-over's bound, ms (1000..3600000); undefined: {@link defaultSwitchoverTimeoutMs}
 * @throws FenceAgentError `EUSAGE` (exit 2) for a bad timeout, `ECONFIG` (exit 6) from the configuration,
 *   `ENODAEMON`/`EDAEMONSILENT`/`EDAEMONREFUSED` (exit 1: no daemon, no answer, refused; askDaemon)
 */
export async function main(configPath: string, timeoutMs: number | undefined): Promise<number> {
  if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs < 1000 || timeoutMs > 3_600_000)) {
    throw usageError(`--timeout-ms: expected an integer 1000..3600000 (ms), got ${String(timeoutMs)}`);
  }
  const config = loadConfig(configPath);
  const bound = timeoutMs ?? defaultSwitchoverTimeoutMs(config);
  const started = (await askDaemon(config.runDir, { op: 'switchover', timeoutMs: bound }, OPERATOR_ANSWER_MS)).switchover;
  line(`handing the MASTER role to the peer (up to ${(bound / 1000).toFixed(1)} s)`);
  // the daemon's monotonic clock is this process's (CLOCK_MONOTONIC, one boot)
  const waitUntil = started.deadlineMono + GRACE_MS;
  for (;;) {
    const recorded = readState(config.stateDir)?.switchover;
    if (recorded != null && recorded.at === started.at && recorded.outcome !== 'running') {
      const took = recorded.endedAt === null ? '' : ` in ${((Date.parse(recorded.endedAt) - Date.parse(recorded.at)) / 1000).toFixed(1)} s`;
      if (recorded.outcome === 'done') {
        process.stdout.write(`switchover done${took}: ${recorded.detail ?? ''}\n`);
        return ExitCode.OK;
      }
      line(`${recorded.outcome}${took}: ${recorded.detail ?? ''}`);
      return ExitCode.FAILURE;
    }
    if (monoNow() > waitUntil) {
      line(`no outcome recorded ${((waitUntil - started.startedMono) / 1000).toFixed(1)} s after the start; see fence-agent status`);
      return ExitCode.UNKNOWN;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
