// The holder's liveness from ext4 MMP (fence/scsi-pr/mmp.ts) against the real kernel: one image,
// two loop devices (the holder's and the challenger's, each with its own page cache, as two
// machines on one LUN), kmmpd writing while the holder has it mounted.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { attachLoop, detachLoop } from '../../lab/disk.ts';
import { sh, shOk } from '../../lab/sh.ts';
import { clearMmp, MMP_SEQ_CLEAN, mmpWaitMs, readMmpBlock, readMmpLocation, watchHolder, type HolderMemory } from '../../fence/scsi-pr/mmp.ts';
import { monoNow } from '../../src/clock.ts';

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

  it('a wait longer than one attempt is proven over several: the memory carries the first read of the same sequence, a new sequence starts over', async () => {
    // the crashed holder's block with a check interval of 10 s (the kernel's wait: 21 s), as a
    // holder with slow storage leaves it; each attempt is cut at 8 s, as fenceAcquireMs cuts a promotion
    const location = await readMmpLocation(challenger, opts);
    assert.ok(location !== null);
    const write = async (seq: number, checkIntervalS: number): Promise<void> => {
      const raw = path.join(dir, 'mmp-crafted');
      await shOk(['dd', `if=${challenger}`, 'iflag=direct', `bs=${location.blockSize}`, `skip=${location.block}`, 'count=1', `of=${raw}`, 'status=none']);
      const bytes = readFileSync(raw);
      bytes.writeUInt32LE(seq, 4);
      bytes.writeUInt16LE(checkIntervalS, 112);
      writeFileSync(raw, bytes);
      await shOk(['dd', `if=${raw}`, `of=${challenger}`, 'oflag=direct', `bs=${location.blockSize}`, `seek=${location.block}`, 'count=1', 'conv=notrunc', 'status=none']);
    };
    const unclean = (await readMmpBlock(challenger, location, opts)).seq;
    assert.notEqual(unclean, MMP_SEQ_CLEAN, 'the previous test left a crashed holder\'s sequence');
    await write(0x1000, 10);
    const memory: HolderMemory = { seen: null };
    const watches: { waitMs: number; doneMs: number }[] = [];
    const attempt = () => watchHolder(challenger, { ...opts, memory, signal: AbortSignal.timeout(8000), onWatch: ({ waitMs, doneMs }) => watches.push({ waitMs, doneMs }) });
    await assert.rejects(attempt(), { name: 'TimeoutError' });
    await assert.rejects(attempt(), { name: 'TimeoutError' });
    const startedMono = monoNow();
    const verdict = await attempt();
    assert.equal(verdict.state, 'silent', JSON.stringify(verdict));
    assert.ok(verdict.waitedMs >= 21_000, `silent after ${verdict.waitedMs} ms in all (the kernel waits 21 s)`);
    assert.ok(monoNow() - startedMono < 8000, 'the third attempt finished within its own 8 s');
    assert.equal(watches.length, 3);
    assert.ok(watches.every((w) => w.waitMs === 21_000), JSON.stringify(watches));
    assert.ok(watches[0]!.doneMs < 1000 && watches[1]!.doneMs >= 8000 && watches[2]!.doneMs >= 16_000, `each attempt carried the watch on: ${JSON.stringify(watches)}`);
    // another sequence (the holder wrote meanwhile, or another holder): the memory does not apply
    await write(0x2000, 10);
    await assert.rejects(attempt(), { name: 'TimeoutError' });
    assert.ok(watches[3]!.doneMs < 1000, `a new sequence is watched from its first read: ${JSON.stringify(watches[3])}`);
    assert.equal(memory.seen?.seq, 0x2000);
    await write(unclean, 5);
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
