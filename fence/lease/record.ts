// The lease record (version 2): one small JSON file on storage both nodes see. The holder rewrites
// it on every refresh with a bumped `counter`; the peer decides by watching it *not change*
// (fence/lease/observer.ts), never by comparing a timestamp with its own wall clock. `writtenAt`
// is for humans only. Written atomically (temp file + rename) by src/lease-io.ts.
import { randomBytes } from 'node:crypto';

/** Who a record names: a node name is not enough (two nodes may be misconfigured with one name). */
export interface LeaseIdentity {
  node: string;
  /** /proc/sys/kernel/random/boot_id of the holder's boot */
  bootId: string;
  /** machine-id(5) of the holder */
  machineId: string;
}

export interface LeaseRecord extends LeaseIdentity {
  version: 2;
  /** `held`: the named node may write; `released`: free, left by the named node after a verified release */
  state: 'held' | 'released';
  /** pid of the daemon that wrote it */
  pid: number;
  /** random per acquisition: tells one tenure from the next, even of the same node */
  nonce: string;
  /** bumped on every refresh (0 at acquisition) */
  counter: number;
  /** wall-clock time of the write, ISO; informational only */
  writtenAt: string;
}

/** What a read of the lease file shows. */
export type LeaseView =
  | { kind: 'free'; record: LeaseRecord | null } // no file, an empty file, or a `released` record
  | { kind: 'held'; record: LeaseRecord }
  | { kind: 'unreadable'; text: string }; // not a v2 record (garbage, torn, an old format): held by someone unknown

/** Parses the file's text (null = no file). Never throws. */
export function parseLease(text: string | null): LeaseView {
  if (text === null || text.trim() === '') return { kind: 'free', record: null };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'unreadable', text };
  }
  const r = value as Partial<LeaseRecord> | null;
  const wellFormed =
    r !== null &&
    typeof r === 'object' &&
    r.version === 2 &&
    (r.state === 'held' || r.state === 'released') &&
    typeof r.node === 'string' &&
    typeof r.bootId === 'string' &&
    typeof r.machineId === 'string' &&
    typeof r.pid === 'number' &&
    typeof r.nonce === 'string' &&
    r.nonce !== '' &&
    typeof r.counter === 'number' &&
    Number.isInteger(r.counter);
  if (!wellFormed) return { kind: 'unreadable', text };
  const record = r as LeaseRecord;
  return record.state === 'released' ? { kind: 'free', record } : { kind: 'held', record };
}

/** The file's text for `record` (one line of JSON and a newline). */
export const serializeLease = (record: LeaseRecord): string => `${JSON.stringify(record)}\n`;

/** Same node name, boot and machine. */
export const sameIdentity = (a: LeaseIdentity, b: LeaseIdentity): boolean => a.node === b.node && a.bootId === b.bootId && a.machineId === b.machineId;

/** A fresh acquisition nonce (16 hex digits). */
export const newNonce = (): string => randomBytes(8).toString('hex');

/** `db1 (pid 812, counter 41)` — for log lines and `status`. */
export const describeHolder = (record: LeaseRecord): string => `${record.node} (pid ${record.pid}, counter ${record.counter})`;
