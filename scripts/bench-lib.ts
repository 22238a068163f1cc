// What the benchmarks share: their statistics and, for the two-node ones, the pair's VIP and a
// steady pair to start a run from. Not a benchmark itself (scripts/bench.ts names those).
import { readFileSync } from 'node:fs';
import type { Ledger } from '../lab/ledger.ts';
import type { LabNode } from '../lab/node.ts';
import { fibHasLocal } from '../lab/monitor.ts';
import { VIP, type PairLab } from '../lab/pair.ts';
import { delay, waitFor } from '../lab/wait.ts';

/** The median of `xs` (the mean of the middle two for an even count); NaN for none. */
export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0 ? Number.NaN : s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/** Milliseconds, rounded, with the unit. */
export const fmt = (ms: number): string => `${Math.round(ms)} ms`;

/** Whether the pair's VIP is a local address of `node` (its anchor's fib_trie: no process spawned). */
export const vipOn = (node: LabNode): boolean => {
  try {
    return node.anchorPid !== null && fibHasLocal(readFileSync(`/proc/${node.anchorPid}/net/fib_trie`, 'utf8'), VIP);
  } catch {
    return false;
  }
};

/**
 * A pair to start a failover run from: converged (a healthy MASTER and BACKUP), the VIP still on
 * the MASTER after `settleMs`, and the ledger's writes flowing (5 more acknowledged).
 * @throws Error when the VIP moved while settling, or a wait ran out
 */
export async function steadyPair(lab: PairLab, ledger: Ledger, settleMs: number): Promise<{ master: LabNode; backup: LabNode }> {
  const { master, backup } = await lab.waitConverged();
  await delay(settleMs);
  if ((await lab.vipHolder()) !== master) throw new Error('the VIP moved while settling');
  const acked = ledger.acks().length;
  await waitFor('writes flowing', () => ledger.acks().length > acked + 5, 30_000, 10);
  return { master, backup };
}
