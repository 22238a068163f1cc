// The node's SCSI-3 persistent-reservation key (SPC-4 §5.13: an 8-byte reservation key; 0 means
// "no key" in a REGISTER's service action reservation key field, so it is never used).
//
// Derived from the cluster name and a configured node id, not from /etc/machine-id: VMs cloned from
// one template share their machine id, and two nodes with one key would be one registrant. The
// same inputs give the same key on every start (stable across reboots and re-installs), so a
// node recognises its own stale registration.
import { createHash } from 'node:crypto';
import { FenceAgentError, configError } from '../../src/errors.ts';

/** Largest reservation key: 8 bytes. */
const MAX_KEY = (1n << 64n) - 1n;

/**
 * The reservation key for `nodeId` in `cluster`: the first 8 bytes of SHA-256 over
 * `fence-agent\0<cluster>\0<nodeId>`, big-endian; 1 in the (2⁻⁶⁴) case that they are all zero.
 * @throws FenceAgentError code `ECONFIG` for an empty cluster name or node id.
 */
export function reservationKey(cluster: string, nodeId: string): bigint {
  if (cluster === '' || nodeId === '') throw configError(`a reservation key needs a cluster name and a node id (got cluster "${cluster}", node id "${nodeId}")`);
  const digest = createHash('sha256').update(`fence-agent\0${cluster}\0${nodeId}`).digest();
  const key = digest.readBigUInt64BE(0);
  return key === 0n ? 1n : key;
}

/** A key as sg_persist prints and accepts it: `0x` and lower-case hex without leading zeros. */
export function formatKey(key: bigint): string {
  return `0x${key.toString(16)}`;
}

/**
 * Parses a key as sg_persist prints it (`0x1111`) or as configured (`0x…`, decimal digits).
 * @throws FenceAgentError code `EPRPARSE` for anything else, or a key outside 1 … 2⁶⁴ − 1.
 */
export function parseKey(text: string): bigint {
  const trimmed = text.trim();
  if (!/^(0x[0-9a-fA-F]{1,16}|[0-9]{1,20})$/.test(trimmed)) throw new FenceAgentError('EPRPARSE', `not a reservation key: "${trimmed.slice(0, 40)}" (expected 0x and 1–16 hex digits)`);
  const key = BigInt(trimmed);
  if (key === 0n || key > MAX_KEY) throw new FenceAgentError('EPRPARSE', `reservation key out of range: ${trimmed} (expected 1 … 2^64 − 1)`);
  return key;
}
