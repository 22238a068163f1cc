// Validation of the configuration file. Hand-written on purpose: it runs in `check`, every few
// seconds, and must stay cheap to load. Every error names the key and what was expected.
import path from 'node:path';
import { isIP } from 'node:net';
import { configError } from '../errors.ts';
import { assertRelations } from './relations.ts';
import type { Config, Deadlines, EventsConfig, FenceConfig, HistoryConfig, KeepalivedConfig, MetricsConfig, MysqldConfig, WatchdogConfig } from './types.ts';

/** The step deadlines a promotion is made of; `deadlines.promoteMs` defaults to their sum. */
const PROMOTION_STEPS = ['fenceAcquireMs', 'mountMs', 'mysqldStartMs', 'sqlReadyMs'] as const;

/** Every deadline but `promoteMs`, which is derived from the resolved steps. */
const STEP_DEADLINES = {
  checkMs: 1500,
  notifyMs: 700,
  sqlPingMs: 1000,
  fenceAcquireMs: 25000,
  fenceReleaseMs: 5000,
  mountMs: 30000,
  mysqldStartMs: 30000,
  sqlReadyMs: 60000,
  mysqldStopMs: 60000,
  mysqldTermGraceMs: 30000,
  unmountMs: 30000,
  unmountSignalDelayMs: 1000,
} satisfies Omit<Deadlines, 'promoteMs'>;

/**
 * Defaults for every deadline, ms (README "Configuration" lists them). `promoteMs` here is the sum
 * of the default promotion steps (145000); resolveConfig recomputes it from the resolved steps
 * (fenceAcquireMs + mountMs + mysqldStartMs + sqlReadyMs) when the file does not set it.
 */
export const DEFAULT_DEADLINES: Deadlines = {
  ...STEP_DEADLINES,
  promoteMs: PROMOTION_STEPS.reduce((sum, key) => sum + STEP_DEADLINES[key], 0),
};

/** Lease defaults, ms (README "Configuration"): S, R, T_io; M and takeoverAfterMs derive from S. */
export const DEFAULT_LEASE = { staleMs: 15000, updateMs: 2000, ioTimeoutMs: 2000 } as const;

/** scsi-pr defaults, ms (README "Configuration"). */
export const DEFAULT_SCSI_PR = { drainMs: 5000, watchIntervalMs: 1000, commandTimeoutMs: 3000, holdDownMs: 60000 } as const;

/** Default `fence.watchdog.daemonRestartMs`: systemd `RestartSec=1` plus a cold start of the daemon. */
export const DEFAULT_DAEMON_RESTART_MS = 3000;

/**
 * The smallest `fence.marginMs` accepted for a stale time S (ms): max(1000, ⌈5 % of S⌉). It covers
 * the two nodes' monotonic clocks running at slightly different rates and scheduling delay.
 */
export const minimumMarginMs = (staleMs: number): number => Math.max(1000, Math.ceil(0.05 * staleMs));

/** keepalived's VRRP child's pid file (keepalived(8) `--vrrp_pid`; 2.2 writes it under /run). */
export const DEFAULT_VRRP_PID_FILE = '/run/vrrp.pid';
/** How long a MASTER tolerates keepalived's VRRP process gone before it demotes on its own: three adverts at advert_int 1. */
export const DEFAULT_KEEPALIVED_GONE_MS = 3000;
/**
 * Defaults of the keepalived `vrrp_script` timing (keepalived.conf(5) `vrrp_script`). The check
 * is the slow second opinion beside the daemon's health file (`track_file`, every
 * monitor.healthIntervalMs): every 10 s, a Node start costs ~150 ms of CPU, which keeps the health
 * path at or below the seed's shell check at interval 1 (`npm run bench -- health-cpu`, README
 * "Health CPU per hour (measured)"); at 2 s it cost 2.6–3.5× that.
 */
export const DEFAULT_KEEPALIVED_CHECK = { checkIntervalMs: 10000, checkTimeoutMs: 2000, checkFall: 2, checkRise: 2 } as const;

type Json = Record<string, unknown>;

/** A value for an error line: JSON, cut to 60 characters with its length when longer (a 5 kB string is not echoed whole). */
const shown = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length <= 60 ? text : `${text.slice(0, 60)}… (${text.length} characters)`;
};

class Reader {
  constructor(
    private readonly source: string,
    private readonly object: Json,
    private readonly prefix: string,
  ) {}

  /** Throws the one-line error for `key`: `config FILE: KEY: expected EXPECTED, got VALUE`. */
  invalid(key: string, expected: string, value: unknown): never {
    const got = value === undefined ? 'nothing' : shown(value);
    throw configError(`config ${this.source}: ${this.prefix}${key}: expected ${expected}, got ${got}`);
  }

  /** Throws the one-line error `config FILE: KEY: PROBLEM` for a rule that is not about one value's shape. */
  fail(key: string, problem: string): never {
    throw configError(`config ${this.source}: ${this.prefix}${key}: ${problem}`);
  }

  /** Rejects keys this reader does not know (a typo in an HA config must not pass silently). */
  only(keys: readonly string[]): void {
    for (const key of Object.keys(this.object)) {
      if (!keys.includes(key)) {
        throw configError(
          `config ${this.source}: unknown key ${this.prefix}${key.length <= 60 ? key : shown(key)} (expected one of: ${keys.join(', ')})`,
        );
      }
    }
  }

  /** The key is present with the JSON value null. */
  isNull(key: string): boolean {
    return this.object[key] === null;
  }

  /** true, false or the string `auto`; `fallback` when absent. */
  booleanOrAuto(key: string, fallback: boolean | 'auto'): boolean | 'auto' {
    const value = this.object[key];
    if (value === undefined) return fallback;
    if (value === 'auto' || typeof value === 'boolean') return value;
    return this.invalid(key, 'true, false or "auto"', value);
  }

  has(key: string): boolean {
    return this.object[key] !== undefined && this.object[key] !== null;
  }

  string(key: string, fallback?: string, pattern?: RegExp, expected = 'a non-empty string'): string {
    const value = this.object[key] ?? fallback;
    if (typeof value !== 'string' || value.length === 0 || (pattern && !pattern.test(value))) {
      return this.invalid(key, expected, value);
    }
    return value;
  }

  nullableString(key: string): string | null {
    return this.has(key) ? this.string(key) : null;
  }

  absolutePath(key: string, fallback?: string): string {
    const value = this.string(key, fallback, undefined, 'an absolute path');
    if (!path.isAbsolute(value) || value !== path.normalize(value) || (value.endsWith('/') && value !== '/')) {
      return this.invalid(key, 'an absolute, normalised path without a trailing slash', value);
    }
    return value;
  }

  nullableAbsolutePath(key: string): string | null {
    return this.has(key) ? this.absolutePath(key) : null;
  }

  /** An integer min..max; `fallback` undefined makes the key required. */
  integer(key: string, fallback: number | undefined, min: number, max: number, unit = ''): number {
    const value = this.object[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      return this.invalid(key, `an integer ${min}..${max}${unit}`, value);
    }
    return value;
  }

  /** A JSON boolean (not "true", not 1). */
  boolean(key: string, fallback: boolean): boolean {
    const value = this.object[key] ?? fallback;
    if (typeof value !== 'boolean') return this.invalid(key, 'true or false', value);
    return value;
  }

  argv(key: string): string[] | null {
    if (!this.has(key)) return null;
    const value = this.object[key];
    if (!Array.isArray(value) || value.length === 0 || !value.every((x) => typeof x === 'string' && x !== '')) {
      return this.invalid(key, 'a non-empty array of strings (argv, no shell)', value);
    }
    if (!path.isAbsolute(value[0] as string)) {
      return this.invalid(key, 'an argv whose first element is an absolute path', value);
    }
    return value as string[];
  }

  stringList(key: string, fallback: string[]): string[] {
    const value = this.object[key] ?? fallback;
    if (!Array.isArray(value) || value.length === 0 || !value.every((x) => typeof x === 'string' && x !== '')) {
      return this.invalid(key, 'a non-empty array of strings', value);
    }
    return value as string[];
  }

  oneOf<T extends string>(key: string, choices: readonly T[], fallback?: T): T {
    const value = this.object[key] ?? fallback;
    if (typeof value !== 'string' || !choices.includes(value as T)) {
      return this.invalid(key, `one of ${choices.join('|')}`, value);
    }
    return value as T;
  }

  section(key: string, required: boolean): Reader {
    const value = this.object[key];
    if (value === undefined && !required) return new Reader(this.source, {}, `${this.prefix}${key}.`);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return this.invalid(key, 'an object', value);
    }
    return new Reader(this.source, value as Json, `${this.prefix}${key}.`);
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const NAME_EXPECTED = 'a name of letters, digits, ".", "_" or "-" (at most 63)';

const isUnder = (child: string, parent: string): boolean =>
  child === parent || child.startsWith(parent === '/' ? '/' : `${parent}/`);

const UNIT_TYPES = ['service', 'socket', 'target', 'device', 'mount', 'automount', 'swap', 'timer', 'path', 'slice', 'scope'];

/**
 * `mysqld.systemdUnit` as a full service unit name: `mariadb` → `mariadb.service`, as systemctl
 * reads it. Its cgroup (`system.slice/<name>`) is where the agent finds its processes.
 */
function serviceUnitName(r: Reader, value: string): string {
  const expected = 'a systemd service unit name such as mariadb.service';
  if (value.length > 255 || !/^[A-Za-z0-9:_.@\\-]+$/.test(value)) return r.invalid('systemdUnit', expected, value);
  const suffix = /\.([a-z]+)$/.exec(value)?.[1];
  const name = suffix === 'service' ? value : suffix !== undefined && UNIT_TYPES.includes(suffix) ? r.invalid('systemdUnit', expected, value) : `${value}.service`;
  if (name.endsWith('@.service')) return r.invalid('systemdUnit', `${expected} (a template needs an instance: name@instance.service)`, value);
  return name;
}

function readMysqld(r: Reader, mountpoint: string): MysqldConfig {
  r.only(['systemdUnit', 'start', 'stop', 'user', 'pidFile', 'socket', 'processNames', 'outputFile', 'health', 'restartAttempts', 'restartWindowMs']);
  const systemdUnit = r.has('systemdUnit') ? serviceUnitName(r, r.string('systemdUnit')) : null;
  const start = r.argv('start');
  if ((systemdUnit === null) === (start === null)) {
    r.invalid('start', 'exactly one of mysqld.systemdUnit and mysqld.start', systemdUnit === null ? undefined : 'both');
  }
  const health = r.section('health', false);
  health.only(['user', 'password', 'query']);
  const pidFile = r.absolutePath('pidFile', '/run/mysqld/mysqld.pid');
  const socket = r.absolutePath('socket', '/run/mysqld/mysqld.sock');
  for (const [key, value] of [
    ['pidFile', pidFile],
    ['socket', socket],
  ] as const) {
    if (isUnder(value, mountpoint)) {
      r.invalid(key, `a path outside disk.mountpoint ${mountpoint} (check must never touch the shared disk)`, value);
    }
  }
  if (Buffer.byteLength(socket) > 107) {
    r.invalid('socket', 'a path of at most 107 bytes (sun_path)', socket);
  }
  return {
    systemdUnit,
    start,
    stop: r.argv('stop'),
    user: r.string('user', 'mysql'),
    pidFile,
    socket,
    processNames: r.stringList('processNames', ['mariadbd', 'mysqld']),
    outputFile: r.nullableAbsolutePath('outputFile'),
    health: {
      user: health.string('user', 'root'),
      password: health.has('password') ? health.string('password') : null,
      query: health.string('query', 'SELECT 1'),
    },
    restartAttempts: r.integer('restartAttempts', 0, 0, 100),
    restartWindowMs: r.integer('restartWindowMs', 300_000, 1000, 86_400_000, ' ms'),
  };
}

function readWatchdog(r: Reader): WatchdogConfig {
  r.only(['device', 'timeoutMs', 'nowayout', 'daemonRestartMs']);
  return {
    device: r.absolutePath('device'),
    timeoutMs: r.integer('timeoutMs', undefined, 1000, 600000, ' ms'),
    nowayout: r.boolean('nowayout', false),
    daemonRestartMs: r.integer('daemonRestartMs', DEFAULT_DAEMON_RESTART_MS, 0, 600000, ' ms'),
  };
}

function readFence(r: Reader, disk: { device: string; mountpoint: string }, node: string): FenceConfig {
  const mountpoint = disk.mountpoint;
  const method = r.oneOf('method', ['lockfile', 'scsi-pr', 'none'] as const);
  if (method === 'none') {
    r.only(['method']);
    return { method };
  }
  if (method === 'scsi-pr') {
    r.only(['method', 'device', 'nodeId', 'drainMs', 'watchIntervalMs', 'commandTimeoutMs', 'aptpl', 'holdDownMs']);
    return {
      method,
      device: r.absolutePath('device', disk.device),
      nodeId: r.string('nodeId', node, NAME, NAME_EXPECTED),
      drainMs: r.integer('drainMs', DEFAULT_SCSI_PR.drainMs, 0, 600000, ' ms'),
      watchIntervalMs: r.integer('watchIntervalMs', DEFAULT_SCSI_PR.watchIntervalMs, 100, 1000, ' ms'),
      commandTimeoutMs: r.integer('commandTimeoutMs', DEFAULT_SCSI_PR.commandTimeoutMs, 500, 60000, ' ms'),
      aptpl: r.booleanOrAuto('aptpl', false),
      holdDownMs: r.integer('holdDownMs', DEFAULT_SCSI_PR.holdDownMs, 0, 3600000, ' ms'),
    };
  }
  r.only(['method', 'path', 'staleMs', 'updateMs', 'ioTimeoutMs', 'marginMs', 'takeoverAfterMs', 'watchdog', 'allowNoWatchdog', 'allowLocalLease']);
  const leasePath = r.absolutePath('path');
  if (isUnder(leasePath, mountpoint)) {
    r.invalid('path', `a path outside disk.mountpoint ${mountpoint} (the lease lives on storage both nodes see, not on the shared filesystem)`, leasePath);
  }
  const staleMs = r.integer('staleMs', DEFAULT_LEASE.staleMs, 3000, 600000, ' ms');
  const updateMs = r.integer('updateMs', DEFAULT_LEASE.updateMs, 200, 600000, ' ms');
  const ioTimeoutMs = r.integer('ioTimeoutMs', DEFAULT_LEASE.ioTimeoutMs, 100, 60000, ' ms');
  const minMarginMs = minimumMarginMs(staleMs);
  const marginMs = r.integer('marginMs', minMarginMs, 0, 600000, ' ms');
  if (marginMs < minMarginMs) {
    r.invalid(
      'marginMs',
      `at least ${minMarginMs} ms = max(1000, 5 % of fence.staleMs ${staleMs}) (the margin absorbs the two nodes' clocks running at different rates and scheduling delay)`,
      marginMs,
    );
  }
  const takeoverAfterMs = r.integer('takeoverAfterMs', staleMs + marginMs, 1000, 1_200_000, ' ms');
  const watchdog = r.has('watchdog') ? readWatchdog(r.section('watchdog', true)) : null;
  const allowNoWatchdog = r.boolean('allowNoWatchdog', false);
  const allowLocalLease = r.boolean('allowLocalLease', false);
  if (watchdog === null && !allowNoWatchdog) {
    r.fail(
      'watchdog',
      'required for lockfile fencing (a lease alone cannot stop a frozen MASTER); configure the kernel watchdog or set fence.allowNoWatchdog: true',
    );
  }
  return { method, path: leasePath, staleMs, updateMs, ioTimeoutMs, marginMs, takeoverAfterMs, watchdog, allowNoWatchdog, allowLocalLease };
}

function readDeadlines(r: Reader): Deadlines {
  r.only(Object.keys(DEFAULT_DEADLINES));
  const steps = { ...STEP_DEADLINES };
  for (const key of Object.keys(STEP_DEADLINES) as (keyof typeof STEP_DEADLINES)[]) {
    steps[key] = r.integer(key, STEP_DEADLINES[key], 50, 3_600_000, ' ms');
  }
  if (steps.mysqldTermGraceMs >= steps.mysqldStopMs) {
    r.invalid('mysqldTermGraceMs', `less than deadlines.mysqldStopMs (${steps.mysqldStopMs}) so SIGKILL still fits`, steps.mysqldTermGraceMs);
  }
  // Up to four hours: the default (the sum of four step deadlines of at most one hour) always fits.
  const promoteMs = r.integer('promoteMs', PROMOTION_STEPS.reduce((sum, key) => sum + steps[key], 0), 50, 14_400_000, ' ms');
  return { ...steps, promoteMs };
}

function readKeepalived(r: Reader): KeepalivedConfig {
  r.only(['instance', 'notifyFifo', 'checkIntervalMs', 'checkTimeoutMs', 'checkFall', 'checkRise', 'vrrpPidFile', 'goneMs', 'startMode', 'startHoldMs']);
  const d = DEFAULT_KEEPALIVED_CHECK;
  // keepalived 2.2 reads vrrp_script `interval` and `timeout` as whole seconds
  const wholeSeconds = (key: string, fallback: number): number => {
    const value = r.integer(key, fallback, 1000, 600000, ' ms');
    if (value % 1000 !== 0) r.invalid(key, 'whole seconds in ms (keepalived reads vrrp_script interval and timeout as integers)', value);
    return value;
  };
  return {
    instance: r.has('instance') ? r.string('instance', undefined, /^\S+$/, 'a VRRP instance name') : null,
    notifyFifo: r.nullableAbsolutePath('notifyFifo'),
    checkIntervalMs: wholeSeconds('checkIntervalMs', d.checkIntervalMs),
    checkTimeoutMs: wholeSeconds('checkTimeoutMs', d.checkTimeoutMs),
    checkFall: r.integer('checkFall', d.checkFall, 1, 100),
    checkRise: r.integer('checkRise', d.checkRise, 1, 100),
    // absent: keepalived's default; an explicit null turns the watch off
    vrrpPidFile: r.isNull('vrrpPidFile') ? null : r.absolutePath('vrrpPidFile', DEFAULT_VRRP_PID_FILE),
    goneMs: r.integer('goneMs', DEFAULT_KEEPALIVED_GONE_MS, 1000, 600000, ' ms'),
    startMode: r.oneOf('startMode', ['always', 'clean'] as const, 'always'),
    startHoldMs: r.integer('startHoldMs', 0, 0, 86_400_000, ' ms'),
  };
}

/** Default `metrics.intervalMs`: the textfile is rewritten at least this often, ms. */
export const DEFAULT_METRICS_INTERVAL_MS = 5000;

const LISTEN_EXPECTED = 'an IP address and port such as "127.0.0.1:9720" or "[::1]:9720" (no host names), or null';

/**
 * `metrics.listen`: `A.B.C.D:PORT` or `[IPv6]:PORT`, PORT 1..65535. An address, never a name:
 * the daemon binds exactly where it is told and resolves nothing.
 */
export function parseListen(value: string): { host: string; port: number } | null {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(value);
  if (match === null) return null;
  const v6 = match[1];
  const host = v6 ?? match[2] ?? '';
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return null;
  if (v6 !== undefined ? isIP(v6) !== 6 : isIP(host) !== 4) return null;
  return { host, port };
}

function readMetrics(r: Reader, mountpoint: string): MetricsConfig {
  r.only(['textfile', 'listen', 'intervalMs']);
  const textfile = r.nullableAbsolutePath('textfile');
  if (textfile !== null) {
    // node_exporter's textfile collector reads `*.prom` only (and ignores the temp file, `.NAME.PID.tmp`)
    if (!/[^/]\.prom$/.test(textfile)) r.invalid('textfile', 'a file name ending in .prom (node_exporter reads only those)', textfile);
    if (isUnder(textfile, mountpoint)) r.invalid('textfile', `a path outside disk.mountpoint ${mountpoint}`, textfile);
  }
  let listen: MetricsConfig['listen'] = null;
  if (r.has('listen')) {
    const text = r.string('listen', undefined, undefined, LISTEN_EXPECTED);
    listen = parseListen(text) ?? r.invalid('listen', LISTEN_EXPECTED, text);
  }
  return { textfile, listen, intervalMs: r.integer('intervalMs', DEFAULT_METRICS_INTERVAL_MS, 1000, 300_000, ' ms') };
}

/** Defaults of `events` and `history` (README "Events and history"). */
export const DEFAULT_EVENTS = { timeoutMs: 5000 } as const;
export const DEFAULT_HISTORY = { maxEntries: 1000 } as const;

function readEvents(r: Reader, mountpoint: string): EventsConfig {
  r.only(['exec', 'timeoutMs']);
  const exec = r.nullableAbsolutePath('exec');
  if (exec !== null && isUnder(exec, mountpoint)) r.invalid('exec', `a path outside disk.mountpoint ${mountpoint} (the hook runs on a BACKUP too)`, exec);
  return { exec, timeoutMs: r.integer('timeoutMs', DEFAULT_EVENTS.timeoutMs, 100, 60_000, ' ms') };
}

function readHistory(r: Reader): HistoryConfig {
  r.only(['maxEntries']);
  return { maxEntries: r.integer('maxEntries', DEFAULT_HISTORY.maxEntries, 10, 100_000) };
}

/**
 * Validates parsed JSON and fills in defaults, then checks the timer relations (config/relations.ts).
 * @throws FenceAgentError code `ECONFIG` (exit 6), one line: the first bad key and what was
 *   expected, or the first violated timer relation with its keys and numbers.
 */
export function resolveConfig(raw: unknown, configPath: string): Config {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw configError(`config ${configPath}: expected a JSON object at the top level`);
  }
  const root = new Reader(configPath, raw as Json, '');
  root.only(['node', 'cluster', 'vip', 'disk', 'mysqld', 'fence', 'deadlines', 'monitor', 'runDir', 'stateDir', 'log', 'keepalived', 'metrics', 'events', 'history']);

  const vipR = root.section('vip', true);
  vipR.only(['address', 'prefix', 'interface']);
  const address = vipR.string('address', undefined, undefined, 'an IPv4 or IPv6 address');
  const family = isIP(address);
  if (family === 0) vipR.invalid('address', 'an IPv4 or IPv6 address', address);
  const vip = {
    address,
    prefix: vipR.integer('prefix', family === 4 ? 32 : 128, 0, family === 4 ? 32 : 128),
    interface: vipR.string('interface', undefined, /^[^/\s]{1,15}$/, 'an interface name (at most 15 bytes)'),
  };

  const diskR = root.section('disk', true);
  diskR.only(['device', 'mountpoint', 'fstype', 'options', 'immutableMountpoint']);
  const disk = {
    device: diskR.absolutePath('device'),
    mountpoint: diskR.absolutePath('mountpoint'),
    fstype: diskR.string('fstype', 'ext4', /^[a-z0-9.]+$/, 'a filesystem type such as ext4 or xfs'),
    options: diskR.string('options', 'defaults', /^[^\s]+$/, 'mount options without spaces'),
    immutableMountpoint: diskR.boolean('immutableMountpoint', true),
  };
  if (disk.mountpoint === '/') diskR.invalid('mountpoint', 'a directory other than /', '/');

  const logR = root.section('log', false);
  logR.only(['destination', 'level']);
  const destination = logR.string('destination', 'stderr');
  if (destination !== 'stderr' && destination !== 'stdout' && !path.isAbsolute(destination)) {
    logR.invalid('destination', 'stderr, stdout or an absolute path', destination);
  }

  const monitorR = root.section('monitor', false);
  monitorR.only(['fenceIntervalMs', 'sqlIntervalMs', 'healthIntervalMs', 'fencedInRetryMs']);

  const runDir = root.absolutePath('runDir', '/run/fence-agent');
  const stateDir = root.absolutePath('stateDir', '/var/lib/fence-agent');
  // check reads these on every run: on the shared disk they would hang with it (and vanish on demote).
  const offDisk = (reader: Reader, key: string, value: string): void => {
    if (isUnder(value, disk.mountpoint)) reader.invalid(key, `a path outside disk.mountpoint ${disk.mountpoint}`, value);
  };
  offDisk(root, 'runDir', runDir);
  offDisk(root, 'stateDir', stateDir);
  if (path.isAbsolute(destination)) offDisk(logR, 'destination', destination);

  const node = root.string('node', undefined, NAME, NAME_EXPECTED);
  const config: Config = {
    configPath,
    node,
    cluster: root.string('cluster', 'fence-agent', NAME, NAME_EXPECTED),
    vip,
    disk,
    mysqld: readMysqld(root.section('mysqld', true), disk.mountpoint),
    fence: readFence(root.section('fence', true), disk, node),
    deadlines: readDeadlines(root.section('deadlines', false)),
    monitor: {
      fenceIntervalMs: monitorR.integer('fenceIntervalMs', 1000, 100, 60000, ' ms'),
      sqlIntervalMs: monitorR.integer('sqlIntervalMs', 1000, 100, 60000, ' ms'),
      healthIntervalMs: monitorR.integer('healthIntervalMs', 1000, 100, 60000, ' ms'),
      fencedInRetryMs: monitorR.integer('fencedInRetryMs', 30000, 1000, 3600000, ' ms'),
    },
    runDir,
    stateDir,
    log: { destination, level: logR.oneOf('level', ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const, 'info') },
    keepalived: readKeepalived(root.section('keepalived', false)),
    metrics: readMetrics(root.section('metrics', false), disk.mountpoint),
    events: readEvents(root.section('events', false), disk.mountpoint),
    history: readHistory(root.section('history', false)),
  };
  assertRelations(config);
  return config;
}
