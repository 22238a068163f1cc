// The daemon's published view of its persistent reservation, `<runDir>/pr-state.json`, so that
// `check` and `status` — other processes, `check` every few seconds — need not send two SCSI
// commands each (issue 9: they read the daemon's cached fence state with its age; `status --live`
// reads the device). Times are CLOCK_MONOTONIC ms (src/clock.ts), valid on the boot named by
// `bootId` only.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../../src/state.ts';
import { isAlive } from '../../src/proc.ts';
import { monoNow } from '../../src/clock.ts';
import type { FenceStatus } from '../types.ts';

export interface PrStateFile {
  version: 1;
  bootId: string;
  /** the daemon that wrote it */
  pid: number;
  /** whether the daemon holds the fence (its key registered and the reservation its own) */
  held: boolean;
  /** the last read-back of the keys (and reservation) while held; null when not holding */
  status: FenceStatus | null;
  /** monotonic ms of that read, null when not holding */
  readAtMs: number | null;
  /** the last loss of the fence, or null */
  lost: { reason: string; atMs: number } | null;
  /** how the last successful acquire removed the other key; null: there was none to remove */
  lastPreempt: 'preempt-and-abort' | 'preempt' | null;
  writtenAtMs: number;
}

export const prStateFilePath = (runDir: string): string => path.join(runDir, 'pr-state.json');

export function writePrStateFile(runDir: string, value: PrStateFile): void {
  writeJsonAtomic(prStateFilePath(runDir), value, 0o600);
}

/** The published state if it was written on boot `bootId`; null when missing, unreadable or from another boot. */
export function readPrStateFile(runDir: string, bootId: string): PrStateFile | null {
  try {
    const value = JSON.parse(readFileSync(prStateFilePath(runDir), 'utf8')) as PrStateFile;
    return value.version === 1 && value.bootId === bootId ? value : null;
  } catch {
    return null;
  }
}

/**
 * The fence status `check` and `status` may take from the daemon instead of reading the LU: the
 * daemon that wrote it alive; when it holds the fence, its last read no older than `maxAgeMs`
 * (its watch reads every `watchIntervalMs`); when it does not, it has registered nothing (a BACKUP
 * is never a registrant), and the status says so with `held: false`. null: read the LU instead.
 */
export function cachedPrStatus(file: PrStateFile | null, maxAgeMs: number, alive: (pid: number) => boolean = isAlive, now = monoNow()): FenceStatus | null {
  if (file === null || !alive(file.pid)) return null;
  if (!file.held) {
    const lost = file.lost === null ? '' : `; fence lost ${Math.round(now - file.lost.atMs)} ms ago: ${file.lost.reason}`;
    return { held: false, holder: null, registrants: [], detail: `not registered: the daemon (pid ${file.pid}) holds no reservation${lost}` };
  }
  if (file.status === null || file.readAtMs === null) return null;
  const ageMs = Math.round(now - file.readAtMs);
  if (ageMs > maxAgeMs) return null;
  const how = file.lastPreempt ? `; ${takenOverBy(file.lastPreempt)}` : '';
  return { ...file.status, detail: `${file.status.detail} (read by the daemon ${ageMs} ms ago)${how}` };
}

/**
 * How the fence was last taken from a peer, for `status` and the log: PREEMPT AND ABORT (SPC-4
 * 5.14.12: the victim's queued commands aborted), or plain PREEMPT where the target refused it
 * (tgtd) and the daemon waited `fence.drainMs` instead.
 */
export const takenOverBy = (how: 'preempt-and-abort' | 'preempt'): string =>
  how === 'preempt-and-abort' ? 'taken over by PREEMPT AND ABORT' : 'taken over by plain PREEMPT (the target refused PREEMPT AND ABORT) and a drain wait';
