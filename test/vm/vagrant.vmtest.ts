// Issue 10: the Vagrant lab for real — libvirtd and virtlogd in a network namespace the lab makes,
// the project's box (the QEMU lab's image), `vagrant up` of san (LIO), node1 and node2, each node
// provisioned by README "Install" step by step (lab/vagrant/provision.ts). Then the demo
// (lab/vagrant/demo.ts, what `npm run vagrant -- demo` runs): the ledger writing through the VIP,
// `virsh suspend` of the MASTER, the peer takes over by PREEMPT AND ABORT (LIO implements it) and
// the suspended node's key is gone, `virsh resume`, the old MASTER ends a healthy BACKUP on its
// own; then `vagrant destroy -f` and nothing left behind (namespace, bridges, dnsmasq, domains,
// volumes, pools, networks). This is also CI's LIO run: PREEMPT AND ABORT and APTPL on the
// kernel's target.
//
// In CI (scripts/test-vm.sh runs every file of test/vm; it sorts after scenarios.vmtest.ts, whose
// lab is down by then). Alone: `npm run build && node --import tsx --test test/vm/vagrant.vmtest.ts`.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { demo, type DemoResult } from '../../lab/vagrant/demo.ts';
import { hostDown, leftovers, WORK_DIR } from '../../lab/vagrant/host.ts';
import { fenceShow, machineTargets, vagrantLabUp, type VagrantMachineTarget } from '../../lab/vagrant/lab.ts';
import { assertTimeLeft, SCENARIO_LOGS } from './suite-bounds.ts';

const log = (line: string): void => console.log(`# ${line}`);
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Keeps vagrant's log for CI (the work directory goes with `down`). */
function keepVagrantLog(): void {
  const file = path.join(WORK_DIR, 'vagrant.log');
  if (!existsSync(file)) return;
  mkdirSync(SCENARIO_LOGS, { recursive: true });
  copyFileSync(file, path.join(SCENARIO_LOGS, 'vagrant.log'));
}

describe('the Vagrant lab: vagrant up, a failover demo, vagrant destroy', () => {
  let machines: Record<string, VagrantMachineTarget>;
  let failed = false;
  /** Runs a test's body; a failure keeps vagrant's log for CI (after()). */
  const recorded = async (body: () => Promise<void>): Promise<void> => {
    try {
      await body();
    } catch (error) {
      failed = true;
      throw error;
    }
  };

  before(
    async () => {
      assertTimeLeft('vagrant');
      const left = await leftovers();
      assert.deepEqual(left, [], 'no Vagrant lab on this machine before the test');
      try {
        const t = await vagrantLabUp(log);
        log(`vagrant lab up in ${seconds(t.totalMs)}: image ${seconds(t.imageMs)}, prepare ${seconds(t.prepareMs)}, host side ${seconds(t.hostMs)}, box ${seconds(t.boxMs)}, vagrant up ${seconds(t.upMs)}`);
        machines = await machineTargets();
      } catch (error) {
        keepVagrantLog();
        throw error;
      }
    },
    { timeout: 45 * 60_000 },
  );

  after(
    async () => {
      if (failed) keepVagrantLog();
      await hostDown(log);
    },
    { timeout: 10 * 60_000 },
  );

  test('vagrant up gives a healthy MASTER (node1) holding WERO alone on LIO, with APTPL, and a healthy BACKUP (node2)', { timeout: 10 * 60_000 }, () => recorded(async () => {
    const node1 = machines.node1 as VagrantMachineTarget;
    const node2 = machines.node2 as VagrantMachineTarget;
    const c1 = await node1.run('fence-agent check');
    const c2 = await node2.run('fence-agent check');
    log(`node1: ${c1.stderr.trim()}`);
    log(`node2: ${c2.stderr.trim()}`);
    assert.match(c1.stderr, /^fence-agent check: healthy MASTER: VIP 192\.168\.56\.100 held/m);
    assert.match(c2.stderr, /^fence-agent check: healthy BACKUP: no VIP, not mounted, no mysqld/m);
    const shown = await fenceShow(node1);
    assert.deepEqual(shown.keys, [shown.thisNodeKey], 'node1 alone registered');
    assert.equal(shown.reservation?.key, shown.thisNodeKey);
    assert.equal(shown.reservation?.type, 5, 'Write Exclusive – Registrants Only');
    const caps = await node1.run('sg_persist --in --readonly --report-capabilities /dev/sdb');
    log(`LIO capabilities: ${caps.stdout.replace(/\s+/g, ' ').trim()}`);
    assert.match(caps.stdout, /\(PTPL_A\): 1/, 'fence.aptpl auto: node1 registered with APTPL on a target that persists (PTPL_C)');
    const machineIds = await Promise.all(['san', 'node1', 'node2'].map(async (name) => (await (machines[name] as VagrantMachineTarget).run('cat /etc/machine-id')).stdout.trim()));
    assert.equal(new Set(machineIds).size, 3, `each machine its own machine id: ${machineIds.join(', ')}`);
    const initiators = await Promise.all([node1, node2].map(async (node) => (await node.run('cat /etc/iscsi/initiatorname.iscsi')).stdout.trim()));
    assert.notEqual(initiators[0], initiators[1], 'each node its own iSCSI initiator name');
    assert.equal((await node2.run('systemctl is-enabled mariadb')).stdout.trim(), 'disabled', 'mariadb.service is started by the agent only');
  }));

  test('virsh suspend of the MASTER: node2 takes over by PREEMPT AND ABORT with no row lost; resumed, node1 ends a healthy BACKUP, unregistered', { timeout: 20 * 60_000 }, () => recorded(async () => {
    const result: DemoResult = await demo({ log, suspendMs: 30_000 });
    log(`demo: ${JSON.stringify(result)}`);
    assert.equal(result.master, 'node1');
    assert.equal(result.peer, 'node2');
    assert.equal(result.takenOverBy, 'PREEMPT AND ABORT', 'LIO implements PREEMPT AND ABORT: no fallback, no drain wait');
    assert.deepEqual(result.keysAfter, [result.peerKey], "the suspended node's key is gone: the storage refuses its writes");
    assert.ok(result.acks > 0, 'the ledger wrote');
    assert.equal(result.lost, 0, 'every acknowledged row on the survivor');
    assert.equal(result.lateAcks, 0, "no row acknowledged by the old MASTER after the survivor's first");
    assert.match(result.oldMasterLine, /^healthy BACKUP: no VIP, not mounted, no mysqld/);
    const shown = await fenceShow(machines.node2 as VagrantMachineTarget);
    assert.deepEqual(shown.keys, [shown.thisNodeKey], 'node1 did not register again: only node2 holds a key');
  }));

  test('npm run vagrant -- down (vagrant destroy -f and the host side) leaves nothing behind', { timeout: 10 * 60_000 }, async () => {
    if (failed) keepVagrantLog();
    const left = await hostDown(log);
    assert.deepEqual(left, []);
  });
});
