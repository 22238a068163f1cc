// The third initiator as a process: logs in to the target and prints the LU's persistent-reservation
// state as one JSON line per read, every INTERVAL_MS, until stdin closes or it is killed. Run in
// the namespace that reaches the portal (the VM lab's: `ip netns exec <ns> node --import tsx …`):
//
//   watch-keys.ts HOST PORT TARGET_IQN INITIATOR_IQN INTERVAL_MS [LUN]
//
// LUN: the logical unit's number (default 1: tgtd's first disk; LIO's is 0).
// A line: {"start":MONO,"end":MONO,"keys":["0x…"],"holder":"0x…"|null,"type":N|null} after a read,
// {"start":MONO,"end":MONO,"error":"…"} after a failure (it logs in again before the next read).
// MONO is CLOCK_MONOTONIC in ms (src/clock.ts): the same clock as the reader's, on one kernel.
import { monoNow } from '../../src/clock.ts';
import { IscsiSession, pr } from './initiator.ts';

const [host, port, target, initiator, interval, lun = '1'] = process.argv.slice(2);
if (host === undefined || port === undefined || target === undefined || initiator === undefined || interval === undefined || !/^\d+$/.test(port) || !/^\d+$/.test(interval) || !/^\d+$/.test(lun)) {
  process.stderr.write('usage: watch-keys.ts HOST PORT TARGET_IQN INITIATOR_IQN INTERVAL_MS [LUN]\n');
  process.exit(2);
}
const intervalMs = Number(interval);
const hex = (key: bigint): string => `0x${key.toString(16)}`;

let session: IscsiSession | null = null;
let stopping = false;
process.stdin.on('end', () => (stopping = true));
process.stdin.resume();

while (!stopping) {
  const start = monoNow();
  try {
    session ??= await IscsiSession.open({ host, port: Number(port), target, initiator, lun: Number(lun), timeoutMs: 3000 });
    const keys = await pr.readKeys(session);
    const reservation = await pr.readReservation(session);
    process.stdout.write(`${JSON.stringify({ start, end: monoNow(), keys: keys.keys.map(hex), holder: reservation === null ? null : hex(reservation.key), type: reservation?.type ?? null })}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ start, end: monoNow(), error: error instanceof Error ? error.message : String(error) })}\n`);
    await session?.close();
    session = null;
  }
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, intervalMs - (monoNow() - start))));
}
await session?.close();
