// `check`'s memory of its failing fence reads (issue 11 §6). keepalived runs `check` every few
// seconds, each a new process; one failed read of the lease file (an NFS hiccup) or of the LU
// used to make a healthy idle BACKUP unhealthy at once — keepalived FAULT, no candidate left to
// take over. A read failing for less than the fence's own tolerance (the lease's stale time S:
// the holder's record outlives it) is not a verdict; a read failing longer is. The streak lives in
// `<runDir>/fence-read-failing.json` ({ version: 1, bootId, sinceMono }; a file without `version`,
// written before 2026-12-04, is read the same), removed by the first good read.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config/types.ts';

const FILE = 'fence-read-failing.json';

/**
 * How long a fence read may keep failing before `check` calls it a problem, ms: lockfile, the
 * lease's stale time S (`fence.staleMs`); scsi-pr, the age at which the daemon's published read is
 * stale (2·watchIntervalMs + commandTimeoutMs, the rule `check` uses to trust it); none, 0.
 */
export function fenceReadToleranceMs(config: Config): number {
  const { fence } = config;
  if (fence.method === 'lockfile') return fence.staleMs;
  if (fence.method === 'scsi-pr') return 2 * fence.watchIntervalMs + fence.commandTimeoutMs;
  return 0;
}

/**
 * Records this check's fence read and returns how long reads have failed in a row, ms (0 for the
 * first failure); null when this one did not fail, or when the streak could not be written (no
 * runDir: no daemon ever ran) — then nothing is tolerated, since no streak could ever end it. A
 * record from another boot starts anew.
 */
export function fenceReadStreak(runDir: string, failing: boolean, nowMono: number, bootId: string): number | null {
  const file = path.join(runDir, FILE);
  if (!failing) {
    rmSync(file, { force: true });
    return null;
  }
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown; bootId?: unknown; sinceMono?: unknown };
    if ((value.version === undefined || value.version === 1) && value.bootId === bootId && typeof value.sinceMono === 'number' && value.sinceMono <= nowMono) return nowMono - value.sinceMono;
  } catch {
    // no streak yet, or a damaged record: start one
  }
  try {
    writeFileSync(file, JSON.stringify({ version: 1, bootId, sinceMono: nowMono }), { mode: 0o600 });
    return 0;
  } catch {
    return null;
  }
}
