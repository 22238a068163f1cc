// A third initiator takes the LU from a node, as a peer that preempts it would: registers its own
// key, then PREEMPT (SPC-4 §5.13.11.4) of the victim's key with type 5 (WERO), so the reservation
// is the third initiator's and the victim's writes are refused. For scenarios that take the fence
// away from a node without a second node promoting (lab only; the agent never runs this). Run in
// the namespace that reaches the portal:
//
//   preempt-key.ts HOST PORT TARGET_IQN INITIATOR_IQN LUN OWN_KEY VICTIM_KEY
//
// Keys as 0x-hex. Prints one JSON line with the keys and holder read back; exit 1 on any failure.
import { IscsiSession, pr } from './initiator.ts';

const [host, port, target, initiator, lun, ownKey, victimKey] = process.argv.slice(2);
const isKey = (text: string | undefined): text is string => text !== undefined && /^0x[0-9a-f]{1,16}$/i.test(text) && BigInt(text) !== 0n;
if (host === undefined || port === undefined || target === undefined || initiator === undefined || lun === undefined || !/^\d+$/.test(port) || !/^\d+$/.test(lun) || !isKey(ownKey) || !isKey(victimKey)) {
  process.stderr.write('usage: preempt-key.ts HOST PORT TARGET_IQN INITIATOR_IQN LUN OWN_KEY VICTIM_KEY (keys 0x-hex, non-zero)\n');
  process.exit(2);
}
const hex = (key: bigint): string => `0x${key.toString(16)}`;
const session = await IscsiSession.open({ host, port: Number(port), target, initiator, lun: Number(lun), timeoutMs: 5000 });
try {
  await pr.out(session, 6, { serviceActionKey: BigInt(ownKey) }); // REGISTER AND IGNORE EXISTING KEY
  await pr.out(session, 4, { key: BigInt(ownKey), serviceActionKey: BigInt(victimKey), type: 5 }); // PREEMPT
  const keys = await pr.readKeys(session);
  const holder = await pr.readReservation(session);
  process.stdout.write(`${JSON.stringify({ keys: keys.keys.map(hex), holder: holder === null ? null : hex(holder.key), type: holder?.type ?? null })}\n`);
} catch (error) {
  process.stderr.write(`preempt-key: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  await session.close();
}
