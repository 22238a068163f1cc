// Scenario harness for the two-node lab: every scenario gets a fresh pair, the invariant monitor
// (20 Hz) and the write ledger running the whole time; afterwards it asserts that the invariants
// held, every acknowledged row survived, and `fsck -n` is clean after `lab down` — pass or fail,
// everything the scenario created is removed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ledger } from '../../lab/ledger.ts';
import { InvariantMonitor } from '../../lab/monitor.ts';
import type { LabNode } from '../../lab/node.ts';
import { PairLab, type PairOptions } from '../../lab/pair.ts';
import { waitFor } from '../../lab/wait.ts';
import { check, logTail } from '../helpers/agent.ts';
import { stateOf } from '../helpers/agent.ts';

export interface ScenarioContext {
  lab: PairLab;
  monitor: InvariantMonitor;
  ledger: Ledger;
  /** the MASTER after the lab came up */
  master: LabNode;
  backup: LabNode;
}

/** Waits until `node` (or whichever node, if omitted) is a healthy MASTER holding the VIP. */
export async function waitMaster(lab: PairLab, node?: LabNode, timeoutMs = 60_000): Promise<LabNode> {
  let last = '';
  try {
    return await waitFor(
      `a healthy MASTER${node ? ` on ${node.name}` : ''}`,
      async () => {
        const holder = await lab.vipHolder().catch(() => null);
        if (holder === null || (node !== undefined && holder !== node)) return null;
        const result = await check(holder);
        last = `${holder.name}: ${result.line}`;
        return result.code === 0 && result.line.includes('healthy MASTER:') && !result.line.includes('in progress') ? holder : null;
      },
      timeoutMs,
      100,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last: ${last}\n${lab.nodes.map((n) => `--- ${n.name}\n${logTail(n, 15)}`).join('\n')}`, { cause: error });
  }
}

/** Waits until the ledger has acknowledged at least `count` more rows than now. */
export async function waitAcks(ledger: Ledger, count = 5, timeoutMs = 60_000): Promise<void> {
  const start = ledger.acks().length;
  await waitFor(`${count} more acknowledged INSERTs`, () => ledger.acks().length >= start + count, timeoutMs, 50);
}

/** The id of the last transition a node's daemon finished (to show that nothing moved). */
export const lastTransitionId = (node: LabNode): string | null => stateOf(node)?.lastTransition?.id ?? null;

/**
 * Runs one scenario on a fresh pair. `body` drives it and returns the node that must end as the
 * healthy MASTER (its rows are then compared with the ledger's acknowledgements).
 */
export interface ScenarioOptions extends PairOptions {
  /** a scenario that expects a node's watchdog to reset it; otherwise any fire fails the scenario */
  watchdogMayFire?: boolean;
}

export async function runScenario(body: (ctx: ScenarioContext) => Promise<LabNode>, options: ScenarioOptions = {}): Promise<void> {
  const lab = await PairLab.up(options);
  const monitor = new InvariantMonitor(lab);
  const ledger = new Ledger(lab);
  let failure: unknown = null;
  try {
    const { master, backup } = await lab.waitConverged();
    await monitor.start();
    ledger.start();
    await waitAcks(ledger);
    const finalMaster = await body({ lab, monitor, ledger, master, backup });
    await waitMaster(lab, finalMaster);
    await waitAcks(ledger, 5);
    await ledger.stop();
    monitor.stop();
    const { acked, missing } = await ledger.missingOn(finalMaster);
    assert.ok(acked > 0, 'the ledger acknowledged rows');
    assert.deepEqual(missing, [], `acknowledged rows lost (S4): ${missing.length} of ${acked}`);
    assert.deepEqual(monitor.violations, [], monitor.report());
    if (!options.watchdogMayFire) {
      for (const node of lab.nodes) assert.deepEqual(lab.watchdogFires(node), [], `${node.name}'s watchdog fired: ${JSON.stringify(lab.watchdogEvents(node).slice(-8))}`);
    }
    assert.ok(monitor.rate() >= 20, `monitor sampled at ${monitor.rate().toFixed(1)} Hz`);
  } catch (error) {
    failure = error;
  } finally {
    monitor.stop();
    await ledger.stop();
  }
  const logs = failure === null ? '' : lab.nodes.map((n) => `--- ${n.name} agent log\n${logTail(n, 20)}\n--- ${n.name} keepalived\n${tail(`${n.dir}/keepalived.log`)}`).join('\n');
  const fsck = await lab.destroy();
  if (failure !== null) {
    // the test reporter shows an assertion's diff, not its message: print the nodes' logs too
    process.stderr.write(`\n${logs}\n`);
    throw failure instanceof Error ? failure : new Error(`scenario failed: ${JSON.stringify(failure)}`);
  }
  assert.equal(fsck?.exitCode, 0, `fsck -n after lab down: ${fsck?.stdout}${fsck?.stderr}`);
}

const tail = (file: string, lines = 12): string => {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(none)';
  }
};
