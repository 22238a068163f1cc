import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bootId } from '../../../src/proc.ts';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { readNotifyFifo, type FifoReader } from '../../../src/daemon/fifo.ts';
import type { Desire } from '../../../src/state.ts';
import { logStub } from '../../helpers/log-stub.ts';
import { scratchDir } from '../../helpers/scratch.ts';

const log = pino({ level: 'silent' });

const { fresh } = scratchDir('fifo');
/** Readers started by a test, closed after it so no socket or timer outlives it. */
let readers: FifoReader[] = [];

afterEach(() => {
  for (const reader of readers) reader.close();
  readers = [];
});


const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts a reader that collects every desire it delivers. */
const start = async (fifoPath: string, instance: string | null): Promise<{ reader: FifoReader; desires: Desire[] }> => {
  const desires: Desire[] = [];
  const reader = await readNotifyFifo(fifoPath, instance, log, (desire) => desires.push(desire));
  readers.push(reader);
  return { reader, desires };
};

/** Writes `text` the way keepalived does (a writer opening the FIFO); the reader holds it open, so this does not block. */
const writeFifo = (fifoPath: string, text: string): void => {
  const fd = openSync(fifoPath, 'w');
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
};

/** Opens the FIFO for writing without blocking; null (ENXIO) while nobody has it open for reading. */
const openWriterIfRead = (fifoPath: string): number | null => {
  try {
    return openSync(fifoPath, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENXIO') return null;
    throw error;
  }
};

const waitFor = async (condition: () => boolean, timeoutMs: number): Promise<boolean> => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await sleep(20);
  }
  return condition();
};

describe('readNotifyFifo', () => {
  it('readNotifyFifo creates a missing FIFO with mode 0600', async () => {
    const fifoPath = fresh('notify.fifo');
    await start(fifoPath, null);
    const stat = statSync(fifoPath);
    assert.ok(stat.isFIFO());
    assert.equal(stat.mode & 0o777, 0o600);
  });

  it('readNotifyFifo uses an existing FIFO as it is', async () => {
    const fifoPath = fresh('notify.fifo');
    execFileSync('mkfifo', ['-m', '0620', fifoPath]);
    const inode = statSync(fifoPath).ino;
    const { desires } = await start(fifoPath, null);
    assert.equal(statSync(fifoPath).ino, inode);
    assert.equal(statSync(fifoPath).mode & 0o777, 0o620);
    writeFifo(fifoPath, 'INSTANCE "VI_1" BACKUP 90\n');
    assert.ok(await waitFor(() => desires.length === 1, 2000));
  });

  it('readNotifyFifo creates a missing directory (0755) for the FIFO instead of failing the daemon', async () => {
    const fifoPath = path.join(fresh('run-dir'), 'keepalived', 'notify.fifo');
    const { desires } = await start(fifoPath, null);
    assert.ok(statSync(fifoPath).isFIFO());
    assert.equal(statSync(path.dirname(fifoPath)).mode & 0o777, 0o755);
    writeFifo(fifoPath, 'INSTANCE "VI_1" MASTER 100\n');
    assert.ok(await waitFor(() => desires.length === 1, 2000));
  });

  it('readNotifyFifo does not fail on a path that is not a FIFO: it logs once, keeps trying, and reads once a FIFO is there', async () => {
    const fifoPath = fresh('notify.fifo');
    writeFileSync(fifoPath, '');
    const stub = logStub();
    const desires: Desire[] = [];
    readers.push(await readNotifyFifo(fifoPath, null, stub.log, (desire) => desires.push(desire)));
    await sleep(2500);
    assert.deepEqual(stub.messages('error').map((m) => m.replace(/: .*/, '')), [`cannot open notify_fifo ${fifoPath}`], 'one error line for repeated failures');
    unlinkSync(fifoPath);
    execFileSync('mkfifo', ['-m', '0600', fifoPath]);
    const opened = (): boolean => {
      const fd = openWriterIfRead(fifoPath);
      if (fd !== null) closeSync(fd);
      return fd !== null;
    };
    assert.ok(await waitFor(opened, 5000), 'the reader opened the FIFO once it existed');
    writeFifo(fifoPath, 'INSTANCE "VI_1" BACKUP 90\n');
    assert.ok(await waitFor(() => desires.length === 1, 2000));
  });

  it('readNotifyFifo delivers state changes in order with source fifo and the VRRP state', async () => {
    const fifoPath = fresh('notify.fifo');
    const { desires } = await start(fifoPath, null);
    const before = Date.now();
    writeFifo(fifoPath, 'INSTANCE "VI_1" MASTER 100\nINSTANCE "VI_1" BACKUP 100\nINSTANCE "VI_1" FAULT 0\n');
    writeFifo(fifoPath, 'INSTANCE "VI_1" STOP 100\nGROUP "G1" MASTER 100\n');
    assert.ok(await waitFor(() => desires.length === 5, 2000), `got ${desires.length} desires`);
    assert.deepEqual(
      desires.map((desire) => [desire.vrrpState, desire.source, desire.detail]),
      [
        ['MASTER', 'fifo', 'INSTANCE VI_1 priority 100'],
        ['BACKUP', 'fifo', 'INSTANCE VI_1 priority 100'],
        ['FAULT', 'fifo', 'INSTANCE VI_1 priority 0'],
        ['STOP', 'fifo', 'INSTANCE VI_1 priority 100'],
        ['MASTER', 'fifo', 'GROUP G1 priority 100'],
      ],
    );
    for (const desire of desires) assert.ok(desire.issuedAt >= before && desire.issuedAt <= Date.now());
    // ordered on the boot's clock (src/desire-order.ts), in the order of the lines
    for (const desire of desires) assert.equal(desire.order?.boot, bootId());
    for (let i = 1; i < desires.length; i++) assert.ok(desires[i]!.order!.bootMs >= desires[i - 1]!.order!.bootMs);
  });

  it('readNotifyFifo joins a line written in two pieces', async () => {
    const fifoPath = fresh('notify.fifo');
    const { desires } = await start(fifoPath, null);
    const fd = openSync(fifoPath, 'w');
    try {
      writeSync(fd, 'INSTANCE "VI_1" MAS');
      await sleep(100);
      assert.equal(desires.length, 0);
      writeSync(fd, 'TER 100\n');
    } finally {
      closeSync(fd);
    }
    assert.ok(await waitFor(() => desires.length === 1, 2000));
    assert.equal(desires[0]?.vrrpState, 'MASTER');
  });

  it('readNotifyFifo ignores lines for another instance when an instance is configured', async () => {
    const fifoPath = fresh('notify.fifo');
    const { desires } = await start(fifoPath, 'VI_1');
    writeFifo(fifoPath, 'INSTANCE "VI_2" MASTER 100\nINSTANCE "VI_1" BACKUP 100\nINSTANCE "VI_2" FAULT 0\nINSTANCE "VI_1" MASTER 100\n');
    assert.ok(await waitFor(() => desires.length >= 2, 2000));
    await sleep(100);
    assert.deepEqual(
      desires.map((desire) => desire.detail),
      ['INSTANCE VI_1 priority 100', 'INSTANCE VI_1 priority 100'],
    );
    assert.deepEqual(
      desires.map((desire) => desire.vrrpState),
      ['BACKUP', 'MASTER'],
    );
  });

  it('readNotifyFifo delivers every instance when none is configured', async () => {
    const fifoPath = fresh('notify.fifo');
    const { desires } = await start(fifoPath, null);
    writeFifo(fifoPath, 'INSTANCE "VI_2" MASTER 100\nINSTANCE "VI_1" BACKUP 100\n');
    assert.ok(await waitFor(() => desires.length === 2, 2000));
    assert.deepEqual(
      desires.map((desire) => desire.detail),
      ['INSTANCE VI_2 priority 100', 'INSTANCE VI_1 priority 100'],
    );
  });

  it('readNotifyFifo ignores lines that are not VRRP state changes and keeps reading', async () => {
    const fifoPath = fresh('notify.fifo');
    const { desires } = await start(fifoPath, null);
    writeFifo(
      fifoPath,
      [
        'garbage',
        '',
        'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 100',
        'INSTANCE "VI_1" MASTER_PRIORITY 100',
        'VS "10.0.0.1:3306" UP',
        'INSTANCE "VI_1" master 100',
        'INSTANCE VI_1 MASTER 100',
        'INSTANCE "VI_1" BACKUP 100',
        '',
      ].join('\n'),
    );
    assert.ok(await waitFor(() => desires.length >= 1, 2000));
    await sleep(100);
    assert.deepEqual(
      desires.map((desire) => desire.vrrpState),
      ['BACKUP'],
    );
  });

  it('readNotifyFifo re-opens a FIFO that was deleted and re-created within about 3 s', async () => {
    const fifoPath = fresh('notify.fifo');
    const { desires } = await start(fifoPath, null);
    writeFifo(fifoPath, 'INSTANCE "VI_1" BACKUP 100\n');
    assert.ok(await waitFor(() => desires.length === 1, 2000));
    unlinkSync(fifoPath);
    execFileSync('mkfifo', ['-m', '0600', fifoPath]);
    const recreated = Date.now();
    let fd: number | null = null;
    assert.ok(await waitFor(() => (fd = openWriterIfRead(fifoPath)) !== null, 3500), 'nobody opened the new FIFO for reading');
    const reopenedAfter = Date.now() - recreated;
    assert.ok(reopenedAfter <= 3500, `re-opened after ${reopenedAfter} ms`);
    try {
      writeSync(fd!, 'INSTANCE "VI_1" MASTER 100\n');
    } finally {
      closeSync(fd!);
    }
    assert.ok(await waitFor(() => desires.length === 2, 2000), `got ${desires.length} desires`);
    assert.equal(desires[1]?.vrrpState, 'MASTER');
  });

  it('readNotifyFifo waits for a deleted FIFO to come back instead of failing', async () => {
    const fifoPath = fresh('notify.fifo');
    const { desires } = await start(fifoPath, null);
    unlinkSync(fifoPath);
    await sleep(2300); // at least one re-open check with the FIFO missing
    execFileSync('mkfifo', ['-m', '0600', fifoPath]);
    let fd: number | null = null;
    assert.ok(await waitFor(() => (fd = openWriterIfRead(fifoPath)) !== null, 3500), 'nobody opened the new FIFO for reading');
    try {
      writeSync(fd!, 'INSTANCE "VI_1" FAULT 0\n');
    } finally {
      closeSync(fd!);
    }
    assert.ok(await waitFor(() => desires.length === 1, 2000));
    assert.equal(desires[0]?.vrrpState, 'FAULT');
  });

  it('close stops reading the FIFO and stops watching for a re-created one', async () => {
    const fifoPath = fresh('notify.fifo');
    const { reader } = await start(fifoPath, null);
    const held = openWriterIfRead(fifoPath);
    assert.notEqual(held, null, 'the reader has the FIFO open');
    closeSync(held!);
    reader.close();
    assert.ok(await waitFor(() => {
      const fd = openWriterIfRead(fifoPath);
      if (fd === null) return true;
      closeSync(fd);
      return false;
    }, 2000), 'the FIFO is still open for reading after close()');
    unlinkSync(fifoPath);
    execFileSync('mkfifo', ['-m', '0600', fifoPath]);
    await sleep(2500); // longer than one re-open check
    assert.equal(openWriterIfRead(fifoPath), null, 'a closed reader re-opened the re-created FIFO');
  });
});
