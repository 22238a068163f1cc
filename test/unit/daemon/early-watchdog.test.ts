// The watchdog opened by the entry before the daemon loads, when the previous daemon of this boot
// left it armed. SAFETY: no real watchdog is ever opened; the device is a FIFO made in a temp dir
// whose read end the test holds (the labs' simulated watchdog).
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { configFlag, EARLY_WATCHDOG, openWatchdogEarly, takeEarlyWatchdog } from '../../../src/daemon/early-watchdog.ts';
import { WatchdogKeeper } from '../../../src/daemon/watchdog-keeper.ts';
import { bootId } from '../../../src/proc.ts';
import { writeState } from '../../../src/state.ts';
import { monoNow } from '../../../src/clock.ts';
import { writeTenureFile } from '../../../fence/lease/tenure-file.ts';
import { delay } from '../../../lab/wait.ts';
import { drainFifo, makeFifo, openFifoReader } from '../../helpers/fifo.ts';
import { logStub } from '../../helpers/log-stub.ts';
import { scratchDir } from '../../helpers/scratch.ts';

const scratch = scratchDir('early-watchdog');

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.reverse()) cleanup();
  cleanups = [];
  delete (globalThis as Record<symbol, unknown>)[EARLY_WATCHDOG];
});

interface Node {
  configPath: string;
  device: string;
  stateDir: string;
  runDir: string;
  /** the FIFO's read end (the simulated driver), opened unless `reader: false` */
  reader: number | null;
}

/** A configuration with the lockfile method and a simulated watchdog (a FIFO) in a fresh directory. */
function node({ reader = true, method = 'lockfile', disk = '/nonexistent/sdb1' }: { reader?: boolean; method?: 'lockfile' | 'none'; disk?: string } = {}): Node {
  const dir = scratch.fresh('node');
  mkdirSync(dir);
  const device = makeFifo(path.join(dir, 'watchdog'));
  const stateDir = path.join(dir, 'state');
  const configPath = path.join(dir, 'config.json');
  const fence = method === 'lockfile' ? { method, path: path.join(dir, 'lease', 'lease'), watchdog: { device, timeoutMs: 4000 } } : { method };
  writeFileSync(
    configPath,
    JSON.stringify({
      node: 'db1',
      vip: { address: '10.0.0.100', interface: 'eth0' },
      disk: { device: disk, mountpoint: '/data' },
      mysqld: { systemdUnit: 'mariadb.service' },
      fence,
      runDir: path.join(dir, 'run'),
      stateDir,
    }),
    { mode: 0o600 },
  );
  const fd = reader ? openFifoReader(device) : null;
  if (fd !== null) cleanups.push(() => closeSync(fd));
  return { configPath, device, stateDir, runDir: path.join(dir, 'run'), reader: fd };
}

/** A state file as a previous daemon leaves it: this boot (or another), the watchdog armed or not. */
function previousDaemon(n: Node, { armed, boot = bootId() }: { armed: boolean; boot?: string }): void {
  writeState(n.stateDir, {
    version: 1,
    node: 'db1',
    bootId: boot,
    daemon: null,
    desired: null,
    keepalivedState: null,
    role: 'MASTER',
    transition: null,
    lastTransition: null,
    selfFence: null,
    watchdog: { device: n.device, kind: 'simulated', timeoutMs: 4000, armed, petting: true },
    updatedAt: new Date().toISOString(),
  });
}

/** The lease tenure the previous daemon published (lease-tenure.json), its right to write ending at `rightEndsAtMs`. */
function previousTenure(n: Node, rightEndsAtMs: number): void {
  mkdirSync(n.runDir, { recursive: true });
  writeTenureFile(n.runDir, { version: 1, bootId: bootId(), pid: 4242, tenure: { nonce: 'aaaaaaaaaaaaaaaa', counter: 3, lastGoodStartMs: rightEndsAtMs - 6000, rightEndsAtMs, deadByMs: rightEndsAtMs + 8000 }, lost: null, observing: null, warnings: [], writtenAtMs: monoNow() });
}

describe('configFlag', () => {
  it('reads --config PATH and --config=PATH, and nothing else', () => {
    assert.equal(configFlag(['--config', '/etc/fa.json']), '/etc/fa.json');
    assert.equal(configFlag(['--config=/etc/fa.json']), '/etc/fa.json');
    assert.equal(configFlag([]), undefined);
    assert.equal(configFlag(['--configuration', 'x']), undefined);
  });
});

describe('openWatchdogEarly', () => {
  it('opens the device when the previous daemon of this boot left it armed, pets it while its right to write lasts, and publishes it once', async () => {
    const n = node();
    previousDaemon(n, { armed: true });
    previousTenure(n, monoNow() + 2500);
    const early = openWatchdogEarly(['--config', n.configPath]);
    cleanups.push(() => {
      early.stop();
      early.watchdog?.disarm();
    });
    assert.equal(early.skipped, null);
    assert.equal(early.watchdog?.armed, true);
    assert.ok(early.openedMono !== null && early.openedMono >= early.startedMono);
    await delay(100);
    assert.match(drainFifo(n.reader as number).data, /^\.+$/, 'the open is a keepalive, and the child writes its first at once');
    await delay(1100);
    assert.ok(drainFifo(n.reader as number).data.length >= 1, 'then one every timeoutMs / 4 (1 s here)');
    await delay(1500);
    drainFifo(n.reader as number);
    await delay(1100);
    assert.equal(drainFifo(n.reader as number).data, '', 'none once the inherited right (less 0.5 s) has ended');
    assert.equal(takeEarlyWatchdog(), early);
    assert.equal(takeEarlyWatchdog(), null, 'taken once');
  });

  it("leaves the device alone once the previous daemon's right to write has ended: an open is a keepalive", () => {
    const n = node();
    previousDaemon(n, { armed: true });
    previousTenure(n, monoNow() - 300);
    const early = openWatchdogEarly(['--config', n.configPath]);
    assert.equal(early.watchdog, null);
    assert.match(early.skipped ?? '', /^the previous daemon's right to write ended \d+ ms ago/);
    assert.equal(drainFifo(n.reader as number).data, '');
  });

  it('without a published tenure, opens the device only when the shared filesystem is gone from this kernel', () => {
    const unknown = node();
    previousDaemon(unknown, { armed: true });
    assert.match(openWatchdogEarly(['--config', unknown.configPath]).skipped ?? '', /held no lease tenure and its device cannot be looked at \(\/nonexistent\/sdb1: /);
    assert.equal(drainFifo(unknown.reader as number).data, '');
    // /dev/null stands for a device mounted nowhere (1:3, in no mount namespace's mountinfo)
    const gone = node({ disk: '/dev/null' });
    previousDaemon(gone, { armed: true });
    const early = openWatchdogEarly(['--config', gone.configPath]);
    cleanups.push(() => {
      early.stop();
      early.watchdog?.disarm();
    });
    assert.equal(early.skipped, null);
    assert.equal(early.petUntilMono, Infinity);
    assert.match(drainFifo(gone.reader as number).data, /^\.+$/);
  });

  it('leaves the device alone when the previous daemon left it disarmed', () => {
    const n = node();
    previousDaemon(n, { armed: false });
    const early = openWatchdogEarly([`--config=${n.configPath}`]);
    assert.equal(early.watchdog, null);
    assert.equal(early.skipped, 'the previous daemon left the watchdog disarmed');
    assert.equal(drainFifo(n.reader as number).data, '');
  });

  it('leaves the device alone when the state file is from another boot, or missing', () => {
    const n = node();
    assert.equal(openWatchdogEarly(['--config', n.configPath]).skipped, 'no state file from this boot');
    previousDaemon(n, { armed: true, boot: 'another-boot' });
    assert.equal(openWatchdogEarly(['--config', n.configPath]).skipped, 'no state file from this boot');
    assert.equal(drainFifo(n.reader as number).data, '');
  });

  it('does nothing without a watchdog in the configuration', () => {
    const n = node({ method: 'none' });
    previousDaemon(n, { armed: true });
    assert.equal(openWatchdogEarly(['--config', n.configPath]).skipped, 'no watchdog configured');
  });

  it('records a failure instead of throwing: a bad configuration, a device that cannot be opened', () => {
    assert.match(openWatchdogEarly(['--config', '/nonexistent/config.json']).skipped ?? '', /^early open failed: .*config/);
    const n = node({ reader: false });
    previousDaemon(n, { armed: true });
    previousTenure(n, monoNow() + 60_000);
    assert.match(openWatchdogEarly(['--config', n.configPath]).skipped ?? '', /^early open failed: no reader on the simulated watchdog FIFO/);
  });
});

describe('WatchdogKeeper.adopt', () => {
  it("takes over the device the entry opened, ends the entry's keepalives and pets it from then on only while mayPet", async () => {
    const n = node();
    previousDaemon(n, { armed: true });
    previousTenure(n, monoNow() + 60_000);
    const early = openWatchdogEarly(['--config', n.configPath]);
    drainFifo(n.reader as number);
    const { log, messages } = logStub();
    let mayPet = true;
    const keeper = new WatchdogKeeper({ device: n.device, timeoutMs: 400, nowayout: false, daemonRestartMs: 3000 }, () => mayPet, log);
    cleanups.push(() => {
      keeper.disarm('test over');
      keeper.stop();
    });
    keeper.adopt(takeEarlyWatchdog());
    assert.equal(keeper.armed, true);
    assert.equal(early.watchdog?.armed, true);
    assert.match(messages('info').join('\n'), /opened and petted by the entry before the daemon loaded, now adopted/);
    await delay(350);
    assert.ok(drainFifo(n.reader as number).data.length >= 2, "the keeper's loop pets every timeoutMs / 4 (100 ms), not the entry's (1 s)");
    mayPet = false;
    await delay(150);
    drainFifo(n.reader as number);
    await delay(1200);
    assert.equal(drainFifo(n.reader as number).data, '', "no keepalive while mayPet is false: the entry's loop ended too");
    keeper.arm();
    assert.equal(drainFifo(n.reader as number).data, '', 'arm() does not open it again');
    keeper.disarm('test over');
    assert.equal(early.watchdog?.armed, false, 'the adopted device is the one closed');
  });

  it('ignores a device other than the configured one, and logs a failed early open', () => {
    const n = node();
    const { log, messages } = logStub();
    const keeper = new WatchdogKeeper({ device: n.device, timeoutMs: 400, nowayout: false, daemonRestartMs: 3000 }, () => true, log);
    keeper.adopt({ device: '/dev/other', watchdog: null, startedMono: 0, openedMono: null, skipped: 'early open failed: EBUSY', petUntilMono: null, stop: () => undefined, petterPid: null });
    assert.equal(keeper.armed, false);
    assert.match(messages('warn').join('\n'), /watchdog not opened by the entry: early open failed: EBUSY/);
  });
});
