// The entry's keepalive child (src/daemon/early-petter.ts). SAFETY: no real watchdog is ever
// opened; the descriptor is a FIFO's write end, its read end held by the test.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, constants, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { startEarlyPetter } from '../../../src/daemon/early-petter.ts';
import { monoNow } from '../../../src/clock.ts';
import { delay } from '../../../lab/wait.ts';
import { drainFifo, makeFifo, openFifoReader } from '../../helpers/fifo.ts';
import { scratchDir } from '../../helpers/scratch.ts';

const scratch = scratchDir('early-petter');

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.reverse()) cleanup();
  cleanups = [];
});

/** A FIFO with both ends open: the writer (the "device") and the reader (the test). */
function fifo(): { writer: number; reader: number } {
  const dir = scratch.fresh('fifo');
  mkdirSync(dir);
  const file = makeFifo(path.join(dir, 'watchdog'));
  const reader = openFifoReader(file);
  const writer = openSync(file, constants.O_WRONLY | constants.O_NONBLOCK);
  cleanups.push(() => {
    closeSync(writer);
    closeSync(reader);
  });
  return { writer, reader };
}

/** Keeps this thread busy, as compiling the daemon's bundle does. */
const blockFor = (ms: number): void => {
  const end = monoNow() + ms;
  while (monoNow() < end) {
    // busy
  }
};

describe('startEarlyPetter', () => {
  it('pets from its own process while this thread is blocked', async () => {
    const { writer, reader } = fifo();
    const petter = startEarlyPetter(writer, 100, monoNow() + 60_000);
    cleanups.push(() => petter.stop());
    assert.ok(typeof petter.pid === 'number');
    await delay(200);
    drainFifo(reader);
    blockFor(1000);
    const during = drainFifo(reader).data;
    assert.match(during, /^\.+$/, 'keepalive bytes only');
    assert.ok(during.length >= 5, `${during.length} keepalives while this thread was blocked for 1 s (every 100 ms)`);
  });

  it('writes nothing when its bound less the margin has passed already', async () => {
    const { writer, reader } = fifo();
    const petter = startEarlyPetter(writer, 50, monoNow() + 300, 500);
    cleanups.push(() => petter.stop());
    await delay(300);
    assert.equal(drainFifo(reader).data, '');
  });

  it('stop returns once the child is gone, and no keepalive follows', async () => {
    const { writer, reader } = fifo();
    const petter = startEarlyPetter(writer, 20, monoNow() + 60_000);
    await delay(300);
    petter.stop();
    petter.stop(); // idempotent
    drainFifo(reader);
    await delay(200);
    assert.equal(drainFifo(reader).data, '', 'no keepalive after stop');
  });

  it('stops on its own once the bound has passed', async () => {
    const { writer, reader } = fifo();
    const petter = startEarlyPetter(writer, 50, monoNow() + 600, 100);
    cleanups.push(() => petter.stop());
    await delay(700);
    drainFifo(reader);
    await delay(300);
    assert.equal(drainFifo(reader).data, '', 'no keepalive past untilMono');
  });
});
