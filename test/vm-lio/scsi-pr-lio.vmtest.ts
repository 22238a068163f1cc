// One LIO smoke run (issue 9 §3): the LUN served by the Linux kernel's SCSI target (LIO, in a
// third VM: lab/vm/lio.ts) instead of tgtd, the pair fenced with scsi-pr, and the MASTER powered
// off (pr-master-crash). The BACKUP must take over with PREEMPT AND ABORT — which tgtd refuses,
// so the tgtd lab only ever shows the fallback (plain PREEMPT and a drain wait) — and say so in
// its log and `status`. Also: the target reports persistence (PTPL_C) and what it implements.
// Not in CI since 2026-12-05: the Vagrant lab's test (test/vm/vagrant.vmtest.ts) is CI's LIO run
// now — its san is LIO, its take-over must be PREEMPT AND ABORT and its registration APTPL — and
// CI's 60 minutes had no room for both. This file adds what that one does not: the failover under
// the invariant monitor (pr-master-crash through the scenario harness) and the APTPL state in
// LIO's PR database. `npm run test:lio` runs it (~5 min with the guest image cached).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { scenarioById } from '../../lab/scenario/catalog.ts';
import { runScenario } from '../../lab/scenario/harness.ts';
import { fenceShow } from '../../lab/scenario/probes.ts';
import { VmLab } from '../../lab/vm/lab.ts';
import { VmCluster } from '../../lab/vm/vm-cluster.ts';
import { assertTimeLeft, keepFailure } from '../vm/suite-bounds.ts';

const TAG = `lio${process.pid % 10000}`;
const log = (line: string): void => console.log(`# ${line}`);

describe('scsi-pr against LIO (the kernel target in a third VM)', () => {
  let lab: VmLab;

  before(
    async () => {
      assertTimeLeft('scsi-pr-lio');
      const up = await VmLab.up({ tag: TAG, storage: 'lio', log });
      lab = up.lab;
      log(`lab up in ${(up.timings.total / 1000).toFixed(1)} s`);
      await VmCluster.warmUp(lab, mkdtempSync(path.join(os.tmpdir(), 'fa-lio-warmup-')), log);
    },
    { timeout: 30 * 60_000 },
  );

  after(
    async () => {
      await VmLab.down(TAG, log);
    },
    { timeout: 5 * 60_000 },
  );

  test('the LU answers PR IN from a node: REPORT CAPABILITIES with persistence (PTPL_C) and WERO among the types', async () => {
    const node = lab.node(1);
    const caps = await node.ok('sg_persist --in --readonly --report-capabilities /dev/sdb', { timeoutMs: 60_000 });
    log(`LIO capabilities: ${caps.replace(/\s+/g, ' ').trim()}`);
    assert.match(caps, /\(PTPL_C\): 1/);
    assert.match(caps, /Write Exclusive, registrants only: 1/);
  });

  test('PR-2 on LIO: the MASTER powered off, the BACKUP takes over by PREEMPT AND ABORT (no drain wait), and its status says so', { timeout: 15 * 60_000 }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fa-lio-scenario-'));
    const result = await runScenario(scenarioById('pr-master-crash'), (options) => VmCluster.fresh(lab, { ...options, dir, log }), 'vm');
    log(`pr-master-crash on LIO: ${JSON.stringify({ passed: result.passed, durationMs: result.durationMs, timings: result.timings, counts: result.counts })}`);
    if (!result.passed) throw keepFailure('lio-pr-master-crash', result);
    assert.equal(result.counts['take-overs by PREEMPT AND ABORT'], 1, 'the take-over used PREEMPT AND ABORT');
    assert.equal(result.counts['take-overs by plain PREEMPT'], 0, 'no fallback to plain PREEMPT');
  });

  test('fence.aptpl auto on LIO: the agent reads PTPL_C, registers with APTPL, and the target keeps the reservation in its PR database (PTPL_A 1)', { timeout: 15 * 60_000 }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fa-lio-aptpl-'));
    const cluster = await VmCluster.fresh(lab, { fence: 'scsi-pr', aptpl: 'auto', dir, log });
    try {
      const { master, backup } = await cluster.waitConverged(240_000);
      const said = await master.logLines(/^REPORT CAPABILITIES: /);
      assert.match(said[0]?.msg ?? '', /PTPL_C\): registering with APTPL$/, `the MASTER's log: ${said.map((l) => l.msg).join(' | ')}`);
      const caps = await lab.node(backup.name === 'node1' ? 1 : 2).ok('sg_persist --in --readonly --report-capabilities /dev/sdb', { timeoutMs: 60_000 });
      assert.match(caps, /\(PTPL_A\): 1/, `persistence active after the APTPL registration: ${caps}`);
      // LIO writes the APTPL state under its dbroot (lab/vm/lio.ts: /etc/target/pr)
      const storage = lab.storageVm;
      assert.ok(storage !== null, 'the LIO lab has its storage VM');
      const files = await storage.ok('cat /etc/target/pr/aptpl_* 2>/dev/null || true', { timeoutMs: 30_000 });
      log(`LIO APTPL metadata: ${files.replace(/\s+/g, ' ').trim()}`);
      const ours = (await fenceShow(master)).thisNodeKey;
      assert.ok(files.includes(ours) || files.includes(BigInt(ours).toString()), `the PR database holds the MASTER's key ${ours}`);
    } finally {
      const fsck = await cluster.destroy();
      assert.equal(fsck?.clean, true, `fsck -n after the aptpl run: ${fsck?.output ?? ''}`);
    }
  });
});
