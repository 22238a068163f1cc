// The resolved configuration every command works from. The file format (JSON, with defaults)
// is documented in README "Configuration"; `config/schema.ts` validates it.

/** The shared disk and where it is mounted. */
export interface DiskConfig {
  /** the shared block device (matched in mountinfo by major:minor) */
  device: string;
  /** where it is mounted; never `/` */
  mountpoint: string;
  /** passed to mount(8) as `-t` and `-o` */
  fstype: string;
  options: string;
  /**
   * Keep the mountpoint directory immutable (`chattr +i`) while the disk is not mounted on it
   * (default true), as operators of shared-disk pairs do by hand: a mysqld started while the disk
   * is not mounted — by systemd's `Restart=`, a pending job, an operator — would otherwise create a
   * fresh, empty datadir on the root filesystem and serve it. Nothing can be created in an immutable
   * directory, and mounting on it still works. Set at daemon start-up and after every verified
   * unmount, only while nothing is mounted there; on a filesystem without the flag (FUSE, NFS,
   * older tmpfs: "Operation not supported") each attempt is one warn line, never an error.
   */
  immutableMountpoint: boolean;
}

/** How the agent starts and stops mysqld, and how it asks mysqld whether it answers SQL. */
export interface MysqldConfig {
  /**
   * systemd service to `systemctl start|stop`, always ending in `.service` (`mariadb` is read as
   * `mariadb.service`); null = spawn `start` ourselves. Its processes are found in its cgroup, so it
   * must live in `system.slice` (the default for system services).
   */
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

/**
 * The kernel watchdog the daemon pets while it may write (DESIGN §5, as sbd and Patroni use it).
 * Its timeout is set by the driver (softdog `soft_margin`, i6300esb `heartbeat`, ...), read back
 * from `/sys/class/watchdog/<name>/timeout` by the daemon and compared with `timeoutMs`.
 */
export interface WatchdogConfig {
  /** the device the daemon opens and pets, e.g. `/dev/watchdog0`; a FIFO = the labs' simulated watchdog */
  device: string;
  /** W: the device's timeout as its driver is configured (ms, whole seconds on real devices) */
  timeoutMs: number;
  /** the driver's `nowayout` as configured: with it, the magic close does not stop the timer */
  nowayout: boolean;
  /** how long a crashed daemon takes to pet again: systemd `RestartSec=` + cold start (ms); W must exceed it */
  daemonRestartMs: number;
}

/**
 * Lease timers (README "Lease timers"): S = `staleMs`, R = `updateMs`, T_io = `ioTimeoutMs`,
 * M = `marginMs`, W = `watchdog.timeoutMs` (0 without a watchdog). The holder may write while
 * now − t_g ≤ S − M − W (t_g = monotonic start of its last good refresh); the peer takes over after
 * seeing the record unchanged for `takeoverAfterMs` (≥ S + M) on its own monotonic clock.
 */
export interface LockfileFenceConfig {
  method: 'lockfile';
  /** lease record file on storage both nodes see (an NFS path), never on the shared filesystem itself */
  path: string;
  /** S: the lease's stale time, ms */
  staleMs: number;
  /** R: how often the holder refreshes the record, ms */
  updateMs: number;
  /** T_io: the bound on one lease I/O (a read, or a refresh's read-compare-write), ms */
  ioTimeoutMs: number;
  /** M: safety margin, ms; at least max(1000, 5 % of S) */
  marginMs: number;
  /** how long the peer must see the record unchanged before taking it over, ms (≥ S + M) */
  takeoverAfterMs: number;
  /** the watchdog, or null (then `allowNoWatchdog` must be set: a frozen holder is not stopped) */
  watchdog: WatchdogConfig | null;
  /** accept lockfile fencing without a watchdog (status and the log warn while it is set) */
  allowNoWatchdog: boolean;
  /**
   * accept a lease directory on a local filesystem (the netns lab, whose nodes share one kernel);
   * never on a real pair: status and the log flag it loudly
   */
  allowLocalLease: boolean;
}

/**
 * SCSI-3 persistent reservations on the shared LU (fence/scsi-pr.ts): WERO (type 5), the node's
 * key registered only while it is MASTER. No watchdog key: the storage itself refuses a fenced
 * node's writes, whatever its clocks say.
 */
export interface ScsiPrFenceConfig {
  method: 'scsi-pr';
  /** the shared disk's partition or LU, or a /dev/disk/by-id link to one (default `disk.device`); resolved to its LU through sysfs */
  device: string;
  /** this node's id in its reservation key (fence/scsi-pr/key.ts; default the node's name): stable, distinct on the two nodes */
  nodeId: string;
  /** after a plain PREEMPT (the target refused PREEMPT AND ABORT: tgtd), wait this long before mounting, ms */
  drainMs: number;
  /** while MASTER, how often the daemon reads the keys back, ms (100 … 1000) */
  watchIntervalMs: number;
  /** the bound on one sg_persist / sg_turs command, ms; a command past it is "unknown", never "free" */
  commandTimeoutMs: number;
  /**
   * register with APTPL (the target keeps the registration through its power loss): true, false,
   * or `auto` — when REPORT CAPABILITIES says the target can (PTPL_C, SPC-4 §6.16.4), read once per
   * daemon (LIO: yes; tgtd: no)
   */
  aptpl: boolean | 'auto';
  /**
   * issue 9 §2, the partition tie-break, ms (0: off). A promotion refused because the holder is
   * alive (`EHOLDERALIVE`) keeps the node unhealthy — keepalived FAULT — and promoting nothing for
   * this long; a MASTER holding the fence with no other key registered defers a keepalived BACKUP
   * request this long. Default 60 000.
   */
  holdDownMs: number;
}

export interface NoneFenceConfig {
  method: 'none';
}

export type FenceConfig = LockfileFenceConfig | ScsiPrFenceConfig | NoneFenceConfig;

/** Every bounded wait, in milliseconds. */
export interface Deadlines {
  /** overall deadline of `check`; below `keepalived.checkTimeoutMs` (relation (e)) */
  checkMs: number;
  /** how long `notify` may take to hand its request over */
  notifyMs: number;
  /** SQL ping (connect + query) */
  sqlPingMs: number;
  /**
   * acquiring the fence; for a lease at least takeoverAfterMs + 2·ioTimeoutMs, for scsi-pr at
   * least the MMP wait + drainMs + 2·commandTimeoutMs (relation (c))
   */
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
  /**
   * the whole promotion; at least fenceAcquireMs + mountMs + mysqldStartMs (relation (c));
   * default: the sum of the four promotion step deadlines
   */
  promoteMs: number;
}

export interface Config {
  /** absolute path the configuration was read from */
  configPath: string;
  /** this node's name, unique in the pair */
  node: string;
  /** cluster name; part of fence identities */
  cluster: string;
  vip: { address: string; prefix: number; interface: string };
  disk: DiskConfig;
  mysqld: MysqldConfig;
  fence: FenceConfig;
  deadlines: Deadlines;
  /**
   * While MASTER the daemon verifies the fence, and pings mysqld over SQL, this often (ms); on
   * every role it evaluates the node's health and updates keepalived's tracked file
   * (`<runDir>/health`, src/daemon/health-file.ts) every `healthIntervalMs` (ms, default 1000).
   * A FENCED-IN node (the unmount not verified, the fence kept) demotes again `fencedInRetryMs`
   * (ms, default 30000) after its last transition ended, once keepalived has left MASTER.
   */
  monitor: { fenceIntervalMs: number; sqlIntervalMs: number; healthIntervalMs: number; fencedInRetryMs: number };
  /** root-only directory: control socket, daemon lock */
  runDir: string;
  /** directory of the state file read by `check` and `status` */
  stateDir: string;
  /** `stderr`, `stdout` or an absolute file path; pino JSON lines */
  log: { destination: string; level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' };
  /** keepalived integration: VRRP instance to follow, its notify_fifo (read by the daemon), and the vrrp_script timing the generated keepalived.conf uses */
  keepalived: KeepalivedConfig;
  /** Prometheus metrics of the daemon (src/metrics/): both outputs off by default */
  metrics: MetricsConfig;
  /** the event hook (src/events/hook.ts): off by default */
  events: EventsConfig;
  /** the persistent event history, `<stateDir>/history.jsonl` (src/events/history.ts) */
  history: HistoryConfig;
}

/**
 * The event hook (README "Events and history"): an executable the daemon runs once per event —
 * fenced, self-fenced, fenced-in, promotion, demotion, failover, local-restart, maintenance — with
 * the event as one line of JSON on its stdin (src/events/types.ts). One at a time, in order, each
 * bounded; never waited for by a transition.
 */
export interface EventsConfig {
  /**
   * absolute path of the executable, run without arguments and without a shell; owned by root and
   * not writable by group or other, nor any directory above it (src/config/trust.ts); null = no
   * hook (default)
   */
  exec: string | null;
  /** the bound on one run, ms: past it the hook gets SIGTERM, then SIGKILL 1 s later (default 5000) */
  timeoutMs: number;
}

/** The persistent event history (`fence-agent history`). */
export interface HistoryConfig {
  /** events kept in `<stateDir>/history.jsonl`; older ones are dropped (default 1000) */
  maxEntries: number;
}

/**
 * The daemon's Prometheus metrics (README "Metrics"). Both outputs are off by default; with both
 * off the daemon does not even load prom-client.
 */
export interface MetricsConfig {
  /**
   * node_exporter textfile (`--collector.textfile.directory`): an absolute path ending in `.prom`,
   * replaced atomically (a temp file in the same directory, renamed over it) on every change and
   * every `intervalMs` otherwise; null = not written (default)
   */
  textfile: string | null;
  /** address of an HTTP listener serving `/metrics` (`"127.0.0.1:9720"`, `"[::1]:9720"`); null = no port opened (default) */
  listen: { host: string; port: number } | null;
  /** how often the textfile is rewritten when nothing changed, ms (default 5000) */
  intervalMs: number;
}

/** keepalived integration (keepalived.conf(5): `vrrp_script`, `notify_fifo`). */
export interface KeepalivedConfig {
  /** follow only this VRRP instance; null = every instance */
  instance: string | null;
  /** keepalived's notify_fifo, read by the daemon; null = not read */
  notifyFifo: string | null;
  /** vrrp_script `interval`, ms (relation (e): checkTimeoutMs ≤ this) */
  checkIntervalMs: number;
  /** vrrp_script `timeout`, ms (relation (e): deadlines.checkMs < this) */
  checkTimeoutMs: number;
  /** vrrp_script `fall` and `rise` */
  checkFall: number;
  checkRise: number;
  /**
   * keepalived's VRRP process pid file (keepalived(8) `-r`/`--vrrp_pid`, default /run/vrrp.pid),
   * watched by the daemon while MASTER; null = not watched
   */
  vrrpPidFile: string | null;
  /**
   * ms a MASTER tolerates that VRRP process gone (SIGKILLed keepalived leaves its VIP behind and
   * notifies nobody) before the daemon demotes on its own, VIP included (default 3000)
   */
  goneMs: number;
  /**
   * What a node whose previous boot ended while it held the disk (the watchdog armed: reset by it,
   * crashed or powered off) does at start-up, as sbd's SBD_STARTMODE: `always` (default) is a
   * candidate at once; `clean` holds itself out of the election — unhealthy for keepalived, no
   * promotion, and says so — until `fence-agent rejoin` or `startHoldMs` (ms; 0 = until rejoin).
   */
  startMode: 'always' | 'clean';
  startHoldMs: number;
}
