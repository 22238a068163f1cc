// The daemon's watchdog keeper on a FIFO (the labs' simulated watchdog) whose read end the test
// holds. SAFETY: no real watchdog is ever opened; every device here is a FIFO made in a temp dir.
// The keeper runs its own loop every 100 ms (timeoutMs 400 / 4); tests that count keepalives
// written by tick() stop that loop first (stop() leaves the device armed), and every test ends with
// disarm() or stop() so that no timer outlives it.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, constants, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { WatchdogKeeper } from '../../../src/daemon/watchdog-keeper.ts';
import type { WatchdogConfig } from '../../../src/config/types.ts';
import { FenceAgentError } from '../../../src/errors.ts';
import type { Logger } from '../../../src/log.ts';
import { drainFifo, makeFifo, openFifoReader } from '../../helpers/fifo.ts';
import { scratchDir } from '../../helpers/scratch.ts';

const scratch = scratchDir('watchdog-keeper');

let keepers: WatchdogKeeper[] = [];
let readers: number[] = [];
afterEach(() => {
  for (const keeper of keepers) {
    keeper.disarm('test over');
    keeper.stop();
  }
  keepers = [];
  for (const fd of readers) closeSync(fd);
  readers = [];
});

const fifo = (): string => makeFifo(scratch.fresh('wd.fifo'));

const config = (device: string, over: Partial<WatchdogConfig> = {}): WatchdogConfig => ({ device, timeoutMs: 400, nowayout: false, daemonRestartMs: 0, ...over });

/** The FIFO's read end, as the simulated watchdog's supervisor would hold it. */
const reader = (file: string): number => {
  const fd = openFifoReader(file);
  readers.push(fd);
  return fd;
};

const drain = drainFifo;

interface LogCall {
  level: 'info' | 'warn' | 'error';
  message: string;
  fields: unknown;
}

/** A logger that records every info/warn/error call, with the message whether or not fields came first. */
const logStub = (): { log: Logger; calls: LogCall[]; messages: (level: LogCall['level']) => string[] } => {
  const calls: LogCall[] = [];
  const record =
    (level: LogCall['level']) =>
    (first: unknown, second?: unknown): void => {
      calls.push(typeof first === 'string' ? { level, message: first, fields: undefined } : { level, message: String(second), fields: first });
    };
  const log = { info: record('info'), warn: record('warn'), error: record('error') } as unknown as Logger;
  return { log, calls, messages: (level) => calls.filter((call) => call.level === level).map((call) => call.message) };
};

const keeper = (cfg: WatchdogConfig | null, mayPet: () => boolean, log: Logger, onChange?: () => void): WatchdogKeeper => {
  const made = new WatchdogKeeper(cfg, mayPet, log, onChange);
  keepers.push(made);
  return made;
};

/**
 * Closes this process's write ends of `file`: a nowayout keeper never closes its device (the
 * kernel's timer could not be stopped), and this test must not leave the descriptor open.
 */
const closeWriters = (file: string): number => {
  let closed = 0;
  for (const fd of readdirSync('/proc/self/fd').map(Number)) {
    try {
      const flags = Number.parseInt(/^flags:\s*(\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? '0', 8);
      if (readlinkSync(`/proc/self/fd/${fd}`) === file && (flags & 3) === constants.O_WRONLY) {
        closeSync(fd);
        closed++;
      }
    } catch {
      // the descriptor readdir itself used, gone by now
    }
  }
  return closed;
};

/** Active timers of this process (setInterval/setTimeout), by Node's own count. */
const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('WatchdogKeeper', () => {
  it('arm opens the device and writes one keepalive, logs that it is simulated, and reports armed and petting', () => {
    const file = fifo();
    const fd = reader(file);
    const { log, calls, messages } = logStub();
    let changes = 0;
    const wd = keeper(config(file), () => true, log, () => changes++);
    assert.equal(wd.enabled, true);
    assert.deepEqual({ ...wd.snapshot(), kind: undefined }, { device: file, kind: undefined, timeoutMs: 400, armed: false, petting: false }, 'the kind is known once armed');
    wd.arm();
    wd.stop();
    assert.equal(wd.armed, true);
    assert.equal(wd.info?.kind, 'simulated');
    assert.deepEqual(drain(fd), { data: '.', eof: false });
    assert.deepEqual(wd.snapshot(), { device: file, kind: 'simulated', timeoutMs: 400, armed: true, petting: true });
    assert.equal(changes, 1);
    assert.deepEqual(messages('warn'), ['watchdog armed: SIMULATED (a FIFO watched by the lab), not a kernel watchdog']);
    assert.equal(calls.length, 1);
    wd.arm(); // armed already: nothing opened, written, logged or reported
    assert.deepEqual(drain(fd), { data: '', eof: false });
    assert.equal(calls.length, 1);
    assert.equal(changes, 1);
  });

  it('tick writes a keepalive while mayPet is true and none while it is false, logging once when petting stops and once when it resumes', () => {
    const file = fifo();
    const fd = reader(file);
    const { log, calls, messages } = logStub();
    let allowed = true;
    let changes = 0;
    const wd = keeper(config(file), () => allowed, log, () => changes++);
    wd.arm();
    wd.stop(); // only the ticks below write
    drain(fd);
    calls.length = 0;
    changes = 0;

    wd.tick();
    wd.tick();
    assert.deepEqual(drain(fd), { data: '..', eof: false });
    assert.equal(calls.length, 0);
    assert.equal(changes, 0);

    allowed = false;
    wd.tick();
    wd.tick();
    wd.tick();
    assert.deepEqual(drain(fd), { data: '', eof: false }, 'no keepalive while mayPet is false');
    assert.equal(messages('error').length, 1, 'logged once when petting stopped');
    assert.match(messages('error')[0] ?? '', /^watchdog NO LONGER PETTED: the right to write ended under a mounted disk/);
    const stopped = calls[0]?.fields as { timeout_ms: number; since_last_pet_ms: number };
    assert.equal(stopped.timeout_ms, 400);
    assert.ok(stopped.since_last_pet_ms >= 0 && stopped.since_last_pet_ms < 5000, `since_last_pet_ms ${stopped.since_last_pet_ms}`);
    assert.equal(changes, 1);
    assert.deepEqual(wd.snapshot(), { device: file, kind: 'simulated', timeoutMs: 400, armed: true, petting: false });

    allowed = true;
    wd.tick();
    wd.tick();
    assert.deepEqual(drain(fd), { data: '..', eof: false });
    assert.deepEqual(messages('warn'), ['watchdog petted again'], 'logged once when petting resumed');
    assert.equal(messages('error').length, 1);
    assert.equal(changes, 2);
    assert.equal(wd.snapshot()?.petting, true);
    assert.equal(calls.length, 2);
  });

  it('its own loop keeps petting every 100 ms while mayPet is true, and stops writing while it is false', async () => {
    const file = fifo();
    const fd = reader(file);
    let allowed = true;
    const wd = keeper(config(file), () => allowed, logStub().log);
    wd.arm();
    drain(fd);
    await delay(450);
    const petted = drain(fd).data;
    assert.match(petted, /^\.+$/);
    assert.ok(petted.length >= 2 && petted.length <= 6, `${petted.length} keepalives in 450 ms`);
    allowed = false;
    await delay(150); // a tick sees it
    drain(fd);
    await delay(350);
    assert.deepEqual(drain(fd), { data: '', eof: false });
    assert.equal(wd.snapshot()?.petting, false);
    wd.stop();
  });

  it("disarm writes 'V' and closes (the reader sees EOF), stops the loop, and reports disarmed", () => {
    const file = fifo();
    const fd = reader(file);
    const { log, messages } = logStub();
    let changes = 0;
    const before = timers();
    const wd = keeper(config(file), () => true, log, () => changes++);
    wd.arm();
    assert.equal(timers(), before + 1, 'arm started the loop');
    drain(fd);
    wd.disarm('filesystem verified gone');
    assert.deepEqual(drain(fd), { data: 'V', eof: true });
    assert.equal(timers(), before, 'disarm stopped the loop');
    assert.equal(wd.armed, false);
    assert.deepEqual(wd.snapshot(), { device: file, kind: 'simulated', timeoutMs: 400, armed: false, petting: false });
    assert.deepEqual(messages('info').at(-1), 'watchdog disarmed (magic close)');
    assert.equal(changes, 2);
    wd.tick(); // not armed: nothing to write to, nothing logged
    wd.disarm('again');
    assert.equal(changes, 2);
    assert.deepEqual(messages('error'), []);
  });

  it('with nowayout, disarm keeps the device open and the loop petting', async () => {
    const file = fifo();
    const fd = reader(file);
    const { log, messages } = logStub();
    const wd = keeper(config(file, { nowayout: true }), () => true, log);
    wd.arm();
    drain(fd);
    wd.disarm('filesystem verified gone');
    assert.equal(wd.armed, true);
    assert.deepEqual(messages('info').at(-1), 'watchdog kept open (nowayout)');
    await delay(250);
    assert.match(drain(fd).data, /^\.+$/, 'still petted, never a V');
    wd.stop();
    assert.equal(closeWriters(file), 1, 'the device is still open');
    assert.equal(drain(fd).eof, true);
  });

  it('a disabled keeper (no watchdog configured) does nothing and has no snapshot', () => {
    const { log, calls } = logStub();
    let asked = 0;
    let changes = 0;
    const before = timers();
    const wd = keeper(null, () => (asked++, true), log, () => changes++);
    assert.equal(wd.enabled, false);
    wd.arm();
    wd.tick();
    wd.disarm('nothing');
    assert.equal(wd.armed, false);
    assert.equal(wd.info, null);
    assert.equal(wd.snapshot(), null);
    assert.equal(timers(), before, 'no loop');
    assert.equal(asked, 0);
    assert.equal(changes, 0);
    assert.deepEqual(calls, []);
    wd.stop();
  });

  it('arm without a reader on the FIFO throws EWATCHDOG and leaves it unarmed, with no loop', () => {
    const file = fifo();
    const { log, calls } = logStub();
    let changes = 0;
    const before = timers();
    const wd = keeper(config(file), () => true, log, () => changes++);
    assert.throws(
      () => wd.arm(),
      (error: unknown) => {
        assert.ok(error instanceof FenceAgentError, String(error));
        assert.equal(error.code, 'EWATCHDOG');
        assert.match(error.message, /no reader on the simulated watchdog FIFO/);
        return true;
      },
    );
    assert.equal(wd.armed, false);
    assert.equal(wd.snapshot()?.armed, false);
    assert.equal(timers(), before);
    assert.equal(changes, 0);
    assert.deepEqual(calls, []);
    wd.stop();
  });
});
