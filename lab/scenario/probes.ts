// What scenarios ask of a node, through the fence-agent CLI on it (never through the agent's own
// in-process state): `check`, `status --json`, and waits on them with clear failure messages.
import type { StatusReport } from '../../src/commands/status.ts';
import type { FenceView } from '../../fence/admin.ts';
import type { Cluster, ClusterNode } from '../cluster.ts';
import type { Ledger } from '../ledger.ts';
import { waitFor } from '../wait.ts';

export interface CheckResult {
  code: number;
  line: string;
}

/** Runs `fence-agent check` on the node. */
export async function check(node: Pick<ClusterNode, 'agent'>, args: string[] = []): Promise<CheckResult> {
  const ran = await node.agent(['check', ...args]);
  return { code: ran.exitCode, line: ran.stderr.trim() };
}

/** Runs `fence-agent status --json` on the node. */
export async function status(node: Pick<ClusterNode, 'agent'>): Promise<{ code: number; report: StatusReport }> {
  const ran = await node.agent(['status', '--json']);
  return { code: ran.exitCode, report: JSON.parse(ran.stdout) as StatusReport };
}

/** `check` says healthy ROLE, and not merely "a transition in progress". */
export const isHealthy = (result: CheckResult, role: 'MASTER' | 'BACKUP'): boolean =>
  result.code === 0 && result.line.includes(`healthy ${role}:`) && !result.line.includes('in progress');

/** Waits until `check` on the node says healthy ROLE. */
export async function waitHealthy(node: ClusterNode, role: 'MASTER' | 'BACKUP', timeoutMs = 60_000): Promise<CheckResult> {
  let last: CheckResult | null = null;
  try {
    return await waitFor(
      `healthy ${role} on ${node.name}`,
      async () => {
        last = await check(node);
        return isHealthy(last, role) ? last : null;
      },
      timeoutMs * node.timeScale,
      150,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\nlast check: ${JSON.stringify(last)}\n${await node.logTail(15)}`, { cause: error });
  }
}

/** Waits until `node` (or whichever node, if omitted) is a healthy MASTER holding the VIP. */
export async function waitMaster(cluster: Cluster, node?: ClusterNode, timeoutMs = 60_000): Promise<ClusterNode> {
  let last = '';
  try {
    return await waitFor(
      `a healthy MASTER${node ? ` on ${node.name}` : ''}`,
      async () => {
        const holder = await cluster.vipHolder().catch(() => null);
        if (holder === null || (node !== undefined && holder.name !== node.name)) return null;
        const result = await check(holder);
        last = `${holder.name}: ${result.line}`;
        return isHealthy(result, 'MASTER') ? holder : null;
      },
      timeoutMs * cluster.timeScale,
      100,
    );
  } catch (error) {
    const logs = await Promise.all(cluster.nodes.map((n) => n.logTail(15)));
    throw new Error(`${(error as Error).message}; last: ${last}\n${logs.join('\n')}`, { cause: error });
  }
}

/** Waits until the daemon on the node is past its start-up reconciliation, with nothing queued and nothing running. */
export async function waitIdle(node: ClusterNode, timeoutMs = 60_000): Promise<StatusReport> {
  return waitFor(
    `daemon idle on ${node.name}`,
    async () => {
      const { report } = await status(node);
      return report.daemon.alive && !report.daemon.startingUp && !report.daemon.busy && report.daemon.queue.length === 0 && report.daemon.transition === null ? report : null;
    },
    timeoutMs * node.timeScale,
    150,
  );
}

/** Waits until the ledger has acknowledged at least `count` more rows than now. */
export async function waitAcks(ledger: Ledger, count = 5, timeoutMs = 60_000): Promise<void> {
  const start = ledger.acks().length;
  await waitFor(`${count} more acknowledged INSERTs`, () => ledger.acks().length >= start + count, timeoutMs, 50);
}

/** The id of the last transition the node's daemon finished (to show that nothing moved). */
export const lastTransitionId = async (node: ClusterNode): Promise<string | null> => (await node.state())?.lastTransition?.id ?? null;

/**
 * Waits until the lab's third initiator sees `holder` alone registered and holding the
 * reservation, type 5 (WERO) — or, with `holder` null, the LU without registrations or reservation.
 * For scsi-pr labs only (Cluster.prState); the last state seen is in the error.
 */
export async function waitAloneRegistered(cluster: Cluster, holder: Pick<ClusterNode, 'name'> | null, timeoutMs = 10_000): Promise<void> {
  const want = holder === null ? { registered: [], holder: null, type: null } : { registered: [holder.name], holder: holder.name, type: 5 };
  let last: unknown = null;
  const what = holder === null ? 'the LU without registrations (third initiator)' : `${holder.name} alone registered, holding WERO (third initiator)`;
  try {
    await waitFor(what, () => {
      last = cluster.prState?.() ?? null;
      return JSON.stringify(last) === JSON.stringify(want);
    }, timeoutMs, 200);
  } catch (error) {
    throw new Error(`${(error as Error).message}; last seen: ${JSON.stringify(last)}`, { cause: error });
  }
}

/** What `fence-agent fence show --json` prints with the scsi-pr method (fence/admin.ts FenceView). */
export type PrFenceView = Extract<FenceView, { method: 'scsi-pr' }>;

/**
 * Runs `fence-agent fence show --json` on a scsi-pr node and returns its view. Each PR IN is
 * bounded by the fence's commandTimeoutMs: a guest busy with mariadb's start under TCG missed the
 * bound once, and an operator would run it again — so does this, up to `tries` times in all, only
 * on "no answer within". Throws (an assertion) on any other failure, or when the method is not scsi-pr.
 */
export async function fenceShow(node: Pick<ClusterNode, 'agent' | 'name'>, tries = 3): Promise<PrFenceView> {
  let ran = await node.agent(['fence', 'show', '--json']);
  for (let again = 1; again < tries && ran.exitCode !== 0 && /no answer within/.test(ran.stderr); again++) ran = await node.agent(['fence', 'show', '--json']);
  if (ran.exitCode !== 0) throw new Error(`fence show on ${node.name}: exit ${ran.exitCode}: ${ran.stderr.trim()}`);
  const view = JSON.parse(ran.stdout) as FenceView;
  if (view.method !== 'scsi-pr') throw new Error(`fence show on ${node.name}: method ${view.method}, expected scsi-pr`);
  return view;
}
