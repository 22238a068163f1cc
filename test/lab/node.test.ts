// A lab node's lease storage (bindfs in the node's own mount namespace) and its freeze helpers,
// on a real node (network + mount namespace) without keepalived, MariaDB or the agent.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LabNode } from '../../lab/node.ts';
import { sh } from '../../lab/sh.ts';
import { waitFor } from '../../lab/wait.ts';
import { parseMountinfo } from '../../src/probes/mountinfo.ts';
import { scratchDir } from '../helpers/scratch.ts';

const { dir } = scratchDir('lab-node');
const store = path.join(dir, 'lease-store');
const at = path.join(dir, 'lease');
const node = new LabNode({ name: 'db1', dir, tag: `fn${process.pid % 100000}` });

/** Reads the lease through the node's mount, bounded: 124 = it hung (a stuck FUSE read still dies of SIGTERM). */
const readInNode = async (): Promise<{ code: number; text: string }> => {
  const ran = await node.exec(['timeout', '1', 'cat', path.join(at, 'lease')]);
  return { code: ran.exitCode, text: ran.stdout };
};

const stateOf = (pid: number): string => readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0] ?? '?';

describe('LabNode lease storage', () => {
  before(async () => {
    mkdirSync(store, { recursive: true });
    writeFileSync(path.join(store, 'lease'), 'v1\n');
    await node.create();
  });

  after(async () => {
    await node.destroy();
  });

  test('the node sees the store through its own bindfs; the host does not see that mount', async () => {
    await node.startAnchor();
    await node.mountLeaseStorage(store, at);
    assert.equal(node.leaseStoragePids().length, 1);
    assert.deepEqual(await readInNode(), { code: 0, text: 'v1' });
    // no attribute cache: a change in the store is seen at once
    writeFileSync(path.join(store, 'lease'), 'v2, longer\n');
    assert.deepEqual(await readInNode(), { code: 0, text: 'v2, longer' });
    assert.equal(parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).some((e) => e.mountpoint === at), false);
  });

  test('freezeLeaseStorage hangs reads through the node only; thawLeaseStorage lets them through', async () => {
    node.freezeLeaseStorage();
    try {
      const started = Date.now();
      assert.equal((await readInNode()).code, 124, 'the read hung until timeout killed it');
      assert.ok(Date.now() - started >= 900);
      assert.equal(readFileSync(path.join(store, 'lease'), 'utf8'), 'v2, longer\n', 'the host reads the store');
    } finally {
      node.thawLeaseStorage();
    }
    assert.deepEqual(await readInNode(), { code: 0, text: 'v2, longer' });
  });

  test('a killed bindfs leaves a dead mount; mountLeaseStorage replaces it', async () => {
    const [bindfs] = node.leaseStoragePids();
    assert.ok(bindfs);
    process.kill(bindfs, 'SIGKILL');
    await waitFor('bindfs gone', () => node.leaseStoragePids().length === 0, 5000, 20);
    const dead = await node.exec(['cat', path.join(at, 'lease')]);
    assert.notEqual(dead.exitCode, 0);
    assert.match(dead.stderr, /Transport endpoint is not connected/);
    await node.mountLeaseStorage(store, at);
    assert.deepEqual(await readInNode(), { code: 0, text: 'v2, longer' });
    assert.equal(parseMountinfo(await node.mountinfo()).filter((e) => e.mountpoint === at).length, 1, 'one mount, the dead one gone');
  });

  test('freeze stops every process of the node, /proc stays readable; thaw resumes them', async () => {
    const pids = node.pids();
    assert.ok(pids.includes(node.anchorPid ?? -1) && pids.length >= 2, `anchor and bindfs: ${pids.join(',')}`);
    await node.freeze();
    try {
      assert.deepEqual(
        pids.map(stateOf),
        pids.map(() => 'T'),
      );
      assert.ok(readFileSync(`/proc/${node.anchorPid}/mountinfo`, 'utf8').includes(at), 'the frozen node\'s mounts are still observable');
    } finally {
      node.thaw();
    }
    await waitFor('all running again', () => pids.every((pid) => stateOf(pid) !== 'T'), 2000, 10);
  });

  test('destroy of a node with frozen lease storage and a reader stuck on it leaves nothing behind', async () => {
    node.freezeLeaseStorage();
    // a reader stuck on the frozen mount, as the agent's lease read would be
    const stuck = node.spawn(['cat', path.join(at, 'lease')]);
    const exited = new Promise((resolve) => stuck.once('exit', resolve));
    await waitFor('the reader started', () => node.pidsNamed('cat').length === 1, 5000, 20);
    await node.freeze();
    await node.destroy();
    await exited;
    assert.deepEqual(node.pids(), []);
    const netns = await sh(['ip', 'netns', 'list']);
    assert.doesNotMatch(netns.stdout, new RegExp(node.netns));
    const pgrep = await sh(['pgrep', '-f', `bindfs .*${store}`]);
    assert.equal(pgrep.stdout.trim(), '', 'no bindfs left');
  });
});
