// The daemon's published view of its lease, `<runDir>/lease-tenure.json`, for `check` and
// `status`, which run in other processes and cannot see the daemon's memory. Times are on
// CLOCK_MONOTONIC (src/clock.ts), valid only on the boot named by `bootId`: a file left from an
// earlier boot (a /run that survived, a restored backup) is ignored.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../../src/state.ts';

export interface TenureFile {
  version: 1;
  bootId: string;
  /** pid of the daemon that wrote it */
  pid: number;
  /** the current tenure, or null when this node does not hold the lease */
  tenure: {
    nonce: string;
    counter: number;
    /** t_g: monotonic start of the last good refresh, ms */
    lastGoodStartMs: number;
    /** t_g + S − M − W: the right to write ends here, ms (monotonic) */
    rightEndsAtMs: number;
    /** t_g + S − M: fenced or reset by the watchdog by then, ms (monotonic) */
    deadByMs: number;
    /** the acquisition's read-back confirmed it (absent in files of earlier versions: not confirmed) */
    confirmed?: boolean;
  } | null;
  /** the last loss of a tenure, or null */
  lost: { reason: string; atMs: number } | null;
  /** the peer's lease as this node observes it (not holding), or null */
  observing: { holder: string | null; sinceMs: number; takeoverAfterMs: number } | null;
  /** placement warnings found at start-up (NFS attribute caching, override in use) */
  warnings: string[];
  /** monotonic ms of this write */
  writtenAtMs: number;
}

export const tenureFilePath = (runDir: string): string => path.join(runDir, 'lease-tenure.json');

export function writeTenureFile(runDir: string, value: TenureFile): void {
  writeJsonAtomic(tenureFilePath(runDir), value, 0o600);
}

/** The published tenure if it was written on boot `bootId`; null when missing, unreadable or from another boot. */
export function readTenureFile(runDir: string, bootId: string): TenureFile | null {
  try {
    const value = JSON.parse(readFileSync(tenureFilePath(runDir), 'utf8')) as TenureFile;
    return value.version === 1 && value.bootId === bootId ? value : null;
  } catch {
    return null;
  }
}
