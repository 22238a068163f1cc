// What evaluate() (src/health.ts) is given in unit tests: one node's config, the observations of a
// clean idle node and of a working MASTER, and an agent state. Shared by the health and the
// metrics health-part tests, so that both judge the same nodes.
import { resolveConfig } from '../../src/config/schema.ts';
import type { Observation } from '../../src/probes/observe.ts';
import type { AgentState } from '../../src/state.ts';

export const config = resolveConfig(
  {
    node: 'db1',
    vip: { address: '10.0.0.100', interface: 'eth0' },
    disk: { device: '/dev/sdb1', mountpoint: '/data' },
    mysqld: { systemdUnit: 'mariadb.service' },
    fence: { method: 'lockfile', path: '/nfs/fence-agent/lease', watchdog: { device: '/dev/watchdog0', timeoutMs: 5000 } },
  },
  '/etc/fence-agent/config.json',
);

export const NOW = Date.parse('2024-11-22T10:00:00.000Z');
/** now on the monotonic clock (ms since boot, say) */
export const NOW_MONO = 5_000_000;
export const BOOT = 'boot-1';

/** What a clean idle node sees. */
export const backupObservation = (): Observation => ({
  vip: { held: false, interfacePresent: true, elsewhere: [] },
  mount: { mounted: false, readOnly: false, majorMinor: '8:17', deviceError: null, otherAtMountpoint: null, mountpoints: [], deviceState: null },
  mysqld: { pidFilePid: null, pidFileAlive: false, pids: [], sql: null },
  fence: { held: false, holder: null, registrants: [], detail: 'lease /nfs/fence-agent/lease free' },
  errors: {},
});

/** What a working MASTER sees. */
export const masterObservation = (): Observation => ({
  vip: { held: true, interfacePresent: true, elsewhere: [] },
  mount: { mounted: true, readOnly: false, majorMinor: '8:17', deviceError: null, otherAtMountpoint: null, mountpoints: ['/data'], deviceState: null },
  mysqld: { pidFilePid: 4242, pidFileAlive: true, pids: [4242], sql: { ok: true, latencyMs: 3, error: null, source: 'own', ageMs: 0 } },
  fence: { held: true, holder: 'db1', registrants: [], detail: 'lease /nfs/fence-agent/lease held by db1 (pid 100), refreshed 0.4 s ago' },
  errors: {},
});

export const state = (patch: Partial<AgentState> = {}): AgentState => ({
  version: 1,
  node: 'db1',
  bootId: BOOT,
  watchdog: null,
  keepalivedState: null,
  daemon: { pid: 100, startedAt: '2024-11-22T09:00:00.000Z' },
  desired: null,
  role: 'BACKUP',
  transition: null,
  lastTransition: null,
  selfFence: null,
  updatedAt: '2024-11-22T09:59:59.000Z',
  ...patch,
});
