// The labs' simulated watchdog against real FIFOs, its writer side driven by the daemon's Watchdog
// (src/watchdog/device.ts), by raw fs writes and by a child process that gets SIGKILLed. Timeouts
// are a few hundred ms; fire times are asserted only as "not before the timeout, not absurdly late"
// (this machine is small and noisy).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { after, afterEach, describe, test } from 'node:test';
import { delay, waitFor } from '../../lab/wait.ts';
import { SimulatedWatchdog, type SimulatedWatchdogState } from '../../lab/watchdog.ts';
import { monoNow } from '../../src/clock.ts';
import { Watchdog } from '../../src/watchdog/device.ts';
import { Children } from '../helpers/children.ts';
import { scratchDir } from '../helpers/scratch.ts';

const scratch = scratchDir('lab-watchdog');
const children = new Children();
after(children.killAll);

/** Late by this much at most, however loaded the machine: catches "never fires" and "fires on the wrong clock". */
const SLACK_MS = 5000;

interface Fire {
  atMs: number;
  why: string;
}

const running: SimulatedWatchdog[] = [];
const daemons: Watchdog[] = [];
afterEach(() => {
  for (const watchdog of daemons.splice(0)) watchdog.disarm();
  for (const supervisor of running.splice(0)) supervisor.stop();
});

const supervise = (timeoutMs: number, onFire?: (why: string) => Promise<void>) => {
  const fifoPath = scratch.fresh('wd.fifo');
  const fires: Fire[] = [];
  const supervisor = new SimulatedWatchdog({
    fifoPath,
    timeoutMs,
    pollMs: 20,
    onFire: async (why) => {
      fires.push({ atMs: monoNow(), why });
      await onFire?.(why);
    },
  });
  supervisor.start();
  running.push(supervisor);
  return { fifoPath, fires, supervisor };
};

const daemonWatchdog = (device: string, timeoutMs: number): Watchdog => {
  const watchdog = new Watchdog({ device, timeoutMs, nowayout: false, daemonRestartMs: 0 });
  daemons.push(watchdog);
  return watchdog;
};

const reach = (supervisor: SimulatedWatchdog, state: SimulatedWatchdogState) =>
  waitFor(`simulated watchdog ${state} (events: ${JSON.stringify(supervisor.events.map((e) => e.what))})`, () => supervisor.state === state, SLACK_MS, 10);

/** Pets every `everyMs` for `forMs`. */
const petFor = async (watchdog: Watchdog, forMs: number, everyMs: number): Promise<void> => {
  const until = monoNow() + forMs;
  while (monoNow() < until) {
    assert.equal(watchdog.pet(), true, watchdog.lastError?.message);
    await delay(everyMs);
  }
};

/** Waits until the supervisor has read everything written so far (its keepalive time moves past `sinceMs`). */
const consumed = (supervisor: SimulatedWatchdog, sinceMs: number) =>
  waitFor('the supervisor to read the keepalive', () => (supervisor.lastKeepaliveMs ?? -1) >= sinceMs, SLACK_MS, 5);

describe('SimulatedWatchdog', () => {
  test('creates the FIFO; the daemon arms it, and keepalives keep it from firing', async () => {
    const { fifoPath, fires, supervisor } = supervise(500);
    assert.equal(supervisor.state, 'idle');
    const watchdog = daemonWatchdog(fifoPath, 500);
    watchdog.arm();
    await reach(supervisor, 'armed');
    await petFor(watchdog, 1500, 50);
    assert.deepEqual(fires, []);
    assert.equal(supervisor.state, 'armed');
    assert.equal(watchdog.disarm(), 'closed');
    await reach(supervisor, 'idle');
    assert.deepEqual(fires, []);
  });

  test('no keepalive for the timeout: fires once, with the reason, then idles', async () => {
    const timeoutMs = 300;
    const { fifoPath, fires, supervisor } = supervise(timeoutMs);
    const watchdog = daemonWatchdog(fifoPath, timeoutMs);
    watchdog.arm();
    const lastPet = watchdog.lastPetMs!;
    await waitFor('the fire', () => fires.length > 0, SLACK_MS, 10);
    await reach(supervisor, 'idle');
    await delay(2 * timeoutMs);
    assert.equal(fires.length, 1);
    const [fire] = fires;
    assert.match(fire!.why, /^no keepalive for \d+ ms \(timeout 300 ms\), its writer is connected but silent$/);
    assert.ok(fire!.atMs - lastPet >= timeoutMs, `fired ${fire!.atMs - lastPet} ms after the last keepalive`);
    assert.ok(fire!.atMs - lastPet < timeoutMs + SLACK_MS);
    assert.ok(supervisor.events.some((e) => e.what.startsWith('fired: no keepalive')));
    // the daemon is still connected: its next keepalive arms it again
    assert.equal(watchdog.pet(), true);
    await reach(supervisor, 'armed');
  });

  test('magic close: idle, and it never fires', async () => {
    const timeoutMs = 300;
    const { fifoPath, fires, supervisor } = supervise(timeoutMs);
    const watchdog = daemonWatchdog(fifoPath, timeoutMs);
    watchdog.arm();
    await reach(supervisor, 'armed');
    assert.equal(watchdog.disarm(), 'closed');
    await reach(supervisor, 'idle');
    assert.ok(supervisor.events.some((e) => e.what === 'disarmed by magic close'));
    await delay(3 * timeoutMs);
    assert.deepEqual(fires, []);
    assert.equal(supervisor.state, 'idle');
  });

  test('close without V: orphaned, and it fires the timeout after the last keepalive', async () => {
    const timeoutMs = 400;
    const { fifoPath, fires, supervisor } = supervise(timeoutMs);
    const fd = openSync(fifoPath, constants.O_WRONLY | constants.O_NONBLOCK);
    writeSync(fd, '.');
    await reach(supervisor, 'armed');
    await delay(100);
    const lastWrite = monoNow();
    writeSync(fd, '.');
    await consumed(supervisor, lastWrite);
    await delay(100);
    const closedAt = monoNow();
    closeSync(fd);
    await reach(supervisor, 'orphaned');
    assert.ok(supervisor.events.some((e) => e.what === 'closed without magic close: watchdog did not stop!'));
    await waitFor('the fire', () => fires.length > 0, SLACK_MS, 10);
    const keepalive = supervisor.lastKeepaliveMs!;
    assert.ok(keepalive >= lastWrite && keepalive < closedAt, 'the timer counts from the last keepalive, not from the close');
    assert.ok(fires[0]!.atMs - keepalive > timeoutMs);
    assert.ok(fires[0]!.atMs - lastWrite < timeoutMs + SLACK_MS);
    assert.match(fires[0]!.why, /its writer closed without magic close$/);
    await reach(supervisor, 'idle');
    assert.equal(fires.length, 1);
  });

  test("a 'V' withdrawn by a later write does not disarm: the close orphans it", async () => {
    const { fifoPath, fires, supervisor } = supervise(300);
    const fd = openSync(fifoPath, constants.O_WRONLY | constants.O_NONBLOCK);
    let wroteAt = monoNow();
    writeSync(fd, 'V');
    await consumed(supervisor, wroteAt);
    wroteAt = monoNow();
    writeSync(fd, '.');
    await consumed(supervisor, wroteAt);
    closeSync(fd);
    await reach(supervisor, 'orphaned');
    await waitFor('the fire', () => fires.length > 0, SLACK_MS, 10);
  });

  test('a writer killed with SIGKILL: orphaned, then fires', async () => {
    const timeoutMs = 400;
    const { fifoPath, fires, supervisor } = supervise(timeoutMs);
    const source = `
      const fs = require('node:fs');
      const fd = fs.openSync(process.argv[1], fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      fs.writeSync(fd, '.');
      setInterval(() => fs.writeSync(fd, '.'), 50);
      process.stdout.write('ready\\n');`;
    const child = children.push(spawn(process.execPath, ['-e', source, fifoPath], { stdio: ['ignore', 'pipe', 'inherit'] }));
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => reject(new Error(`writer exited early (${code ?? signal})`)));
      child.stdout!.once('data', () => resolve());
    });
    await reach(supervisor, 'armed');
    await delay(200);
    assert.equal(supervisor.state, 'armed');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const killedAt = monoNow();
    child.kill('SIGKILL');
    await exited;
    await reach(supervisor, 'orphaned');
    await waitFor('the fire', () => fires.length > 0, SLACK_MS, 10);
    assert.ok(fires[0]!.atMs - supervisor.lastKeepaliveMs! > timeoutMs);
    assert.ok(fires[0]!.atMs - killedAt < timeoutMs + SLACK_MS);
    assert.match(fires[0]!.why, /closed without magic close/);
  });

  test('a new writer after orphaned: armed again, and it does not fire while petted', async () => {
    const timeoutMs = 400;
    const { fifoPath, fires, supervisor } = supervise(timeoutMs);
    const fd = openSync(fifoPath, constants.O_WRONLY | constants.O_NONBLOCK);
    writeSync(fd, '.');
    closeSync(fd);
    await reach(supervisor, 'orphaned');
    const watchdog = daemonWatchdog(fifoPath, timeoutMs);
    watchdog.arm(); // the restarted daemon
    await reach(supervisor, 'armed');
    assert.ok(supervisor.events.some((e) => e.what === 're-armed: a new writer pets it'));
    await petFor(watchdog, 3 * timeoutMs, 50);
    assert.deepEqual(fires, []);
    assert.equal(watchdog.disarm(), 'closed');
    await reach(supervisor, 'idle');
  });

  test('polling waits for onFire: fired while it runs, called once, then idle', async () => {
    const timeoutMs = 200;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { fifoPath, fires, supervisor } = supervise(timeoutMs, () => gate);
    const fd = openSync(fifoPath, constants.O_WRONLY | constants.O_NONBLOCK);
    writeSync(fd, '.');
    await reach(supervisor, 'fired');
    writeSync(fd, '..'); // the dying node's last keepalives: drained after onFire, not a new arming
    await delay(3 * timeoutMs);
    assert.equal(supervisor.state, 'fired');
    assert.equal(fires.length, 1);
    release();
    await reach(supervisor, 'idle');
    assert.match(supervisor.events.at(-1)!.what, /^idle after firing \(2 bytes drained\)$/);
    closeSync(fd);
    await delay(3 * timeoutMs);
    assert.equal(fires.length, 1);
    assert.equal(supervisor.state, 'idle');
  });

  test('stop closes the read end: the daemon can no longer arm, and the FIFO stays', () => {
    const { fifoPath, supervisor } = supervise(300);
    supervisor.stop();
    assert.equal(supervisor.running, false);
    const watchdog = daemonWatchdog(fifoPath, 300);
    assert.throws(() => watchdog.arm(), /supervisor is not running/);
    supervisor.start(); // the FIFO is reused
    watchdog.arm();
    assert.equal(watchdog.armed, true);
  });
});
