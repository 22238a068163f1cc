// "Does mysqld answer SQL?" — one connection over the Unix socket, one query, both bounded.
import type { MysqldConfig } from '../config/types.ts';

export interface SqlPing {
  ok: boolean;
  /** connect + query, in ms (also set on failure: how long it took to fail) */
  latencyMs: number;
  /** error code and message when not ok (e.g. `ECONNREFUSED`, `ETIMEDOUT`, `ER_ACCESS_DENIED_ERROR`) */
  error: string | null;
  /** who pinged: this process, or the daemon's monitor (see src/sql-health.ts) */
  source: 'own' | 'daemon';
  /** age of the result, ms (0 for an own ping) */
  ageMs: number;
}

/**
 * Connects with mysql2 over `mysqld.socket` (connectTimeout = `timeoutMs`), runs
 * `mysqld.health.query` with a client-side timeout, and closes. Never throws.
 * mysql2 is imported here, lazily, so that `check` on a BACKUP never loads it.
 */
export async function pingSql(mysqld: MysqldConfig, timeoutMs: number): Promise<SqlPing> {
  const started = performance.now();
  const elapsed = (): number => Math.round((performance.now() - started) * 10) / 10;
  const { default: mysql } = await import('mysql2/promise');
  let connection: Awaited<ReturnType<typeof mysql.createConnection>> | undefined;
  try {
    connection = await mysql.createConnection({
      socketPath: mysqld.socket,
      user: mysqld.health.user,
      ...(mysqld.health.password === null ? {} : { password: mysqld.health.password }),
      connectTimeout: timeoutMs,
    });
    await connection.query({ sql: mysqld.health.query, timeout: Math.max(1, timeoutMs - elapsed()) });
    return { ok: true, latencyMs: elapsed(), error: null, source: 'own', ageMs: 0 };
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    return { ok: false, latencyMs: elapsed(), error: code && !message?.includes(code) ? `${code}: ${message}` : (message ?? String(error)), source: 'own', ageMs: 0 };
  } finally {
    connection?.destroy();
  }
}
