// "Does mysqld answer SQL?" — one connection over the Unix socket, one query, both bounded.
// Also "where does it serve from?" (`@@datadir`), asked the same way before a promotion ends.
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

type Connection = Awaited<ReturnType<typeof import('mysql2/promise').createConnection>>;

/** One mysql2 connection over `mysqld.socket` with the health credentials, connectTimeout = `timeoutMs`. */
async function connect(mysqld: MysqldConfig, timeoutMs: number): Promise<Connection> {
  const { default: mysql } = await import('mysql2/promise');
  return mysql.createConnection({
    socketPath: mysqld.socket,
    user: mysqld.health.user,
    ...(mysqld.health.password === null ? {} : { password: mysqld.health.password }),
    connectTimeout: timeoutMs,
  });
}

/** One line for a mysql2 error: `CODE: message`. */
const sqlError = (error: unknown): string => {
  const { code, message } = error as { code?: string; message?: string };
  return code && !message?.includes(code) ? `${code}: ${message}` : (message ?? String(error));
};

/**
 * Connects with mysql2 over `mysqld.socket` (connectTimeout = `timeoutMs`), runs
 * `mysqld.health.query` with a client-side timeout, and closes: one {@link SqlPinger} ping that
 * keeps nothing. Never throws.
 * mysql2 is imported by connect(), lazily, so that `check` on a BACKUP never loads it.
 */
export async function pingSql(mysqld: MysqldConfig, timeoutMs: number): Promise<SqlPing> {
  const once = new SqlPinger(mysqld, 0);
  await once.close(); // closed before it connects: the ping's connection ends with the ping
  return once.ping(null, timeoutMs);
}

/**
 * The daemon's SQL monitor's pinger: `mysqld.health.query` over one connection kept between
 * pings, instead of a connection per ping (a MASTER's daemon spent ~15 % of its CPU connecting
 * once a second, `npm run bench -- health-cpu`). A new connection is still opened at least every
 * `freshEveryMs` — so a server that answers on old connections but accepts no new ones (max
 * connections reached, a hung accept) is seen within that time — and whenever the pid pinged is
 * not the one the connection was opened to (a restarted mysqld). A kept connection that fails
 * (the server closed it while idle: wait_timeout, KILL, a proxy) is dropped and the query tried
 * once more on a fresh one within the same deadline, so only a fresh connection's failure is
 * reported: a dead or hung server fails the ping, an idle connection's end does not.
 * Latency: the query alone on a kept connection, connect + query on a fresh one.
 * Not for overlapping pings (the monitor runs one at a time). `ping` never throws.
 */
export class SqlPinger {
  private connection: Connection | undefined;
  /** the mysqld pid the kept connection was opened to (null: not said) */
  private pid: number | null = null;
  private openedAt = 0;
  private inFlight = false;
  private closed = false;

  constructor(
    private readonly mysqld: MysqldConfig,
    private readonly freshEveryMs: number,
  ) {}

  /** Pings mysqld `pid` (null: whichever answers the socket), bounded by `timeoutMs` (connects and queries together). */
  async ping(pid: number | null, timeoutMs: number): Promise<SqlPing> {
    this.inFlight = true;
    const started = performance.now();
    const elapsed = (): number => Math.round((performance.now() - started) * 10) / 10;
    const left = (): number => Math.max(1, timeoutMs - elapsed());
    try {
      if (this.connection !== undefined && (this.pid !== pid || performance.now() - this.openedAt >= this.freshEveryMs)) await this.drop();
      const kept = this.connection !== undefined;
      try {
        await this.query(pid, left);
      } catch (error) {
        this.discard();
        // a fresh connection's failure, or no time left for another (a hung server): this is the answer
        if (!kept || left() <= 1) throw error;
        await this.query(pid, left);
      }
      return { ok: true, latencyMs: elapsed(), error: null, source: 'own', ageMs: 0 };
    } catch (error) {
      this.discard();
      return { ok: false, latencyMs: elapsed(), error: sqlError(error), source: 'own', ageMs: 0 };
    } finally {
      this.inFlight = false;
      if (this.closed) await this.drop();
    }
  }

  /**
   * Closes the kept connection (COM_QUIT, bounded) and keeps none from now on: at once when no
   * ping runs, else as that ping ends (it is not cut short, so it reports what mysqld said).
   */
  async close(): Promise<void> {
    this.closed = true;
    if (!this.inFlight) await this.drop();
  }

  /** The health query on the kept connection, connecting first when there is none. */
  private async query(pid: number | null, left: () => number): Promise<void> {
    if (this.connection === undefined) {
      const connection = await connect(this.mysqld, left());
      // an idle connection the server closes makes mysql2 emit 'error': drop it, never crash on it
      connection.on('error', () => {
        if (this.connection === connection) this.connection = undefined;
        connection.destroy();
      });
      this.connection = connection;
      this.pid = pid;
      this.openedAt = performance.now();
    }
    await this.connection.query({ sql: this.mysqld.health.query, timeout: left() });
  }

  private discard(): void {
    this.connection?.destroy();
    this.connection = undefined;
  }

  private async drop(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    if (connection !== undefined) await close(connection);
  }
}

/** How long a polite close may take before the socket is simply destroyed, ms. */
const CLOSE_MS = 250;

/**
 * Ends a connection that answered with COM_QUIT (`end()`), bounded by {@link CLOSE_MS}, then
 * destroys the socket. A bare destroy() makes MariaDB log "Aborted connection … Got an error
 * reading communication packets" (log_warnings ≥ 2, the 10.11 default) for every ping: once a
 * second per MASTER in the error log.
 */
async function close(connection: Connection): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([connection.end().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_MS)))]);
  clearTimeout(timer);
  connection.destroy();
}

/** What `SELECT @@datadir` returned, or why it could not be asked. */
export type DatadirAnswer = { ok: true; datadir: string } | { ok: false; error: string };

/**
 * `SELECT @@datadir` (MariaDB prints it with a trailing slash) over `mysqld.socket`, with the health
 * ping's credentials and bounds: connectTimeout and the query's own timeout = `timeoutMs`. Never throws.
 */
export async function queryDatadir(mysqld: MysqldConfig, timeoutMs: number): Promise<DatadirAnswer> {
  const started = performance.now();
  let connection: Connection | undefined;
  try {
    connection = await connect(mysqld, timeoutMs);
    const [rows] = await connection.query({ sql: 'SELECT @@datadir AS datadir', timeout: Math.max(1, timeoutMs - (performance.now() - started)) });
    const datadir = (rows as Array<{ datadir?: unknown }>)[0]?.datadir;
    await close(connection);
    connection = undefined;
    return typeof datadir === 'string' && datadir !== '' ? { ok: true, datadir } : { ok: false, error: `@@datadir came back as ${JSON.stringify(datadir)}` };
  } catch (error) {
    return { ok: false, error: sqlError(error) };
  } finally {
    connection?.destroy();
  }
}

/** The server variables `fence-agent doctor` judges durability by (src/doctor/checks.ts checkDurability). */
export const DURABILITY_VARIABLES = ['innodb_flush_log_at_trx_commit', 'sync_binlog', 'log_bin', 'innodb_doublewrite'] as const;

/**
 * SHOW GLOBAL VARIABLES for {@link DURABILITY_VARIABLES} over `mysqld.socket`, with the health
 * ping's credentials and bounds. Never throws.
 */
export async function queryDurability(mysqld: MysqldConfig, timeoutMs: number): Promise<{ ok: true; vars: Record<string, string> } | { ok: false; error: string }> {
  const started = performance.now();
  let connection: Connection | undefined;
  try {
    connection = await connect(mysqld, timeoutMs);
    const list = DURABILITY_VARIABLES.map((name) => `'${name}'`).join(', ');
    const [rows] = await connection.query({ sql: `SHOW GLOBAL VARIABLES WHERE Variable_name IN (${list})`, timeout: Math.max(1, timeoutMs - (performance.now() - started)) });
    const vars: Record<string, string> = {};
    for (const row of rows as Array<{ Variable_name?: unknown; Value?: unknown }>) if (typeof row.Variable_name === 'string') vars[row.Variable_name] = String(row.Value);
    await close(connection);
    connection = undefined;
    return { ok: true, vars };
  } catch (error) {
    return { ok: false, error: sqlError(error) };
  } finally {
    connection?.destroy();
  }
}
