// The two-VM lab's foundation, against real QEMU guests, tgtd and nfs-ganesha (scripts/test-vm.sh;
// not part of scripts/test.sh). One lab for the whole file: up → the checks → down, and down must
// leave nothing behind.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { VmLab, type UpTimings } from '../../lab/vm/lab.ts';
import type { GuestFacts } from '../../lab/vm/facts.ts';
import { namespaces, netnsExists } from '../../lab/vm/net.ts';
import { labDirs } from '../../lab/vm/state.ts';
import { tgtdControlPorts } from '../../lab/vm/tgt.ts';
import { writeRemoteProgram } from '../../lab/vm/ssh.ts';
import { formatKey, reservationKey } from '../../fence/scsi-pr/key.ts';
import { watchHolder } from '../../fence/scsi-pr/mmp.ts';
import { createScsiPrFence } from '../../fence/scsi-pr.ts';
import { PrDevice, WERO } from '../../fence/scsi-pr/sg-persist.ts';
import { pairConfig } from '../../lab/vm/pair.ts';

const TAG = `t${process.pid % 100000}`;
const log = (line: string): void => console.log(`# ${line}`);

/** Pids of processes whose argv mentions `needle`. */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

describe('two-VM lab: two kernels on one iSCSI LUN', () => {
  let lab: VmLab;
  let timings: UpTimings;
  let facts: GuestFacts[];

  // the first up of a fresh machine builds the guest image (~8 min cold here)
  before(
    async () => {
      ({ lab, timings } = await VmLab.up({ tag: TAG, log }));
      facts = await Promise.all(lab.nodes.map((node) => node.facts()));
      log(`up in ${(timings.total / 1000).toFixed(1)} s (image ${(timings.image / 1000).toFixed(1)} s, ssh ${JSON.stringify(timings.ssh)} ms)`);
    },
    { timeout: 30 * 60_000 },
  );

  after(
    async () => {
      await VmLab.down(TAG, log);
    },
    { timeout: 5 * 60_000 },
  );

  it('boots two VMs with their own hostname, machine id and iSCSI initiator name', () => {
    assert.equal(facts.length, 2);
    const [one, two] = facts as [GuestFacts, GuestFacts];
    assert.deepEqual([one.hostname, two.hostname], ['node1', 'node2']);
    assert.match(one.machineId, /^[0-9a-f]{32}$/);
    assert.match(two.machineId, /^[0-9a-f]{32}$/);
    assert.notEqual(one.machineId, two.machineId, 'clones of one image must not share a machine id');
    assert.deepEqual([one.initiator, two.initiator], ['iqn.2025-01.lab.vmlab:node1', 'iqn.2025-01.lab.vmlab:node2']);
  });

  it('shows both VMs the one LUN as /dev/sdb1 (same partition and filesystem UUIDs)', () => {
    for (const f of facts) {
      assert.match(f.lsblk, /^sdb\s+512M\s+disk\s+iscsi/m, f.lsblk);
      assert.match(f.lsblk, /sdb1\s+511M\s+part\s+ext4\s+shared/, f.lsblk);
    }
    const [one, two] = facts as [GuestFacts, GuestFacts];
    assert.equal(one.partUuid, '5fa1ab1e-01');
    assert.equal(two.partUuid, one.partUuid);
    assert.match(one.fsUuid, /^[0-9a-f-]{36}$/);
    assert.equal(two.fsUuid, one.fsUuid);
  });

  it('makes a PR registration by VM1 visible to VM2 (sg_persist --read-keys), then clears it', async () => {
    const [one, two] = lab.nodes as [(typeof lab.nodes)[0], (typeof lab.nodes)[0]];
    // one retry on a unit attention (exit 6): the first PR command after a change may get it
    const readKeys = async (): Promise<string> => {
      const first = await two.run('sg_persist --in --read-keys /dev/sdb');
      if (first.exitCode === 6) return two.ok('sg_persist --in --read-keys /dev/sdb');
      assert.equal(first.exitCode, 0, first.stderr);
      return first.stdout;
    };
    assert.match(await readKeys(), /there are NO registered reservation keys/);
    await one.ok('sg_persist --out --register --param-sark=0x1111 /dev/sdb');
    assert.match(await readKeys(), /1 registered reservation key follows:\s+0x1111/);
    await one.ok('sg_persist --out --clear --param-rk=0x1111 /dev/sdb');
    assert.match(await readKeys(), /there are NO registered reservation keys/);
  });

  it('drives tgtd through the PR command layer (fence/scsi-pr): WERO, PREEMPT AND ABORT refused, PREEMPT, the victim fenced', async () => {
    const [one, two] = lab.nodes as [(typeof lab.nodes)[0], (typeof lab.nodes)[0]];
    const dir = mkdtempSync(path.join(tmpdir(), 'vmlab-pr-'));
    try {
      // the layer runs here; its sg_persist/sg_turs are the guests' (through ssh)
      const device = (node: typeof one): PrDevice => {
        mkdirSync(path.join(dir, node.name));
        return new PrDevice('/dev/sdb', {
          commandTimeoutMs: 30_000,
          sgPersist: writeRemoteProgram(node.ssh, path.join(dir, node.name), 'sg_persist'),
          sgTurs: writeRemoteProgram(node.ssh, path.join(dir, node.name), 'sg_turs'),
        });
      };
      const [pr1, pr2] = [device(one), device(two)];
      const K1 = reservationKey('vmlab', '1');
      const K2 = reservationKey('vmlab', '2');
      await pr1.clearUnitAttentions();
      await pr2.clearUnitAttentions();
      assert.deepEqual((await pr1.readKeys()).keys, [], 'a clean LU');
      await pr1.register(K1);
      await pr1.reserve(K1);
      assert.deepEqual((await pr2.readReservation()).holder, { key: K1, type: WERO, scope: 'LU_SCOPE' }, 'node2 reads node1\'s WERO reservation');
      await pr2.register(K2);
      assert.deepEqual((await pr2.readKeys()).keys, [K1, K2]);
      await assert.rejects(pr2.reserve(K2), { code: 'EPRCONFLICT' }, 'node1 holds it');
      // tgtd does not implement PREEMPT AND ABORT: ILLEGAL REQUEST, nothing changed
      await assert.rejects(pr2.preempt(K2, K1, { abort: true }), { code: 'EPRILLEGAL' });
      assert.deepEqual((await pr2.readKeys()).keys, [K1, K2], 'the refused PREEMPT AND ABORT changed nothing');
      await pr2.preempt(K2, K1, { abort: false });
      assert.deepEqual((await pr2.readKeys()).keys, [K2], 'node1 is no registrant any more');
      assert.deepEqual((await pr2.readReservation()).holder?.key, K2);
      // the victim: its next command reports the preemption once (unless the kernel's own I/O took it)
      const seen = await pr1.clearUnitAttentions();
      log(`node1's unit attentions after the preemption: ${JSON.stringify(seen)}`);
      assert.ok(seen.every((sense) => /preempted/i.test(sense)), JSON.stringify(seen));
      const write = await one.run('dd if=/dev/zero of=/dev/sdb bs=512 count=1 seek=100 oflag=direct conv=notrunc 2>&1');
      assert.notEqual(write.exitCode, 0, 'the storage refuses the fenced node\'s write');
      assert.match(write.stdout, /Invalid exchange|Input\/output error/, write.stdout);
      await pr2.unregister(K2);
      assert.deepEqual((await pr1.readKeys()).keys, [], 'unregistering the holder left no key');
      assert.equal((await pr1.readReservation()).holder, null, 'and no reservation (WERO goes with its holder)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('mounts the NFS lease storage in both VMs: what one writes, the other reads', async () => {
    // actimeo=0 reads back as the four attribute cache times at 0
    for (const f of facts) assert.match(f.leaseMount, /^192\.168\.58\.254:\/lease\s+nfs4\s+rw,.*acregmin=0,acregmax=0,acdirmin=0,acdirmax=0,hard,proto=tcp/, f.leaseMount);
    const [one, two] = lab.nodes as [(typeof lab.nodes)[0], (typeof lab.nodes)[0]];
    const token = `written-by-node1-${Date.now()}`;
    await one.ok(`echo ${token} > /mnt/lease/vmtest && sync /mnt/lease/vmtest`);
    assert.equal((await two.ok('cat /mnt/lease/vmtest')).trim(), token);
    assert.equal(readFileSync(path.join(lab.leaseDir, 'vmtest'), 'utf8').trim(), token, 'the export on the host');
    await two.ok('rm /mnt/lease/vmtest');
    assert.equal((await one.run('test -e /mnt/lease/vmtest')).exitCode, 1, 'the removal is seen at once (actimeo=0)');
  });

  it('joins both VMs and the client namespace on the cluster link, which the lab can cut and restore', async () => {
    const [one] = lab.nodes as [(typeof lab.nodes)[0]];
    assert.equal((await one.run('ping -c1 -W3 192.168.57.12')).exitCode, 0, 'node1 → node2');
    const fromClient = await lab.clientExec(['bash', '-c', 'exec 3<>/dev/tcp/192.168.57.11/22 && head -c 4 <&3'], { timeoutMs: 10_000 });
    assert.equal(fromClient.stdout, 'SSH-', 'the client namespace reaches node1 on the cluster link');
    await lab.setLink(1, 'cluster', false);
    try {
      assert.notEqual((await one.run('ping -c1 -W2 192.168.57.12')).exitCode, 0, 'cut: node1 no longer reaches node2');
      assert.equal((await one.run('ping -c1 -W3 192.168.58.254')).exitCode, 0, 'the storage network is another link');
    } finally {
      await lab.setLink(1, 'cluster', true);
    }
    assert.equal((await one.run('ping -c1 -W3 192.168.57.12')).exitCode, 0, 'restored');
  });

  it('installs the pair but starts none of it; softdog is watchdog0 with the agent’s 8 s', () => {
    for (const f of facts) {
      assert.equal(f.enabled['mariadb.service'], 'disabled');
      assert.equal(f.enabled['mariadb.socket'], 'masked');
      assert.equal(f.enabled['keepalived.service'], 'disabled');
      assert.equal(f.enabled['fence-agent.service'], 'disabled');
      assert.equal(f.enabled['watchdog.service'], 'masked');
      for (const unit of ['mariadb.service', 'keepalived.service', 'fence-agent.service']) assert.equal(f.active[unit], 'inactive', unit);
      assert.equal(f.active['vmlab-iscsi.service'], 'active');
      assert.equal(f.active['vmlab-lease.service'], 'active');
      assert.equal(f.watchdog.identity, 'Software Watchdog');
      assert.equal(f.watchdog.timeoutS, 8);
      assert.match(f.node, /^v20\./);
    }
  });

  it('runs the copied agent in the guest: config check of the generated configuration', () => {
    for (const f of facts) assert.equal(f.configCheck.exitCode, 0, f.configCheck.output);
  });

  // last before down: after node1 was paused ~15 s its lease mount answered EIO (its NFSv4 lease
  // with ganesha lapsed, likely), and the NFS test, run after it once, failed on that
  it('scsi-pr fence on real kernels: a live holder (MMP moving) is not preempted; paused, it is, and its writes are refused after it resumes', async () => {
    const [one, two] = lab.nodes as [(typeof lab.nodes)[0], (typeof lab.nodes)[0]];
    const dir = mkdtempSync(path.join(tmpdir(), 'vmlab-fence-'));
    const remote = (node: typeof one, program: string): string => {
      mkdirSync(path.join(dir, node.name), { recursive: true });
      return writeRemoteProgram(node.ssh, path.join(dir, node.name), program);
    };
    const fenceOf = (node: typeof one, nodeId: string) =>
      createScsiPrFence({
        device: new PrDevice('/dev/sdb', { commandTimeoutMs: 30_000, sgPersist: remote(node, 'sg_persist'), sgTurs: remote(node, 'sg_turs') }),
        key: reservationKey('vmlab', nodeId),
        // the holder's heartbeat read by this node, from its own view of the LUN
        checkHolder: (signal) => watchHolder('/dev/sdb1', { timeoutMs: 30_000, signal, pollMs: 1000, programs: { dumpe2fs: remote(node, 'dumpe2fs'), dd: remote(node, 'dd') } }),
        drainMs: 2000,
        watchIntervalMs: 1000,
        log: { info: (_o: object, m: string) => log(`${node.name} fence: ${m}`), warn: (_o: object, m: string) => log(`${node.name} fence: ${m}`), error: (_o: object, m: string) => log(`${node.name} fence: ${m}`) },
      });
    const fence1 = fenceOf(one, '1');
    const fence2 = fenceOf(two, '2');
    try {
      await one.ok('tune2fs -O mmp -E mmp_update_interval=1 /dev/sdb1');
      // the agent's own `config check` of a scsi-pr configuration, in the guest: the LU from
      // sysfs, the MMP heartbeat, the keys read through the real initiator
      const prConfig = (node: typeof one): string => `${JSON.stringify(pairConfig(node.name, { fence: 'scsi-pr' }))}\n`;
      const configCheck = async (node: typeof one): Promise<string> => {
        const ran = await node.run('umask 077 && cat > /tmp/fa-pr.json && /usr/local/bin/fence-agent config check --config /tmp/fa-pr.json >/dev/null', { input: prConfig(node), timeoutMs: 120_000 });
        assert.equal(ran.exitCode, 0, ran.stderr);
        return ran.stderr;
      };
      const unregistered = await configCheck(one);
      assert.match(unregistered, /\/dev\/sdb1: MMP block \d+, update interval 1 s/);
      assert.match(unregistered, new RegExp(`/dev/sdb: this node's key ${formatKey(reservationKey('vmlab', 'node1'))}; registered none; no reservation`));
      assert.equal((await fence1.acquire(AbortSignal.timeout(120_000))).held, true);
      assert.match(await configCheck(two), new RegExp(`/dev/sdb: this node's key ${formatKey(reservationKey('vmlab', 'node2'))}; registered ${formatKey(reservationKey('vmlab', '1'))}; reserved type 5 by ${formatKey(reservationKey('vmlab', '1'))}`));
      await one.ok('mkdir -p /mnt/fence-test && mount /dev/sdb1 /mnt/fence-test', { timeoutMs: 120_000 });
      // a partition: node1's kernel keeps writing its MMP block, so node2 must not preempt
      await assert.rejects(fence2.acquire(AbortSignal.timeout(120_000)), { code: 'EHOLDERALIVE', message: /holder alive: .*being updated by node1/ });
      assert.equal((await fence2.verify()).holder, formatKey(reservationKey('vmlab', '1')), 'node1 keeps the reservation');
      assert.deepEqual((await fence2.verify()).registrants, [formatKey(reservationKey('vmlab', '1'))], 'node2 stayed unregistered');
      // node1's whole VM paused: its MMP block stops moving; after the kernel's wait node2 preempts
      await one.pause();
      let resumed = false;
      try {
        const started = Date.now();
        const status = await fence2.acquire(AbortSignal.timeout(180_000));
        log(`node2 took the LU from the paused node1 in ${((Date.now() - started) / 1000).toFixed(1)} s (${fence2.lastPreempt()}): ${status.detail}`);
        assert.equal(status.held, true, status.detail);
        assert.equal(fence2.lastPreempt(), 'preempt', 'tgtd refuses PREEMPT AND ABORT');
        assert.deepEqual(status.registrants, [formatKey(reservationKey('vmlab', '2'))]);
        await two.ok('mkdir -p /mnt/fence-test && mount /dev/sdb1 /mnt/fence-test && echo node2 > /mnt/fence-test/owner && sync', { timeoutMs: 120_000 });
        await one.resume();
        resumed = true;
        // node1's kernel, resumed: the storage refuses its writes
        const write = await one.run('dd if=/dev/zero of=/dev/sdb bs=512 count=1 seek=100 oflag=direct conv=notrunc 2>&1');
        assert.notEqual(write.exitCode, 0, `the resumed node1 must not write: ${write.stdout}`);
        const filed = await one.run('echo node1 > /mnt/fence-test/late && sync /mnt/fence-test/late 2>&1', { timeoutMs: 60_000 });
        assert.notEqual(filed.exitCode, 0, 'nor through its stale mount');
        assert.equal((await two.ok('cat /mnt/fence-test/owner')).trim(), 'node2');
        log(`node1's kernel after resuming: ${(await one.run('dmesg | grep -E "reservation conflict|MMP|EXT4-fs (error|warning)" | tail -n 4')).stdout.trim().replace(/\n/g, ' | ')}`);
      } finally {
        if (!resumed) await one.resume();
      }
    } finally {
      fence1.stop();
      fence2.stop();
      await one.run('umount /mnt/fence-test || umount -l /mnt/fence-test', { timeoutMs: 60_000 });
      await two.run('umount /mnt/fence-test', { timeoutMs: 60_000 });
      await fence2.release(AbortSignal.timeout(60_000)).catch(() => undefined);
      await lab.resetReservations();
      await two.run('tune2fs -O ^mmp /dev/sdb1', { timeoutMs: 60_000 });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('down leaves nothing: no QEMU, tgtd, ganesha, namespace, tap or file', async () => {
    const { state } = lab;
    const removed = await VmLab.down(TAG, log);
    assert.ok(removed.some((line) => line.startsWith('VM node1')), removed.join('\n'));
    const ns = namespaces(TAG);
    assert.equal(netnsExists(ns.lab), false);
    assert.equal(netnsExists(ns.client), false);
    assert.deepEqual(processesMentioning(`vl-${TAG}-node`), [], 'QEMU');
    assert.ok(!tgtdControlPorts().includes(state.tgtd?.controlPort ?? -1), 'tgtd');
    assert.deepEqual(processesMentioning(path.join(state.workDir, 'ganesha')), [], 'ganesha');
    const { runDir, workDir } = labDirs(TAG);
    assert.equal(existsSync(runDir), false);
    assert.equal(existsSync(workDir), false);
    assert.equal(existsSync(`/var/run/tgtd/socket.${state.tgtd?.controlPort}`), false);
    assert.deepEqual(await VmLab.down(TAG, log), [], 'a second down finds nothing');
  });
});
