// The pair lab's simulated watchdog for one node, as a process of its own (it must outlive `lab up`):
//   node --import tsx lab/watchdog-supervisor.ts LAB_DIR NODE TIMEOUT_MS
// It reads the node's watchdog FIFO (lab/watchdog.ts). When keepalives stop for TIMEOUT_MS it
// "resets" the node: the lab's crash (every process SIGKILLed, VIP, link and mount gone), then,
// after a short boot delay, the node starts again as its init system would (anchor, lease mount,
// daemon, keepalived) — a real watchdog reset reboots the machine. A node that is already down
// (crashed by the lab: powered off) is left alone: its watchdog went with it.
// Every event is one JSON line on stdout (`{"mono":…,"at":"…","node":…,"what":…}`); the lab sends
// stdout to <node dir>/watchdog.log. It exits when the lab's lab.json is gone.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { monoNow } from '../src/clock.ts';
import { errorLine } from '../src/errors.ts';
import { PairLab } from './pair.ts';
import { delay } from './wait.ts';
import { SimulatedWatchdog } from './watchdog.ts';

/** How long a reset node stays down before it boots again, ms. */
export const BOOT_DELAY_MS = 2000;

const [labDir, nodeName, timeout] = process.argv.slice(2);
if (labDir === undefined || nodeName === undefined || timeout === undefined || !/^\d+$/.test(timeout)) {
  process.stderr.write('usage: watchdog-supervisor.ts LAB_DIR NODE TIMEOUT_MS\n');
  process.exit(2);
}

const say = (what: string, extra: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ mono: Math.round(monoNow()), at: new Date().toISOString(), node: nodeName, what, ...extra })}\n`);
};

const fifoPath = path.join(labDir, nodeName, 'watchdog');
const watchdog = new SimulatedWatchdog({
  fifoPath,
  timeoutMs: Number(timeout),
  onFire: async (why) => {
    const lab = await PairLab.load(labDir);
    const node = lab.node(nodeName);
    if (node.pids().length === 0) {
      say('expired, but the node is down (powered off): nothing to reset', { why });
      return;
    }
    say('FIRED: resetting the node', { why });
    await lab.crash(node);
    say('node reset (crashed)');
    await delay(BOOT_DELAY_MS);
    if (!existsSync(path.join(labDir, 'lab.json'))) return;
    await lab.revive(node);
    say('node booted again');
  },
});

process.on('SIGTERM', () => {
  watchdog.stop();
  process.exit(0);
});

watchdog.start();
say('supervising', { fifo: fifoPath, timeoutMs: Number(timeout) });
let reported = 0;
setInterval(() => {
  for (const event of watchdog.events.slice(reported)) say(event.what, { eventMono: Math.round(event.atMs) });
  reported = watchdog.events.length;
  if (!existsSync(path.join(labDir, 'lab.json'))) {
    watchdog.stop();
    process.exit(0);
  }
}, 200).unref();
// keep running: the watchdog's poll timer holds the event loop
process.on('uncaughtException', (error) => {
  say(`supervisor error: ${errorLine(error)}`);
});
