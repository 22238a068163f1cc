// The daemon's SQL health record, `<runDir>/sql-health.json`: while MASTER the daemon pings mysqld
// over its socket with mysql2 every `monitor.sqlIntervalMs` and writes the result here. `check`
// uses a fresh record for the same mysqld pid instead of loading mysql2 itself (~50 ms of every
// run); with no fresh record (daemon down, busy, or mysqld restarted) it pings on its own.
// Format: { version: 1, ...SqlHealthRecord }; a record without `version` (written before
// 2026-12-04) is read the same, a later version is not read (check then pings on its own).
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { monoNow } from './clock.ts';
import { writeJsonAtomic } from './state.ts';

export interface SqlHealthRecord {
  /** the mysqld pinged */
  pid: number;
  ok: boolean;
  latencyMs: number;
  error: string | null;
  /** when the ping finished, monotonic ms (src/clock.ts) */
  atMono: number;
}

export const sqlHealthPath = (runDir: string): string => path.join(runDir, 'sql-health.json');

export function writeSqlHealth(runDir: string, record: SqlHealthRecord): void {
  writeJsonAtomic(sqlHealthPath(runDir), { version: 1, ...record }, 0o600);
}

export function clearSqlHealth(runDir: string): void {
  rmSync(sqlHealthPath(runDir), { force: true });
}

/** The record if it concerns `pid` and is at most `maxAgeMs` old; null otherwise. */
export function freshSqlHealth(runDir: string, pid: number, maxAgeMs: number, now = monoNow()): SqlHealthRecord | null {
  try {
    const { version, ...record } = JSON.parse(readFileSync(sqlHealthPath(runDir), 'utf8')) as SqlHealthRecord & { version?: unknown };
    if (version !== undefined && version !== 1) return null;
    return typeof record.atMono === 'number' && record.pid === pid && now - record.atMono <= maxAgeMs && now >= record.atMono ? record : null;
  } catch {
    return null;
  }
}
