// The daemon's watchdog against a real FIFO whose read end the test holds, and inspection against a
// fake sysfs tree. SAFETY: no real watchdog is ever opened; the only character device here is one
// mknod'ed in a temp dir with the numbers of /dev/null (1:3), and it is only stat'ed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { drainFifo, makeFifo, openFifoReader } from '../../helpers/fifo.ts';
import type { WatchdogConfig } from '../../../src/config/types.ts';
import { FenceAgentError } from '../../../src/errors.ts';
import { inspectWatchdog, Watchdog, watchdogProblems, watchdogSysfsDir, type WatchdogInfo } from '../../../src/watchdog/device.ts';
import { scratchDir } from '../../helpers/scratch.ts';

const scratch = scratchDir('watchdog-device');
const openFds: number[] = [];
after(() => {
  for (const fd of openFds) closeSync(fd);
});

const config = (over: Partial<WatchdogConfig> = {}): WatchdogConfig => ({
  device: '/nonexistent',
  timeoutMs: 5000,
  nowayout: false,
  daemonRestartMs: 2000,
  ...over,
});

const fifo = (): string => makeFifo(scratch.fresh('wd.fifo'));

/** The FIFO's read end, as the simulated watchdog's supervisor would hold it. */
const reader = (file: string): number => {
  const fd = openFifoReader(file);
  openFds.push(fd);
  return fd;
};

const drain = drainFifo;

/** A character device with the numbers of /dev/null, made here and never opened. */
const charDevice = (): string => {
  const file = scratch.fresh('wd.chr');
  execFileSync('mknod', [file, 'c', '1', '3']);
  return file;
};

/** A fake sysfs whose dev/char/<majorMinor> links to a watchdog class device with these attributes. */
const fakeSysfs = (majorMinor: string, attributes: Record<string, string>): string => {
  const root = scratch.fresh('sys');
  const deviceDir = path.join(root, 'devices', 'virtual', 'watchdog', 'watchdog0');
  mkdirSync(deviceDir, { recursive: true });
  for (const [name, value] of Object.entries(attributes)) writeFileSync(path.join(deviceDir, name), `${value}\n`);
  mkdirSync(path.join(root, 'dev', 'char'), { recursive: true });
  symlinkSync('../../devices/virtual/watchdog/watchdog0', path.join(root, 'dev', 'char', majorMinor));
  mkdirSync(path.join(root, 'class', 'watchdog'), { recursive: true });
  symlinkSync('../../devices/virtual/watchdog/watchdog0', path.join(root, 'class', 'watchdog', 'watchdog0'));
  return root;
};

const isWatchdogError = (pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof FenceAgentError, String(error));
  assert.equal(error.code, 'EWATCHDOG');
  assert.match(error.message, pattern);
  return true;
};

describe('Watchdog on a FIFO (the simulated watchdog)', () => {
  test('arm opens the FIFO and writes one keepalive; pet writes a non-V byte and records the time', () => {
    const file = fifo();
    const fd = reader(file);
    let now = 1000;
    const watchdog = new Watchdog(config({ device: file }), { clock: () => now });
    assert.equal(watchdog.armed, false);
    assert.equal(watchdog.lastPetMs, null);
    watchdog.arm();
    assert.equal(watchdog.armed, true);
    assert.equal(watchdog.info?.kind, 'simulated');
    assert.equal(watchdog.lastPetMs, 1000);
    const first = drain(fd);
    assert.equal(first.eof, false);
    assert.equal(first.data.length, 1);
    assert.notEqual(first.data, 'V');

    now = 1500;
    assert.equal(watchdog.pet(), true);
    assert.equal(watchdog.lastPetMs, 1500);
    assert.equal(watchdog.lastError, null);
    const second = drain(fd);
    assert.equal(second.data.length, 1);
    assert.ok(!second.data.includes('V'));

    watchdog.arm(); // idempotent: no second open, no extra keepalive
    assert.deepEqual(drain(fd), { data: '', eof: false });
    assert.equal(watchdog.disarm(), 'closed');
  });

  test("disarm writes 'V' then closes: the reader sees the V, then EOF", () => {
    const file = fifo();
    const fd = reader(file);
    const watchdog = new Watchdog(config({ device: file }));
    watchdog.arm();
    drain(fd);
    assert.equal(watchdog.disarm(), 'closed');
    assert.equal(watchdog.armed, false);
    assert.equal(watchdog.lastError, null);
    assert.deepEqual(drain(fd), { data: 'V', eof: true });
    assert.equal(watchdog.disarm(), 'not-armed');
  });

  test('pet when not armed, or after the reader went away, returns false and records why without throwing', () => {
    const file = fifo();
    const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const watchdog = new Watchdog(config({ device: file }));
    assert.equal(watchdog.pet(), false);
    assert.match(watchdog.lastError?.message ?? '', /not armed/);
    watchdog.arm();
    const petAt = watchdog.lastPetMs;
    closeSync(fd);
    assert.equal(watchdog.pet(), false);
    const failure: NodeJS.ErrnoException | null = watchdog.lastError;
    assert.equal(failure?.code, 'EPIPE');
    assert.equal(watchdog.lastPetMs, petAt);
    assert.equal(watchdog.armed, true);
    assert.equal(watchdog.disarm(), 'closed');
    assert.match(watchdog.lastError?.message ?? '', /magic close .* failed/);
  });

  test('arm without a reader throws EWATCHDOG: the supervisor is not running', () => {
    const file = fifo();
    const watchdog = new Watchdog(config({ device: file }));
    assert.throws(() => watchdog.arm(), isWatchdogError(/no reader on the simulated watchdog FIFO .*: its supervisor is not running/));
    assert.equal(watchdog.armed, false);
    assert.equal((watchdog.lastError as FenceAgentError | null)?.code, 'EWATCHDOG');
  });

  test('with nowayout, disarm keeps the FIFO open and armed and writes no V', () => {
    const file = fifo();
    const fd = reader(file);
    const watchdog = new Watchdog(config({ device: file, nowayout: true }));
    watchdog.arm();
    drain(fd);
    assert.equal(watchdog.disarm(), 'nowayout-kept-open');
    assert.equal(watchdog.armed, true);
    assert.deepEqual(drain(fd), { data: '', eof: false });
    assert.equal(watchdog.pet(), true);
    assert.equal(drain(fd).data, '.');
  });

  test('arm of a missing path or a regular file throws EWATCHDOG naming what was found', () => {
    assert.throws(() => new Watchdog(config({ device: scratch.fresh('absent') })).arm(), isWatchdogError(/does not exist: expected a watchdog character device/));
    const file = scratch.fresh('plain');
    writeFileSync(file, '');
    assert.throws(() => new Watchdog(config({ device: file })).arm(), isWatchdogError(/is a regular file: expected a watchdog character device/));
  });
});

describe('inspectWatchdog', () => {
  test('a character device: timeout, nowayout and identity from sysfs dev/char/MAJ:MIN', () => {
    const device = charDevice();
    const sysfsRoot = fakeSysfs('1:3', { timeout: '5', nowayout: '1', identity: 'Software Watchdog' });
    assert.deepEqual(inspectWatchdog(device, sysfsRoot), {
      device,
      kind: 'kernel',
      sysfsDir: path.join(sysfsRoot, 'dev', 'char', '1:3'),
      identity: 'Software Watchdog',
      timeoutMs: 5000,
      nowayout: true,
    });
  });

  test('a character device without a sysfs watchdog directory: kernel, every field null', () => {
    const device = charDevice();
    const sysfsRoot = scratch.fresh('empty-sys');
    mkdirSync(path.join(sysfsRoot, 'dev', 'char', '1:3'), { recursive: true }); // /dev/null's: no timeout file
    assert.deepEqual(inspectWatchdog(device, sysfsRoot), { device, kind: 'kernel', sysfsDir: null, identity: null, timeoutMs: null, nowayout: null });
  });

  test('unreadable attributes are null', () => {
    const device = charDevice();
    const sysfsRoot = fakeSysfs('1:3', { timeout: 'soon', nowayout: 'maybe' });
    const info = inspectWatchdog(device, sysfsRoot);
    assert.equal(info.timeoutMs, null);
    assert.equal(info.nowayout, null);
    assert.equal(info.identity, null);
  });

  test('a FIFO is the simulated watchdog', () => {
    const file = fifo();
    assert.deepEqual(inspectWatchdog(file), { device: file, kind: 'simulated', sysfsDir: null, identity: null, timeoutMs: null, nowayout: null });
  });

  test('the legacy misc node 10:130 maps to class/watchdog/watchdog0 (looked up by number, no device node)', () => {
    const sysfsRoot = fakeSysfs('250:0', { timeout: '10', nowayout: '0' });
    mkdirSync(path.join(sysfsRoot, 'devices', 'virtual', 'misc', 'watchdog'), { recursive: true });
    symlinkSync('../../devices/virtual/misc/watchdog', path.join(sysfsRoot, 'dev', 'char', '10:130'));
    assert.equal(watchdogSysfsDir('10:130', sysfsRoot), path.join(sysfsRoot, 'class', 'watchdog', 'watchdog0'));
    assert.equal(watchdogSysfsDir('250:0', sysfsRoot), path.join(sysfsRoot, 'dev', 'char', '250:0'));
    assert.equal(watchdogSysfsDir('1:3', sysfsRoot), null);
  });
});

describe('watchdogProblems', () => {
  const kernel = (over: Partial<WatchdogInfo> = {}): WatchdogInfo => ({
    device: '/dev/watchdog0',
    kind: 'kernel',
    sysfsDir: '/sys/dev/char/250:0',
    identity: 'Software Watchdog',
    timeoutMs: 5000,
    nowayout: false,
    ...over,
  });

  test('a matching kernel watchdog has none', () => {
    assert.deepEqual(watchdogProblems(config(), kernel()), []);
    assert.deepEqual(watchdogProblems(config({ nowayout: true }), kernel({ nowayout: true })), []);
  });

  test('a simulated watchdog has none: its configured timeout is trusted', () => {
    const info: WatchdogInfo = { device: '/run/wd', kind: 'simulated', sysfsDir: null, identity: null, timeoutMs: null, nowayout: null };
    assert.deepEqual(watchdogProblems(config({ nowayout: true }), info), []);
  });

  test('a timeout mismatch names the module parameter that sets it', () => {
    const [softdog, ...rest] = watchdogProblems(config(), kernel({ timeoutMs: 60000 }));
    assert.equal(rest.length, 0);
    assert.match(softdog ?? '', /60000 ms but fence\.watchdog\.timeoutMs is 5000/);
    assert.match(softdog ?? '', /softdog: modprobe -r softdog; modprobe softdog soft_margin=5/);
    const [esb] = watchdogProblems(config({ timeoutMs: 10000 }), kernel({ identity: 'i6300ESB timer', timeoutMs: 30000 }));
    assert.match(esb ?? '', /i6300esb heartbeat=10/);
    const [other] = watchdogProblems(config({ timeoutMs: 5500 }), kernel({ identity: 'Mystery WDT' }));
    assert.match(other ?? '', /timeout module parameter set to 6 s .*multiple of 1000/);
  });

  test('nowayout mismatch, in either direction', () => {
    const [on] = watchdogProblems(config({ nowayout: false }), kernel({ nowayout: true }));
    assert.match(on ?? '', /the driver has nowayout=1: a magic close would not stop it and the node would reset after every release; set fence\.watchdog\.nowayout: true or load the driver with nowayout=0/);
    const [off] = watchdogProblems(config({ nowayout: true }), kernel({ nowayout: false }));
    assert.match(off ?? '', /the driver has nowayout=0 but fence\.watchdog\.nowayout is true/);
  });

  test('a kernel device without a readable sysfs timeout', () => {
    const [missing] = watchdogProblems(config(), kernel({ sysfsDir: null, identity: null, timeoutMs: null, nowayout: null }));
    assert.match(missing ?? '', /no readable timeout in sysfs/);
    const problems = watchdogProblems(config(), kernel({ timeoutMs: null, nowayout: null }));
    assert.equal(problems.length, 2);
    assert.match(problems[0] ?? '', /timeout is not readable/);
    assert.match(problems[1] ?? '', /nowayout is not readable/);
  });

  test('arm refuses a mismatched kernel device before opening it', () => {
    // the mknod'ed 1:3 node would be /dev/null if opened; arm must stop at inspection
    const device = charDevice();
    const sysfsRoot = fakeSysfs('1:3', { timeout: '5', nowayout: '1', identity: 'Software Watchdog' });
    const watchdog = new Watchdog(config({ device, nowayout: false }), { sysfsRoot });
    assert.throws(() => watchdog.arm(), (error: unknown) => {
      assert.ok(error instanceof FenceAgentError);
      assert.equal(error.code, 'EWATCHDOG');
      assert.equal(error.exitCode, 6);
      assert.match(error.message, /nowayout=1/);
      return true;
    });
    assert.equal(watchdog.armed, false);
    assert.equal(watchdog.info?.kind, 'kernel');
    const unknown = new Watchdog(config({ device }), { sysfsRoot: scratch.fresh('no-sys') });
    assert.throws(() => unknown.arm(), isWatchdogError(/no readable timeout in sysfs/));
    assert.equal(unknown.armed, false);
  });
});
