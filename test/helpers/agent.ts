// Assertions about a lab node, made through the built CLI and /proc — never through the agent's
// own in-process state.
import { readFileSync } from 'node:fs';
import type { LabNode } from '../../lab/node.ts';
import { waitFor } from '../../lab/wait.ts';
import type { StatusReport } from '../../src/commands/status.ts';
import { readState, type AgentState } from '../../src/state.ts';

// `check` and `status` through the CLI, as the scenarios use them (lab/scenario/probes.ts)
import { check, status, type CheckResult } from '../../lab/scenario/probes.ts';

export { check, status, type CheckResult };

/** How many times `device` (default the node's own) is mounted inside the node (any mountpoint). */
export const mountCount = (node: LabNode, device = node.device ?? ''): Promise<number> => node.mountCount(device);

/** fence-agent daemon processes inside the node (lab/node.ts). */
export const daemonPids = (node: LabNode): number[] => node.daemonPids();

/** mysqld processes inside the node. */
export const mysqldPids = (node: LabNode): number[] => node.pidsNamed('mariadbd', 'mysqld');

/** The daemon's state file. */
export const stateOf = (node: LabNode): AgentState | null => readState(node.stateDir);

/** The last `lines` lines the daemon and notify wrote to the node's agent log (for failure messages). */
export function logTail(node: LabNode, lines = 25): string {
  try {
    const all = readFileSync(node.logFile, 'utf8').trimEnd().split('\n');
    return all.filter((line) => !line.includes('"cmd":"check"')).slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Waits until `check` exits 0 with "healthy ROLE" (and not merely a transition in progress). */
export async function waitHealthy(node: LabNode, role: 'MASTER' | 'BACKUP', timeoutMs = 60_000): Promise<CheckResult> {
  let last: CheckResult | null = null;
  try {
    return await waitFor(
      `healthy ${role} on ${node.name}`,
      async () => {
        last = await check(node);
        return last.code === 0 && last.line.includes(`healthy ${role}:`) && !last.line.includes('in progress') ? last : null;
      },
      timeoutMs,
      150,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\nlast check: ${JSON.stringify(last)}\nagent log:\n${logTail(node)}`, { cause: error });
  }
}

/** Waits until the daemon is past its start-up reconciliation, with nothing queued and nothing running. */
export async function waitIdle(node: LabNode, timeoutMs = 60_000): Promise<StatusReport> {
  return waitFor(
    `daemon idle on ${node.name}`,
    async () => {
      const { report } = await status(node);
      return report.daemon.alive && !report.daemon.startingUp && !report.daemon.busy && report.daemon.queue.length === 0 && report.daemon.transition === null ? report : null;
    },
    timeoutMs,
    150,
  );
}
