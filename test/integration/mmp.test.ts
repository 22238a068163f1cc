// The holder's liveness from ext4 MMP (fence/scsi-pr/mmp.ts) against the real kernel: one image,
// two loop devices (the holder's and the challenger's, each with its own page cache, as two
// machines on one LUN), kmmpd writing while the holder has it mounted.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { attachLoop, detachLoop } from '../../lab/disk.ts';
import { sh, shOk } from '../../lab/sh.ts';
import { clearMmp, MMP_SEQ_CLEAN, mmpWaitMs, readMmpBlock, readMmpLocation, watchHolder } from '../../fence/scsi-pr/mmp.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'mmp-'));
const image = path.join(dir, 'lu.img');
const mountpoint = path.join(dir, 'mnt');
const opts = { timeoutMs: 10_000, pollMs: 300 };
let holder = '';
let challenger = '';

describe('ext4 MMP as the holder\'s heartbeat', () => {
  before(async () => {
    await shOk(['truncate', '-s', '64M', image]);
    await shOk(['mkfs.ext4', '-q', '-F', '-O', 'mmp', '-E', 'mmp_update_interval=1', image]);
    await shOk(['mkdir', mountpoint]);
    holder = await attachLoop(image);
    challenger = await attachLoop(image);
  });

  after(async () => {
    await sh(['umount', mountpoint]);
    if (holder !== '') await detachLoop(holder, image);
    if (challenger !== '') await detachLoop(challenger, image);
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the MMP location from the superblock, and null without MMP', async () => {
    const location = await readMmpLocation(challenger, opts);
    assert.equal(location?.updateIntervalS, 1);
    assert.ok((location?.block ?? 0) > 0);
    const plain = path.join(dir, 'plain.img');
    await shOk(['truncate', '-s', '16M', plain]);
    await shOk(['mkfs.ext4', '-q', '-F', plain]);
    assert.equal(await readMmpLocation(plain, opts), null);
  });

  it('a filesystem mounted nowhere is clean, at once', async () => {
    const verdict = await watchHolder(challenger, opts);
    assert.equal(verdict.state, 'clean');
    assert.equal(verdict.waitedMs, 0);
  });

  it('while the holder has it mounted, the challenger sees the sequence move: alive, and who', async () => {
    await shOk(['mount', holder, mountpoint]);
    // another opener keeps the challenger's page cache of the device alive between reads (the last
    // close would drop it): a read through that cache would see the first sequence forever
    const opener = spawn('sh', ['-c', `exec 3<${challenger}; dd if=${challenger} bs=1M count=64 status=none of=/dev/null; exec sleep 60`], { stdio: 'ignore' });
    await delay(500);
    let verdict;
    try {
      verdict = await watchHolder(challenger, opts);
    } finally {
      opener.kill('SIGKILL');
    }
    assert.equal(verdict.state, 'alive', JSON.stringify(verdict));
    assert.equal(verdict.last.nodename, hostname());
    assert.ok(verdict.waitedMs < 5000, `seen within a few update intervals (${verdict.waitedMs} ms)`);
  });

  it('a holder whose kernel stopped writing (a crash left the sequence) is silent only after the kernel\'s wait', async () => {
    // the block as the holder's kernel last wrote it, then a clean unmount, then that block put
    // back: the disk as a crashed holder leaves it — mounted by its record, updated by nobody
    const location = await readMmpLocation(challenger, opts);
    assert.ok(location !== null);
    const live = await readMmpBlock(challenger, location, opts);
    assert.notEqual(live.seq, MMP_SEQ_CLEAN);
    const snapshot = path.join(dir, 'mmp-block');
    await shOk(['dd', `if=${challenger}`, 'iflag=direct', `bs=${location.blockSize}`, `skip=${location.block}`, 'count=1', `of=${snapshot}`, 'status=none']);
    await shOk(['umount', mountpoint]);
    assert.equal((await readMmpBlock(challenger, location, opts)).seq, MMP_SEQ_CLEAN, 'a clean unmount marks it clean');
    await shOk(['dd', `if=${snapshot}`, `of=${challenger}`, 'oflag=direct', `bs=${location.blockSize}`, `seek=${location.block}`, 'count=1', 'conv=notrunc', 'status=none']);
    const verdict = await watchHolder(challenger, opts);
    assert.equal(verdict.state, 'silent', JSON.stringify(verdict));
    assert.ok(verdict.waitedMs >= mmpWaitMs(location, verdict.first), `watched ${verdict.waitedMs} ms, the kernel waits ${mmpWaitMs(location, verdict.first)} ms`);
  });

  it("clearMmp resets the crashed holder's sequence: the challenger's kernel mounts without waiting out its interval", async () => {
    // the disk as the previous test left it: a crashed holder's unclean sequence
    const location = await readMmpLocation(challenger, opts);
    assert.ok(location !== null);
    assert.notEqual((await readMmpBlock(challenger, location, opts)).seq, MMP_SEQ_CLEAN);
    await clearMmp(challenger, opts);
    assert.equal((await readMmpBlock(challenger, location, opts)).seq, MMP_SEQ_CLEAN);
    const started = Date.now();
    await shOk(['mount', challenger, mountpoint]);
    const tookMs = Date.now() - started;
    await shOk(['umount', mountpoint]);
    // an unclean sequence makes the kernel wait 2·ci + 1 s (11 s here) before writing its own
    assert.ok(tookMs < mmpWaitMs(location, { ...(await readMmpBlock(challenger, location, opts)), checkIntervalS: 0 }), `mounted in ${tookMs} ms`);
  });
});
