// The lab's invariant monitor against real processes in this test's own mount namespace: an
// "anchor" (sleep) stands for a node, a copy of sleep named mariadbd stands for its mysqld, and a
// device node made with mknod names either nothing or a filesystem that is really mounted here.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fibHasLocal, InvariantMonitor } from '../../lab/monitor.ts';
import type { PairLab } from '../../lab/pair.ts';
import { parseMountinfo } from '../../src/probes/mountinfo.ts';
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

/** A lab with one node `db1` anchored by `anchorPid`, the disk at `device`, and no lease. */
const fakeLab = (anchorPid: number, device: string): PairLab => ({ nodes: [{ name: 'db1', anchorPid }], disk: { device }, leasePath: path.join(dir, 'no-lease') }) as unknown as PairLab;

const stateOf = (pid: number): string => readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0] ?? '?';

describe('InvariantMonitor', () => {
  test('flags S3 when a mysqld runs in the node without the mount', async () => {
    const monitor = new InvariantMonitor(fakeLab(anchor(), deviceNode('unmounted', '0:0')));
    await monitor.start();
    monitor.stop();
    fakeMysqld();
    const sample = monitor.sample();
    assert.deepEqual(sample.nodes.db1, { down: false, mounted: false, vip: false, mysqld: 1 });
    assert.deepEqual(
      monitor.violations.map((v) => v.invariant),
      ['S3'],
    );
  });

  test('flags S2, not S3, when the disk is mounted without the lease', async () => {
    const proc = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).find((e) => e.mountpoint === '/proc');
    assert.ok(proc, 'this test needs /proc in its mountinfo');
    const monitor = new InvariantMonitor(fakeLab(anchor(), deviceNode('proc', proc.majorMinor)));
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
    const monitor = new InvariantMonitor(fakeLab(anchorPid, deviceNode('unmounted-2', '0:0')));
    await monitor.start();
    monitor.stop();
    // the crash lands exactly after mysqld was counted: kill the anchor there and wait (without
    // yielding) until the kernel has made it a zombie, whose mountinfo can no longer be read
    const counts = (monitor as unknown as { mysqldCounts: () => Map<string, number> }).mysqldCounts.bind(monitor);
    (monitor as unknown as { mysqldCounts: () => Map<string, number> }).mysqldCounts = () => {
      const counted = counts();
      process.kill(anchorPid, 'SIGKILL');
      const until = Date.now() + 2000;
      while (stateOf(anchorPid) !== 'Z' && Date.now() < until);
      return counted;
    };
    const sample = monitor.sample();
    assert.equal(stateOf(anchorPid), 'Z');
    assert.deepEqual(sample.nodes.db1, { down: true, mounted: false, vip: false, mysqld: 0 });
    assert.deepEqual(monitor.violations, []);
  });

  test('fibHasLocal finds a /32 host LOCAL entry and nothing else', () => {
    const fib = ['  |-- 10.88.0.100', '     /32 host LOCAL', '  |-- 10.88.0.0', '     /24 link UNICAST'].join('\n');
    assert.equal(fibHasLocal(fib, '10.88.0.100'), true);
    assert.equal(fibHasLocal(fib, '10.88.0.0'), false);
    assert.equal(fibHasLocal(fib, '10.88.0.1'), false);
  });
});
