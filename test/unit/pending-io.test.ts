// src/pending-io.ts in-process: the count of tracked calls. How a process ends with one pending is
// shown by child processes in lease-io.test.ts (exitProcess) and test/cli/exit-codes.test.ts (the CLI).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pendingIo, trackPending } from '../../src/pending-io.ts';

describe('trackPending', () => {
  it('counts a call as pending until it resolves, and returns its value', async () => {
    const before = pendingIo();
    let finish!: (value: string) => void;
    const tracked = trackPending(new Promise<string>((resolve) => (finish = resolve)));
    assert.equal(pendingIo(), before + 1);
    finish('done');
    assert.equal(await tracked, 'done');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(pendingIo(), before);
  });

  it('counts a call that rejects as pending until it rejects, and passes the rejection on', async () => {
    const before = pendingIo();
    let fail!: (error: Error) => void;
    const tracked = trackPending(new Promise<never>((_resolve, reject) => (fail = reject)));
    assert.equal(pendingIo(), before + 1);
    fail(new Error('EIO'));
    await assert.rejects(tracked, /EIO/);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(pendingIo(), before);
  });

  it('keeps counting a call its caller gave up on, until it really ends', async () => {
    const before = pendingIo();
    let finish!: () => void;
    const tracked = trackPending(new Promise<void>((resolve) => (finish = resolve)));
    const gaveUp = await Promise.race([tracked.then(() => 'settled'), new Promise((resolve) => setTimeout(() => resolve('deadline'), 20))]);
    assert.equal(gaveUp, 'deadline');
    assert.equal(pendingIo(), before + 1, 'still pending after the deadline');
    finish();
    await tracked;
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(pendingIo(), before);
  });
});
