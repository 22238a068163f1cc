// The processes of a systemd service, read from its cgroup: `<root>/system.slice/<unit>/cgroup.procs`.
//
// Why the cgroup and not `systemctl show -p MainPID`: `check` looks for mysqld every second, and a
// spawn per look costs more than the whole check may; the cgroup is one small kernel file, and it
// holds every process of the unit (MainPID and any child), whatever mount namespace the unit runs
// mysqld in (Debian's mariadb.service has `ProtectSystem=full`, so mysqld does not share ours).
//
// The unit must live in `system.slice`, the default for system services (no `Slice=` override).
// cgroup v2 (Debian 12's default) is read at `<root>/system.slice/...`; on a hybrid or v1 layout the
// same directory under `unified/` or the `systemd/` (name=systemd) hierarchy is read instead.
import { readFileSync } from 'node:fs';

/** Where the cgroup filesystem is mounted on a systemd machine. */
export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';

/** The `cgroup.procs` files that may list `unit`'s processes, the cgroup v2 layout first. */
export const unitCgroupProcsFiles = (unit: string, cgroupRoot = DEFAULT_CGROUP_ROOT): string[] =>
  ['', '/unified', '/systemd'].map((hierarchy) => `${cgroupRoot}${hierarchy}/system.slice/${unit}/cgroup.procs`);

/**
 * The pids in `unit`'s cgroup (`unit` a full name, e.g. `mariadb.service`), from the first of
 * {@link unitCgroupProcsFiles} that exists; none when no such cgroup exists (systemd removes a
 * unit's cgroup when its last process is gone, so a missing directory = the unit has no processes).
 * One synchronous read of a kernel file; no spawn.
 */
export function unitPids(unit: string, cgroupRoot = DEFAULT_CGROUP_ROOT): number[] {
  for (const file of unitCgroupProcsFiles(unit, cgroupRoot)) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    return text
      .split('\n')
      .map(Number)
      .filter((pid) => Number.isInteger(pid) && pid > 0);
  }
  return [];
}
