// Start mysqld (promotion step `mysqld.start`), then wait until it answers SQL from the shared
// disk (`mysqld.sql-ready`). Like ocf:heartbeat:mysql: prepare the pid/socket directories for the
// mysqld user, start, poll until the pid file's process lives (unit mode: until the unit's cgroup
// holds a mysqld).
import { chown, mkdir, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/types.ts';
import { pollUntil } from '../deadline.ts';
import { FenceAgentError } from '../errors.ts';
import { findMysqld, mysqldSelector } from '../probes/mysqld.ts';
import { unitPids } from '../probes/unit-cgroup.ts';
import { pingSql, queryDatadir, type DatadirAnswer, type SqlPing } from '../probes/sql.ts';
import { isPathUnder } from '../proc.ts';
import { runOk } from '../run.ts';
import { spawnDetached } from '../spawn-detached.ts';
import { resetFailed } from './unit.ts';

async function userIds(user: string, signal: AbortSignal): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([runOk(['id', '-u', user], signal), runOk(['id', '-g', user], signal)]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * Starts mysqld unless one of ours already runs (`skipped`). Without systemd, `mysqld.start` is
 * spawned detached in its own session, so it outlives the daemon (a daemon restart is not a
 * failover) and keepalived never kills it. With `mysqld.systemdUnit`: `systemctl reset-failed`
 * (exit code ignored: it lets a unit that hit its start limit start again), then `systemctl start`
 * (Type=notify: it returns once mysqld is ready; bounded by `signal`), then a wait until the
 * unit's cgroup holds a mysqld.
 * @param cgroupRoot where the unit's cgroup is looked up (default /sys/fs/cgroup; tests only)
 * @throws FenceAgentError code `EMYSQLD` when mysqld exits during start-up, or the abort reason.
 */
export async function startMysqld(config: Config, signal: AbortSignal, cgroupRoot?: string): Promise<'ok' | 'skipped'> {
  const { mysqld } = config;
  const selector = mysqldSelector(config, cgroupRoot);
  if ((await findMysqld(selector)).pids.length > 0) return 'skipped';
  const ids = await userIds(mysqld.user, signal);
  for (const dir of new Set([path.dirname(mysqld.pidFile), path.dirname(mysqld.socket)])) {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await chown(dir, ids.uid, ids.gid);
  }
  // Nothing of ours runs, so a pid file or socket left here is stale (a crash, a SIGKILL).
  await rm(mysqld.pidFile, { force: true });
  await rm(mysqld.socket, { force: true });

  if (mysqld.systemdUnit !== null) {
    await resetFailed(mysqld.systemdUnit, signal);
    await runOk(['systemctl', 'start', mysqld.systemdUnit], signal);
  } else {
    const argv = mysqld.start as string[];
    // Wait for the pid file's process; fail at once if the start command dies first. An exit 0 is
    // a launcher that daemonised (an init script): keep waiting for the pid file.
    let failed: FenceAgentError | null = null;
    spawnDetached(argv, mysqld.outputFile ?? '/dev/null').then((result) => {
      if (result.exitCode === 0) return;
      const how = result.exitCode === null ? `signal ${result.signal ?? '?'}` : `exit ${result.exitCode}`;
      failed = new FenceAgentError('EMYSQLD', `${argv[0]} ended during start-up (${how})${mysqld.outputFile ? `; see ${mysqld.outputFile}` : ''}`);
    }, (error: Error) => {
      failed = new FenceAgentError('EMYSQLD', `${argv[0]} could not be started: ${error.message}`);
    });
    await pollUntil(async () => {
      if (failed !== null) throw failed;
      return (await findMysqld(selector)).pidFileAlive ? true : undefined;
    }, 100, signal);
    return 'ok';
  }
  // the unit's own mysqld, in its cgroup (not a stray of ours elsewhere)
  const unit = mysqld.systemdUnit;
  await pollUntil(async () => {
    const { pids } = await findMysqld(selector);
    return unitPids(unit, cgroupRoot).some((pid) => pids.includes(pid)) ? true : undefined;
  }, 100, signal);
  return 'ok';
}

/** The SQL side of {@link waitSqlReady}; tests replace it. */
export interface SqlBoundary {
  ping: (mysqld: Config['mysqld'], timeoutMs: number) => Promise<Pick<SqlPing, 'ok' | 'error'>>;
  datadir: (mysqld: Config['mysqld'], timeoutMs: number) => Promise<DatadirAnswer>;
}

const realSql: SqlBoundary = { ping: pingSql, datadir: queryDatadir };

/** `@@datadir` without its trailing slash, normalised (`/data/mysql/` → `/data/mysql`). */
export const normaliseDatadir = (datadir: string): string => {
  const normal = path.posix.normalize(datadir);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
};

/**
 * True when `datadir` lies at or under `mountpoint`: as mysqld names it, or else through its
 * real path (a datadir configured through a symlink onto the mounted disk). The real path is
 * only resolved here, right after the promotion mounted the disk — never in `check`.
 */
async function onSharedDisk(datadir: string, mountpoint: string): Promise<boolean> {
  const named = normaliseDatadir(datadir);
  if (!path.posix.isAbsolute(named)) return false;
  if (isPathUnder(named, mountpoint)) return true;
  const real = await realpath(named).catch(() => null);
  return real !== null && isPathUnder(real, mountpoint);
}

/**
 * Polls the SQL health query every 200 ms until it succeeds, then asks mysqld where it serves
 * from (`SELECT @@datadir`, same socket, credentials and bound `deadlines.sqlPingMs`): a mysqld
 * started on another datadir (a fresh one on the root filesystem) must never be declared ready.
 * An unanswered datadir query is asked again at the same pace until `signal` aborts.
 * @throws FenceAgentError code `EMYSQLD` when the datadir is not at or under `disk.mountpoint`;
 *   the abort reason at the deadline
 */
export async function waitSqlReady(config: Config, signal: AbortSignal, sql: SqlBoundary = realSql): Promise<'ok'> {
  const { mysqld, disk, deadlines } = config;
  await pollUntil(async () => {
    if (!(await sql.ping(mysqld, deadlines.sqlPingMs)).ok) return undefined;
    const answer = await sql.datadir(mysqld, deadlines.sqlPingMs);
    if (!answer.ok) return undefined;
    if (!(await onSharedDisk(answer.datadir, disk.mountpoint))) {
      throw new FenceAgentError('EMYSQLD', `mysqld serves datadir ${answer.datadir}, which is not on the shared disk mounted at ${disk.mountpoint}`);
    }
    return true;
  }, 200, signal);
  return 'ok';
}
