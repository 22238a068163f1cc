// One read-only look at the node: VIP, mount, mysqld (and SQL), fence. Used by `check`, `status`
// and the daemon's reconciliation. Each probe that can block on I/O runs under its own deadline, so
// one hung probe (a lease on dead NFS) is reported as such and does not hide the others. The mount
// and mysqld probes' fs calls (a pid file, /proc/<pid>/cmdline of a mysqld stuck in I/O) stay
// counted as pending until they really end (src/pending-io.ts), so that a command that gave up on
// them exits by SIGKILL instead of hanging in exit.
import type { Config } from '../config/types.ts';
import { monoNow } from '../clock.ts';
import { withDeadline } from '../deadline.ts';
import { trackPending } from '../pending-io.ts';
import { errorLine } from '../errors.ts';
import type { Fence, FenceStatus } from '../../fence/types.ts';
import { probeMount, type MountState } from './mountinfo.ts';
import { findMysqld, mysqldSelector, type MysqldProcesses } from './mysqld.ts';
import { freshSqlHealth } from '../sql-health.ts';
import { pingSql, type SqlPing } from './sql.ts';
import { probeVip, type VipState } from './vip.ts';

export interface Observation {
  vip: VipState;
  /** null when the probe failed (see `errors.mount`) */
  mount: MountState | null;
  mysqld: (MysqldProcesses & { sql: SqlPing | null }) | null;
  fence: FenceStatus | null;
  /** probe name → one-line error, for probes that failed or ran out of time */
  errors: Partial<Record<'mount' | 'mysqld' | 'fence', string>>;
}

export interface ObserveOptions {
  /** deadline of each blocking probe, ms */
  probeTimeoutMs: number;
  /**
   * When a mysqld of ours runs: `own` pings it; `daemon-or-own` takes the daemon's fresh result
   * for that pid if there is one (`check`); `never` skips SQL (the daemon's reconciliation).
   */
  sql: 'own' | 'daemon-or-own' | 'never';
  /**
   * The fence's status without I/O (the daemon's own knowledge of what it holds), used instead of
   * reading the fence back from storage (`fence.verify`); omit to read it back.
   */
  fenceStatus?: () => FenceStatus;
}

const settle = async <T>(what: string, ms: number, work: () => Promise<T>): Promise<{ value: T } | { error: string }> => {
  try {
    return { value: await withDeadline(what, ms, work) };
  } catch (error) {
    return { error: errorLine(error) };
  }
};

/** Probes everything once. Never throws; failures land in `errors`. */
export async function observe(config: Config, fence: Fence, options: ObserveOptions): Promise<Observation> {
  const vip = probeVip(config.vip);
  const ms = options.probeTimeoutMs;
  const [mount, processes, fenceStatus] = await Promise.all([
    settle('mount probe', ms, () => trackPending(probeMount(config.disk.device, config.disk.mountpoint))),
    settle('mysqld probe', ms, () => trackPending(findMysqld(mysqldSelector(config)))),
    settle('fence verification', ms, () => (options.fenceStatus ? Promise.resolve(options.fenceStatus()) : fence.verify(ms))),
  ]);
  let mysqld: Observation['mysqld'] = null;
  if ('value' in processes) {
    const pid = processes.value.pids[0];
    let sql: SqlPing | null = null;
    if (pid !== undefined && options.sql !== 'never') {
      const recorded = options.sql === 'daemon-or-own' ? freshSqlHealth(config.runDir, pid, 2 * config.monitor.sqlIntervalMs + 1000) : null;
      sql =
        recorded !== null
          ? { ok: recorded.ok, latencyMs: recorded.latencyMs, error: recorded.error, source: 'daemon', ageMs: Math.max(0, monoNow() - recorded.atMono) }
          : await pingSql(config.mysqld, Math.min(ms, config.deadlines.sqlPingMs));
    }
    mysqld = { ...processes.value, sql };
  }
  const errors: Observation['errors'] = {};
  if ('error' in mount) errors.mount = mount.error;
  if ('error' in processes) errors.mysqld = processes.error;
  if ('error' in fenceStatus) errors.fence = fenceStatus.error;
  return {
    vip,
    mount: 'value' in mount ? mount.value : null,
    mysqld,
    fence: 'value' in fenceStatus ? fenceStatus.value : null,
    errors,
  };
}
