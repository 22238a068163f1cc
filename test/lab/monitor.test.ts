// The lab's invariant monitor against real processes in this test's own mount namespace: an
// "anchor" (sleep) stands for a node, a copy of sleep named mariadbd stands for its mysqld, and a
// device node made with mknod names either nothing or a filesystem that is really mounted here.
// The superblock rule is shown on a real loop device mounted in a private mount namespace.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ClusterObservation, ClusterObserver, NodeSample } from '../../lab/cluster.ts';
import { fibHasLocal, InvariantMonitor, kernelName, leaseHolderFrom } from '../../lab/monitor.ts';
import { NetnsObserver, type ObservedLab } from '../../lab/netns-observer.ts';
import { LEASE, VIP } from '../../lab/pair.ts';
import { waitFor } from '../../lab/wait.ts';
import { monoNow } from '../../src/clock.ts';
import { deviceNumber, parseMountinfo } from '../../src/probes/mountinfo.ts';
import { Children } from '../helpers/children.ts';
import { scratchDir } from '../helpers/scratch.ts';

const children = new Children();
const { dir } = scratchDir('monitor');

before(() => {
  copyFileSync('/usr/bin/sleep', path.join(dir, 'mariadbd'));
});

after(async () => {
  await children.killAll();
});

const anchor = (): number => {
  const child = children.push(spawn('sleep', ['infinity'], { stdio: 'ignore' }));
  assert.ok(child.pid);
  return child.pid;
};

const fakeMysqld = (): number => {
  const child = children.push(spawn(path.join(dir, 'mariadbd'), ['infinity'], { stdio: 'ignore' }));
  assert.ok(child.pid);
  return child.pid;
};

/** A device node whose number is `majorMinor` ("0:0" is mounted nowhere). */
const deviceNode = (name: string, majorMinor: string): string => {
  const [major, minor] = majorMinor.split(':');
  const device = path.join(dir, name);
  execFileSync('mknod', [device, 'b', major ?? '0', minor ?? '0']);
  return device;
};

/** A lab with one node `db1` anchored by `anchorPid`, its own device `device`, and the lease at `leasePath` (default: none). */
const fakeLab = (anchorPid: number, device: string, leasePath = path.join(dir, 'no-lease')): ObservedLab => ({ nodes: [{ name: 'db1', anchorPid, device }], leasePath });

/** The monitor over the netns observer of `lab` (the VIP of the pair lab; the lease's stale time only matters for v1 records). */
const monitorOf = (lab: ObservedLab): InvariantMonitor => new InvariantMonitor(new NetnsObserver(lab, VIP, LEASE.staleMs));

const stateOf = (pid: number): string => readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0] ?? '?';

describe('InvariantMonitor', () => {
  test('flags S3 when a mysqld runs in the node without the mount', async () => {
    const monitor = monitorOf(fakeLab(anchor(), deviceNode('unmounted', '0:0')));
    await monitor.start();
    monitor.stop();
    fakeMysqld();
    const sample = monitor.sample();
    assert.deepEqual(sample.nodes.db1, { down: false, mounted: false, superblock: false, vip: false, mysqld: 1 });
    assert.deepEqual(
      monitor.violations.map((v) => v.invariant),
      ['S3'],
    );
  });

  test('flags S2, not S3, when the disk is mounted without the lease', async () => {
    const proc = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).find((e) => e.mountpoint === '/proc');
    assert.ok(proc, 'this test needs /proc in its mountinfo');
    const monitor = monitorOf(fakeLab(anchor(), deviceNode('proc', proc.majorMinor)));
    await monitor.start();
    monitor.stop();
    fakeMysqld();
    const sample = monitor.sample();
    assert.equal(sample.nodes.db1?.mounted, true);
    assert.ok((sample.nodes.db1?.mysqld ?? 0) >= 1);
    assert.deepEqual(
      monitor.violations.map((v) => v.invariant),
      ['S2'],
    );
  });

  test('an anchor that dies between the mysqld count and the mount read makes the node down, not S3', async () => {
    const anchorPid = anchor();
    const observer = new NetnsObserver(fakeLab(anchorPid, deviceNode('unmounted-2', '0:0')), VIP, LEASE.staleMs);
    const monitor = new InvariantMonitor(observer);
    await monitor.start();
    monitor.stop();
    // the crash lands exactly after mysqld was counted: kill the anchor there and wait (without
    // yielding) until the kernel has made it a zombie, whose mountinfo can no longer be read
    const counts = (observer as unknown as { mysqldCounts: () => Map<string, number> }).mysqldCounts.bind(observer);
    (observer as unknown as { mysqldCounts: () => Map<string, number> }).mysqldCounts = () => {
      const counted = counts();
      process.kill(anchorPid, 'SIGKILL');
      const until = Date.now() + 2000;
      while (stateOf(anchorPid) !== 'Z' && Date.now() < until);
      return counted;
    };
    const sample = monitor.sample();
    assert.equal(stateOf(anchorPid), 'Z');
    assert.deepEqual(sample.nodes.db1, { down: true, mounted: false, superblock: false, vip: false, mysqld: 0 });
    assert.deepEqual(monitor.violations, []);
  });

  test('a lazily unmounted filesystem still held open counts as mounted (its superblock lives) until its holder exits', async () => {
    // the disk: a small ext4 image on a real loop device
    const image = path.join(dir, 'superblock.img');
    execFileSync('truncate', ['-s', '16M', image]);
    execFileSync('mkfs.ext4', ['-q', '-F', image]);
    const device = execFileSync('losetup', ['--show', '-f', image], { encoding: 'utf8' }).trim();
    const mnt = path.join(dir, 'superblock-mnt');
    mkdirSync(mnt);
    const leasePath = path.join(dir, 'superblock-lease');
    writeFileSync(leasePath, JSON.stringify({ version: 2, state: 'held', node: 'db1' }));
    const superblockDir = `/sys/fs/ext4/${kernelName(await deviceNumber(device)) ?? '?'}`;
    let anchorPid = 0;
    try {
      // the node: a private mount namespace with the disk mounted, anchored by its sleep
      const node = children.push(spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `mount ${device} ${mnt} && exec sleep infinity`], { stdio: 'ignore' }));
      anchorPid = node.pid ?? 0;
      await waitFor('the node mounted and anchored', () => readFileSync(`/proc/${anchorPid}/comm`, 'utf8') === 'sleep\n', 10_000, 20);
      const inMountinfo = (): boolean => parseMountinfo(readFileSync(`/proc/${anchorPid}/mountinfo`, 'utf8')).some((e) => e.mountpoint === mnt);
      assert.ok(inMountinfo(), 'mounted in the node');
      assert.equal(parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).some((e) => e.mountpoint === mnt), false, 'and only there');
      const monitor = monitorOf(fakeLab(anchorPid, device, leasePath));
      await monitor.start();
      monitor.stop();
      assert.ok(existsSync(superblockDir), `${superblockDir} exists while mounted`);
      const before = monoNow();
      assert.deepEqual(monitor.sample().nodes.db1, { down: false, mounted: true, superblock: true, vip: false, mysqld: 0 });
      // a process of the node writes to a file it keeps open; the mount is detached lazily under it
      const holder = children.push(spawn('nsenter', ['-t', String(anchorPid), '-m', '--', 'sh', '-c', `exec 3>${mnt}/held; echo written >&3; exec sleep infinity`], { stdio: 'ignore' }));
      const holderExit = new Promise((resolve) => holder.once('exit', resolve));
      await waitFor('the holder has the file open', () => readlinkSync(`/proc/${holder.pid}/fd/3`).endsWith('/held') && readFileSync(`/proc/${holder.pid}/comm`, 'utf8') === 'sleep\n', 10_000, 20);
      execFileSync('nsenter', ['-t', String(anchorPid), '-m', '--', 'umount', '-l', mnt]);
      assert.equal(inMountinfo(), false, 'gone from the node\'s mountinfo');
      const held = monitor.sample();
      assert.deepEqual(held.nodes.db1, { down: false, mounted: true, superblock: true, vip: false, mysqld: 0 }, 'still mounted: its superblock lives');
      // with the lease released, that is S2: the node can still write without the fence
      writeFileSync(leasePath, JSON.stringify({ version: 2, state: 'released', node: 'db1' }));
      monitor.sample();
      assert.deepEqual(
        monitor.violations.map((v) => v.invariant),
        ['S2'],
      );
      // the holder exits: the last reference goes, and the superblock with it
      holder.kill('SIGKILL');
      await holderExit;
      await waitFor('the superblock gone', () => !monitor.sample().nodes.db1?.superblock, 5000, 10);
      assert.deepEqual(monitor.sample().nodes.db1, { down: false, mounted: false, superblock: false, vip: false, mysqld: 0 });
      // the timeline: the first sample at or after `before` in which the node was mounted
      const first = monitor.firstMounted('db1', before);
      assert.ok(first !== null && first.mono >= before && first.at <= Date.now());
      assert.equal(monitor.firstMounted('db1', monoNow()), null);
    } finally {
      if (anchorPid > 0) {
        try {
          process.kill(anchorPid, 'SIGKILL');
        } catch {
          // gone
        }
        await waitFor('the node gone', () => {
          try {
            return readFileSync(`/proc/${anchorPid}/stat`, 'utf8').includes(') Z');
          } catch {
            return true;
          }
        }, 5000, 10);
      }
      execFileSync('losetup', ['-d', device]);
    }
    await waitFor('no superblock left', () => !existsSync(superblockDir), 5000, 20);
  });

  test('the lease holder: v2 records say it themselves, v1 records need a fresh lock directory', () => {
    const v2 = (state: string, node: string | null = 'db2'): string => JSON.stringify({ version: 2, state, node, bootId: 'b', machineId: 'm', pid: 1, nonce: 'n', counter: 3, writtenAt: 7 });
    assert.equal(leaseHolderFrom(v2('held'), null), 'db2');
    assert.equal(leaseHolderFrom(v2('held'), 60_000), 'db2', 'a v2 record ignores any lock directory');
    assert.equal(leaseHolderFrom(v2('released'), null), null);
    assert.equal(leaseHolderFrom(v2('released'), 0), null);
    const v1 = (node: string | null): string => JSON.stringify({ node, pid: 1, bootId: 'b', at: '2026-01-01T00:00:00Z' });
    assert.equal(leaseHolderFrom(v1('db1'), 500, 3000), 'db1');
    assert.equal(leaseHolderFrom(v1('db1'), 3500, 3000), null, 'stale');
    assert.equal(leaseHolderFrom(v1('db1'), null, 3000), null, 'no lock directory');
    assert.equal(leaseHolderFrom(v1(null), 500, 3000), null, 'released');
    assert.equal(leaseHolderFrom(null, 500, 3000), null, 'no lease file');
    assert.equal(leaseHolderFrom('{"node":"db', 500, 3000), null, 'a record being written');
  });

  test('fibHasLocal finds a /32 host LOCAL entry and nothing else', () => {
    const fib = ['  |-- 10.88.0.100', '     /32 host LOCAL', '  |-- 10.88.0.0', '     /24 link UNICAST'].join('\n');
    assert.equal(fibHasLocal(fib, '10.88.0.100'), true);
    assert.equal(fibHasLocal(fib, '10.88.0.0'), false);
    assert.equal(fibHasLocal(fib, '10.88.0.1'), false);
  });
});

describe('InvariantMonitor with samples of different moments (the VM lab)', () => {
  /** An observer that returns `observation` (no processes: the shape the VM observer produces). */
  const observerOf = (observation: ClusterObservation): ClusterObserver => ({
    nodeNames: Object.keys(observation.nodes),
    start: () => Promise.resolve(),
    observe: () => observation,
    stop: () => undefined,
  });
  const node = (over: Partial<NodeSample>): NodeSample => ({ down: false, mounted: false, superblock: false, vip: false, mysqld: 0, ...over });

  test('flags S1 and two VIPs only when both samples are of the same moment', () => {
    const both = new InvariantMonitor(observerOf({ nodes: { n1: node({ mounted: true, vip: true }), n2: node({ mounted: true, vip: true }) }, leaseHolder: 'n1', leaseHeldBy: { n1: true, n2: true } }));
    both.sample();
    assert.deepEqual(both.violations.map((v) => v.invariant).sort(), ['S1', 'VIP']);
    const late = new InvariantMonitor(observerOf({ nodes: { n1: node({ mounted: true, vip: true, behind: true }), n2: node({ mounted: true, vip: true }) }, leaseHolder: 'n2', leaseHeldBy: { n1: true, n2: true } }));
    late.sample();
    assert.deepEqual(late.violations, [], 'n1 describes an earlier moment: unknown, not a violation');
  });

  test('two VIPs count again only from the first sample that shows one, once the scenario expects a single VIP', () => {
    let observation: ClusterObservation = { nodes: { n1: node({ vip: true }), n2: node({ vip: true }) }, leaseHolder: null };
    const monitor = new InvariantMonitor({ nodeNames: ['n1', 'n2'], start: () => Promise.resolve(), observe: () => observation, stop: () => undefined });
    monitor.expectSingleVip = false;
    monitor.sample();
    monitor.expectSingleVip = true; // the scenario's own check saw one VIP; these samples lag behind it
    monitor.sample();
    assert.equal(monitor.violations.length, 0, 'a sample still showing the partition is not a violation');
    observation = { nodes: { n1: node({ vip: true }), n2: node({}) }, leaseHolder: null };
    monitor.sample();
    observation = { nodes: { n1: node({ vip: true }), n2: node({ vip: true }) }, leaseHolder: null };
    monitor.sample();
    assert.deepEqual(monitor.violations.map((v) => v.invariant), ['VIP'], 'after the monitor saw one VIP, a second is a violation again');
  });

  test('judges S2 by the lease of the sample\'s own moment when the observer gives it', () => {
    const then = new InvariantMonitor(observerOf({ nodes: { n1: node({ mounted: true }) }, leaseHolder: null, leaseHeldBy: { n1: true } }));
    then.sample();
    assert.deepEqual(then.violations, [], 'the lease named n1 when the sample was taken');
    const never = new InvariantMonitor(observerOf({ nodes: { n1: node({ mounted: true }) }, leaseHolder: null, leaseHeldBy: { n1: false } }));
    never.sample();
    assert.deepEqual(never.violations.map((v) => v.invariant), ['S2']);
  });

  test('with scsi-pr, a mount the storage refuses to write through is no violation: S1 needs two writers, S2 a writer without its key', () => {
    const zombie = new InvariantMonitor(observerOf({ nodes: { n1: node({ mounted: true }), n2: node({ mounted: true }) }, leaseHolder: 'n2', leaseHeldBy: { n1: false, n2: true }, ableToWrite: { n1: false, n2: true } }));
    zombie.sample();
    assert.deepEqual(zombie.violations, [], 'n1 keeps a stale mount after its key was removed: fenced by the storage');
    const both = new InvariantMonitor(observerOf({ nodes: { n1: node({ mounted: true }), n2: node({ mounted: true }) }, leaseHolder: 'n2', leaseHeldBy: { n1: true, n2: true }, ableToWrite: { n1: true, n2: true } }));
    both.sample();
    assert.deepEqual(both.violations.map((v) => v.invariant), ['S1']);
    const unreserved = new InvariantMonitor(observerOf({ nodes: { n1: node({ mounted: true }) }, leaseHolder: null, leaseHeldBy: { n1: false }, ableToWrite: { n1: true } }));
    unreserved.sample();
    assert.deepEqual(unreserved.violations.map((v) => v.invariant), ['S2'], 'mounted with nothing reserved: its writes are not fenced');
  });
});
