// Is systemd restarting us? `systemctl restart fence-agent` (an operator, a package upgrade's
// try-restart) sends the same SIGTERM as `systemctl stop`. A stop must give the disk up (the lease
// must not outlive the process that refreshes it); a restart must not: the database keeps running
// and the next daemon takes VIP, mount, mysqld, the fence and the armed watchdog back (the crash
// restart path). The difference is only visible in systemd's job queue: during a restart the
// unit's job has type `restart` (systemctl list-jobs; org.freedesktop.systemd1.Job "JobType"),
// during a stop it is `stop`.
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { errorLine } from '../errors.ts';

/** What the daemon found out about its own unit at SIGTERM. */
export interface RestartJob {
  /** the systemd unit this process runs in (from /proc/self/cgroup), or null when not under systemd */
  unit: string | null;
  /** true only when a `restart` job is queued or running for that unit */
  restarting: boolean;
  /** one line for the log: what was seen, or why it could not be told (then `restarting` is false) */
  why: string;
}

/**
 * The `.service` unit a cgroup v2 membership line names (`0::/system.slice/fence-agent.service`),
 * or null. Units in a cgroup v1 hierarchy (`1:name=systemd:/system.slice/x.service`) are read too.
 */
export function unitOfCgroup(procSelfCgroup: string): string | null {
  for (const line of procSelfCgroup.split('\n')) {
    const path = line.split(':').slice(2).join(':');
    const unit = path.split('/').reverse().find((part) => part.endsWith('.service'));
    if (unit !== undefined && (line.startsWith('0::') || line.includes(':name=systemd:'))) return unit;
  }
  return null;
}

/**
 * The job types `systemctl list-jobs --no-legend UNIT` lists for `unit` (columns: JOB UNIT TYPE
 * STATE; systemctl(1) "list-jobs").
 */
export function jobTypesOf(listJobs: string, unit: string): string[] {
  const types: string[] = [];
  for (const line of listJobs.split('\n')) {
    const [id, name, type] = line.trim().split(/\s+/);
    if (id !== undefined && /^\d+$/.test(id) && name === unit && type !== undefined) types.push(type);
  }
  return types;
}

export interface RestartJobOptions {
  /** the cgroup membership text (default: /proc/self/cgroup) */
  cgroup?: string;
  /** systemctl to run (default `systemctl` from PATH) */
  systemctl?: string;
  /** bound on the systemctl call, ms (default 2000); past it the answer is "not restarting" */
  timeoutMs?: number;
}

/**
 * Whether systemd is restarting the unit this process runs in. Never throws: anything it cannot
 * tell (no systemd, systemctl missing, hung or failing) answers `restarting: false`, so the
 * caller falls back to the safe stop (demote).
 */
export async function systemdRestartJob(options: RestartJobOptions = {}): Promise<RestartJob> {
  let cgroup: string;
  try {
    cgroup = options.cgroup ?? readFileSync('/proc/self/cgroup', 'utf8');
  } catch (error) {
    return { unit: null, restarting: false, why: `cannot read /proc/self/cgroup (${errorLine(error)})` };
  }
  const unit = unitOfCgroup(cgroup);
  if (unit === null) return { unit: null, restarting: false, why: 'not running in a systemd service unit' };
  try {
    const ran = await execa(options.systemctl ?? 'systemctl', ['list-jobs', '--no-legend', '--no-pager', unit], { timeout: options.timeoutMs ?? 2000, reject: false });
    if (ran.timedOut) return { unit, restarting: false, why: `systemctl list-jobs ${unit} did not answer within ${options.timeoutMs ?? 2000} ms` };
    if (ran.exitCode !== 0) return { unit, restarting: false, why: `systemctl list-jobs ${unit}: exit ${ran.exitCode ?? ran.signal}: ${ran.stderr.trim().split('\n')[0] ?? ''}` };
    const types = jobTypesOf(ran.stdout, unit);
    return { unit, restarting: types.includes('restart'), why: types.length === 0 ? `no job queued for ${unit}` : `${unit} job: ${types.join(', ')}` };
  } catch (error) {
    return { unit, restarting: false, why: `systemctl list-jobs ${unit} failed (${errorLine(error)})` };
  }
}
