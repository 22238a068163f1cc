// Start mysqld (promotion step `mysqld.start`), then wait until it answers SQL
// (`mysqld.sql-ready`). Like ocf:heartbeat:mysql: prepare the pid/socket directories for the
// mysqld user, start, poll until the pid file's process lives.
import { chown, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/types.ts';
import { pollUntil } from '../deadline.ts';
import { FenceAgentError } from '../errors.ts';
import { findMysqld, mysqldSelector } from '../probes/mysqld.ts';
import { pingSql } from '../probes/sql.ts';
import { runOk } from '../run.ts';
import { spawnDetached } from '../spawn-detached.ts';

async function userIds(user: string, signal: AbortSignal): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([runOk(['id', '-u', user], signal), runOk(['id', '-g', user], signal)]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * Starts mysqld unless one of ours already runs (`skipped`). Without systemd, `mysqld.start` is
 * spawned detached in its own session, so it outlives the daemon (a daemon restart is not a
 * failover) and keepalived never kills it.
 * @throws FenceAgentError code `EMYSQLD` when mysqld exits during start-up, or the abort reason.
 */
export async function startMysqld(config: Config, signal: AbortSignal): Promise<'ok' | 'skipped'> {
  const { mysqld } = config;
  if ((await findMysqld(mysqldSelector(config))).pids.length > 0) return 'skipped';
  const ids = await userIds(mysqld.user, signal);
  for (const dir of new Set([path.dirname(mysqld.pidFile), path.dirname(mysqld.socket)])) {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await chown(dir, ids.uid, ids.gid);
  }
  // Nothing of ours runs, so a pid file or socket left here is stale (a crash, a SIGKILL).
  await rm(mysqld.pidFile, { force: true });
  await rm(mysqld.socket, { force: true });

  if (mysqld.systemdUnit !== null) {
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
      return (await findMysqld(mysqldSelector(config))).pidFileAlive ? true : undefined;
    }, 100, signal);
    return 'ok';
  }
  await pollUntil(async () => ((await findMysqld(mysqldSelector(config))).pids.length > 0 ? true : undefined), 100, signal);
  return 'ok';
}

/** Polls the SQL health query every 200 ms until it succeeds or `signal` aborts. */
export async function waitSqlReady(config: Config, signal: AbortSignal): Promise<'ok'> {
  await pollUntil(async () => ((await pingSql(config.mysqld, config.deadlines.sqlPingMs)).ok ? true : undefined), 200, signal);
  return 'ok';
}
