// The resolved configuration every command works from. The file format (JSON, with defaults)
// is documented in README "Configuration"; `config/schema.ts` validates it.

/** How the agent starts and stops mysqld, and how it asks mysqld whether it answers SQL. */
export interface MysqldConfig {
  /** systemd unit to `systemctl start|stop` (e.g. `mariadb.service`); null = spawn `start` ourselves */
  systemdUnit: string | null;
  /** argv spawned detached (new session) to start mysqld; null when `systemdUnit` is used */
  start: string[] | null;
  /** optional argv run first on stop (e.g. `mariadb-admin shutdown`); signals follow if it fails */
  stop: string[] | null;
  /** OS user mysqld runs as; owns the directories of `pidFile` and `socket` (default `mysql`) */
  user: string;
  /** absolute path of mysqld's pid file; must not lie on the shared disk */
  pidFile: string;
  /** absolute path of mysqld's Unix socket; must not lie on the shared disk */
  socket: string;
  /** process names (`/proc/PID/comm`) that count as mysqld (default `mariadbd`, `mysqld`) */
  processNames: string[];
  /** file receiving stdout/stderr of `start`; null = discarded (mysqld has its own error log) */
  outputFile: string | null;
  /** credentials of the SQL health ping (over `socket`); password null = unix_socket auth */
  health: { user: string; password: string | null; query: string };
  /**
   * Local restart policy: a MASTER whose mysqld dies restarts it in place at most this many
   * times within `restartWindowMs`; beyond that (or with 0, the default) `check` fails and
   * keepalived fails over.
   */
  restartAttempts: number;
  restartWindowMs: number;
}

export interface LockfileFenceConfig {
  method: 'lockfile';
  /** lease file on storage both nodes see (an NFS path), never on the shared filesystem itself */
  path: string;
  /** a lease not refreshed for this long is stale and may be taken over (proper-lockfile `stale`) */
  staleMs: number;
  /** how often the holder refreshes the lease (proper-lockfile `update`) */
  updateMs: number;
}

export interface NoneFenceConfig {
  method: 'none';
}

export type FenceConfig = LockfileFenceConfig | NoneFenceConfig;

/** Every bounded wait, in milliseconds. */
export interface Deadlines {
  /** overall deadline of `check`; keep it below keepalived's vrrp_script `timeout` */
  checkMs: number;
  /** how long `notify` may take to hand its request over */
  notifyMs: number;
  /** SQL ping (connect + query) */
  sqlPingMs: number;
  fenceAcquireMs: number;
  fenceReleaseMs: number;
  mountMs: number;
  mysqldStartMs: number;
  /** from mysqld started to answering SQL */
  sqlReadyMs: number;
  /** whole mysqld stop: stop command/service stop, SIGTERM, grace, SIGKILL, verification */
  mysqldStopMs: number;
  /** after SIGTERM, how long mysqld gets before SIGKILL */
  mysqldTermGraceMs: number;
  /** whole unmount with escalation */
  unmountMs: number;
  /** pause between signalling the users of the mountpoint and retrying umount */
  unmountSignalDelayMs: number;
}

export interface Config {
  /** absolute path the configuration was read from */
  configPath: string;
  /** this node's name, unique in the pair */
  node: string;
  /** cluster name; part of fence identities */
  cluster: string;
  vip: { address: string; prefix: number; interface: string };
  disk: { device: string; mountpoint: string; fstype: string; options: string };
  mysqld: MysqldConfig;
  fence: FenceConfig;
  deadlines: Deadlines;
  /** while MASTER the daemon verifies the fence, and pings mysqld over SQL, this often */
  monitor: { fenceIntervalMs: number; sqlIntervalMs: number };
  /** root-only directory: control socket, daemon lock */
  runDir: string;
  /** directory of the state file read by `check` and `status` */
  stateDir: string;
  /** `stderr`, `stdout` or an absolute file path; pino JSON lines */
  log: { destination: string; level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' };
  /** keepalived integration: VRRP instance to follow, and its notify_fifo (read by the daemon) */
  keepalived: { instance: string | null; notifyFifo: string | null };
}
