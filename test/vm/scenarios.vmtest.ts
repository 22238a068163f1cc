// Every scenario of the catalog that runs in the VM lab (lab/scenario/catalog.ts, `labs` not
// netns-only), on one booted two-VM lab: each gets a freshly restarted pair on it
// (VmCluster.fresh), the ledger writing through the VIP from the client namespace, the invariant
// monitor reading the guests' samplers, `fsck -n` of the LUN afterwards. A failed scenario writes
// each node's whole log (agent log and journal of every boot, streamed to the host as written,
// and the console's tail) to $VM_SCENARIO_LOGS (default /var/tmp/fence-agent-vm-scenarios) and
// names the files in its error.
import { after, before, describe, test } from 'node:test';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SCENARIOS } from '../../lab/scenario/catalog.ts';
import { runScenario } from '../../lab/scenario/harness.ts';
import { VmLab } from '../../lab/vm/lab.ts';
import { VmCluster } from '../../lab/vm/vm-cluster.ts';

const TAG = `s${process.pid % 100000}`;
const LOGS = process.env.VM_SCENARIO_LOGS ?? '/var/tmp/fence-agent-vm-scenarios';
const log = (line: string): void => console.log(`# ${line}`);

describe('the scenarios on two VMs (two kernels, systemd, mariadb.service, one iSCSI LUN)', () => {
  let lab: VmLab;

  before(async () => {
    const up = await VmLab.up({ tag: TAG, log });
    lab = up.lab;
    log(`lab up in ${(up.timings.total / 1000).toFixed(1)} s`);
  });

  after(async () => {
    await VmLab.down(TAG, log);
  });

  for (const scenario of SCENARIOS.filter((s) => s.labs === undefined || s.labs.includes('vm'))) {
    test(scenario.title, async () => {
      const result = await runScenario(scenario, (options) => VmCluster.fresh(lab, { ...options, dir: mkdtempSync(path.join(os.tmpdir(), 'fa-vm-scenario-')), log }), 'vm');
      log(`${scenario.id}: ${result.passed ? 'passed' : 'FAILED'} in ${(result.durationMs / 1000).toFixed(1)} s; acked ${result.acked}, monitor ${result.monitorHz} Hz, timings ${JSON.stringify(result.timings)}`);
      if (result.passed) return;
      mkdirSync(LOGS, { recursive: true });
      const files = Object.entries(result.nodeLogs ?? {}).map(([node, text]) => {
        const file = path.join(LOGS, `${scenario.id}.${node}.log`);
        writeFileSync(file, text);
        return file;
      });
      throw new Error(`${scenario.id}: ${result.error ?? 'failed'}${files.length > 0 ? `\nlogs: ${files.join(', ')}` : ''}`);
    });
  }
});
