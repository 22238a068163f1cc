// Every scenario of the catalog that runs in the VM lab (lab/scenario/catalog.ts, `labs` not
// netns-only), on one booted two-VM lab: each gets a freshly restarted pair on it
// (VmCluster.fresh), the ledger writing through the VIP from the client namespace, the invariant
// monitor reading the guests' samplers, `fsck -n` of the LUN afterwards. A failed scenario writes
// each node's whole log (agent log and journal of every boot, streamed to the host as written,
// and the console's tail) to $VM_SCENARIO_LOGS (default /var/tmp/fence-agent-vm-scenarios) and
// names the files in its error; its error and result (without the logs) go to <id>.error there.
// $VM_SCENARIOS (comma-separated ids) runs only those; an id the catalog does not have fails the
// file before the lab boots. $VM_SCENARIOS_START_BY (epoch ms, set by .ci/run from CI's time
// limit) is the last moment a scenario may start: a later one fails at once, saying so, so that a
// run slowed by failures ends red with its reasons instead of being cut off by CI's limit.
import { after, before, describe, test } from 'node:test';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SCENARIOS } from '../../lab/scenario/catalog.ts';
import { runScenario } from '../../lab/scenario/harness.ts';
import { VmLab } from '../../lab/vm/lab.ts';
import { VmCluster } from '../../lab/vm/vm-cluster.ts';
import { assertTimeLeft, keepFailure } from './suite-bounds.ts';

const TAG = `s${process.pid % 100000}`;
const log = (line: string): void => console.log(`# ${line}`);

/** A scenario that runs longer than this failed (the longest passing one took ~4 min under TCG). */
const SCENARIO_TIMEOUT_MS = 15 * 60_000;

const IN_VM = SCENARIOS.filter((s) => s.labs === undefined || s.labs.includes('vm'));

/** The VM scenarios $VM_SCENARIOS names (all when unset or empty). @throws on an id no VM scenario has */
function selected(list: string | undefined): typeof IN_VM {
  const ids = (list ?? '').split(',').map((id) => id.trim()).filter((id) => id !== '');
  if (ids.length === 0) return IN_VM;
  const unknown = ids.filter((id) => !IN_VM.some((s) => s.id === id));
  if (unknown.length > 0) throw new Error(`VM_SCENARIOS: no VM scenario ${unknown.join(', ')} (expected ids from: ${IN_VM.map((s) => s.id).join(', ')})`);
  return IN_VM.filter((s) => ids.includes(s.id));
}
const RUN = selected(process.env.VM_SCENARIOS);

describe('the scenarios on two VMs (two kernels, systemd, mariadb.service, one iSCSI LUN)', () => {
  let lab: VmLab;

  // the first up of a fresh machine builds the guest image (~8 min cold here)
  before(
    async () => {
      const up = await VmLab.up({ tag: TAG, log });
      lab = up.lab;
      log(`lab up in ${(up.timings.total / 1000).toFixed(1)} s`);
      // a warm-up pair first: the first pair after a boot is special under TCG (VmCluster.warmUp)
      await VmCluster.warmUp(lab, mkdtempSync(path.join(os.tmpdir(), 'fa-vm-warmup-')), log);
    },
    { timeout: 30 * 60_000 },
  );

  after(
    async () => {
      await VmLab.down(TAG, log);
    },
    { timeout: 5 * 60_000 },
  );

  for (const scenario of RUN) {
    // one scenario: a fresh pair (≤ 4 min), the body, the pair's stop and fsck; the longest took 4 min
    test(scenario.title, { timeout: SCENARIO_TIMEOUT_MS }, async () => {
      assertTimeLeft(scenario.id);
      const result = await runScenario(scenario, (options) => VmCluster.fresh(lab, { ...options, dir: mkdtempSync(path.join(os.tmpdir(), 'fa-vm-scenario-')), log }), 'vm');
      log(`${scenario.id}: ${result.passed ? 'passed' : 'FAILED'} in ${(result.durationMs / 1000).toFixed(1)} s; acked ${result.acked}, monitor ${result.monitorHz} Hz, timings ${JSON.stringify(result.timings)}, counts ${JSON.stringify(result.counts)}`);
      if (result.passed) return;
      throw keepFailure(scenario.id, result);
    });
  }
});
