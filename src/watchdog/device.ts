// The kernel watchdog the daemon pets while it may write (DESIGN §5), through the only calls Node
// has: open, write, close, and sysfs for what an ioctl would report.
//
// Linux Documentation/watchdog/watchdog-api.rst: opening /dev/watchdogN starts the timer; every
// write is a keepalive; a write containing 'V' followed by close() is the "magic close" that stops
// it, unless the driver was loaded with nowayout=1; a close without it (a crash, a SIGKILL, a plain
// exit) leaves it running ("watchdog did not stop!") and the node resets when it expires — the
// behaviour sbd relies on. The timeout is the driver's module parameter (softdog `soft_margin`,
// i6300esb `heartbeat`); Node cannot WDIOC_SETTIMEOUT, so we read it back from
// /sys/class/watchdog/watchdogN/timeout and refuse to arm when it differs from the configuration.
//
// A FIFO in place of the device is the labs' simulated watchdog (lab/watchdog.ts): its reader plays
// the driver and "resets" the node when keepalives stop.
//
// SAFETY: nothing here opens a device except Watchdog.arm(), and only after inspection agreed.
import { closeSync, constants, openSync, readFileSync, statSync, writeSync, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { monoNow } from '../clock.ts';
import type { WatchdogConfig } from '../config/types.ts';
import { errorLine, ExitCode, FenceAgentError, type ExitCodeValue } from '../errors.ts';

/** What `inspectWatchdog` found at the configured device path. */
export interface WatchdogInfo {
  /** the path as configured */
  device: string;
  /** a character device (a kernel watchdog driver) or a FIFO (the labs' simulated watchdog) */
  kind: 'kernel' | 'simulated';
  /** the device's sysfs directory (one holding a `timeout` file); null when none was found, or simulated */
  sysfsDir: string | null;
  /** the driver's identity string (sysfs `identity`, e.g. `Software Watchdog`); null when unreadable */
  identity: string | null;
  /** the running timeout (sysfs `timeout`, whole seconds, here in ms); null when unreadable or simulated */
  timeoutMs: number | null;
  /** the driver's nowayout (sysfs `nowayout`); null when unreadable or simulated */
  nowayout: boolean | null;
}

/** Major number and minor of the legacy misc node `/dev/watchdog` (Documentation/admin-guide/devices.txt). */
const LEGACY_MISC = '10:130';

/** A keepalive byte: anything but 'V', so that a keepalive after an aborted release cancels the magic close. */
const KEEPALIVE = Buffer.from('.');
/** The magic character (watchdog-api.rst "Magic Close"). */
const MAGIC = Buffer.from('V');

const watchdogError = (message: string, exitCode: ExitCodeValue = ExitCode.FAILURE, cause?: unknown): FenceAgentError =>
  new FenceAgentError('EWATCHDOG', message, cause === undefined ? { exitCode } : { exitCode, cause });

/** glibc's gnu_dev_major / gnu_dev_minor on a 64-bit st_rdev. */
const majorMinor = (rdev: bigint): string => {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n);
  return `${major}:${minor}`;
};

const hasFile = (file: string): boolean => {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
};

const readAttribute = (dir: string, name: string): string | null => {
  try {
    return readFileSync(path.join(dir, name), 'utf8').trim();
  } catch {
    return null;
  }
};

/**
 * The sysfs directory of the watchdog with char device number `major:minor`, or null:
 * `<sysfsRoot>/dev/char/<major:minor>` when it holds a `timeout` file (the watchdogN class device
 * of /dev/watchdogN), else, for the legacy misc node 10:130 (/dev/watchdog), which the watchdog
 * core gives to the first registered watchdog, `<sysfsRoot>/class/watchdog/watchdog0`.
 * Reads only sysfs.
 */
export function watchdogSysfsDir(majorMinorNumber: string, sysfsRoot = '/sys'): string | null {
  const direct = path.join(sysfsRoot, 'dev', 'char', majorMinorNumber);
  if (hasFile(path.join(direct, 'timeout'))) return direct;
  if (majorMinorNumber === LEGACY_MISC) {
    const first = path.join(sysfsRoot, 'class', 'watchdog', 'watchdog0');
    if (hasFile(path.join(first, 'timeout'))) return first;
  }
  return null;
}

const fileType = (stat: BigIntStats): string =>
  stat.isFile()
    ? 'a regular file'
    : stat.isDirectory()
      ? 'a directory'
      : stat.isBlockDevice()
        ? 'a block device'
        : stat.isSocket()
          ? 'a socket'
          : 'neither a character device nor a FIFO';

/**
 * Looks at the configured watchdog without opening it (stat(2) and sysfs reads only).
 *
 * - A character device is a kernel watchdog: its sysfs directory is found by its device number
 *   (`watchdogSysfsDir`), and `timeout` (seconds, returned in ms), `nowayout` (0/1) and `identity`
 *   are read from it (Linux ABI testing/sysfs-class-watchdog); each is null when unreadable.
 * - A FIFO is the labs' simulated watchdog: every sysfs field is null.
 *
 * @throws FenceAgentError `EWATCHDOG` (exit 6) when the path is missing, cannot be stat'ed, or is anything else.
 */
export function inspectWatchdog(device: string, sysfsRoot = '/sys'): WatchdogInfo {
  let stat: BigIntStats;
  try {
    stat = statSync(device, { bigint: true });
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw watchdogError(
      missing
        ? `watchdog device ${device} does not exist: expected a watchdog character device (load its driver, e.g. modprobe softdog) or, in the labs, a FIFO`
        : `cannot stat watchdog device ${device}: ${errorLine(error)}`,
      ExitCode.CONFIG,
      error,
    );
  }
  if (stat.isFIFO()) {
    return { device, kind: 'simulated', sysfsDir: null, identity: null, timeoutMs: null, nowayout: null };
  }
  if (!stat.isCharacterDevice()) {
    throw watchdogError(
      `watchdog device ${device} is ${fileType(stat)}: expected a watchdog character device (e.g. /dev/watchdog0) or, in the labs, a FIFO`,
      ExitCode.CONFIG,
    );
  }
  const sysfsDir = watchdogSysfsDir(majorMinor(stat.rdev), sysfsRoot);
  if (sysfsDir === null) {
    return { device, kind: 'kernel', sysfsDir: null, identity: null, timeoutMs: null, nowayout: null };
  }
  const timeoutText = readAttribute(sysfsDir, 'timeout');
  const nowayoutText = readAttribute(sysfsDir, 'nowayout');
  const timeoutSeconds = timeoutText !== null && /^\d+$/.test(timeoutText) ? Number(timeoutText) : null;
  return {
    device,
    kind: 'kernel',
    sysfsDir,
    identity: readAttribute(sysfsDir, 'identity') || null,
    timeoutMs: timeoutSeconds === null ? null : timeoutSeconds * 1000,
    nowayout: nowayoutText === '1' ? true : nowayoutText === '0' ? false : null,
  };
}

/** Drivers by sysfs `identity`: module name and the parameter that sets the timeout (seconds). */
const DRIVERS: Record<string, { module: string; parameter: string }> = {
  'Software Watchdog': { module: 'softdog', parameter: 'soft_margin' },
  'i6300ESB timer': { module: 'i6300esb', parameter: 'heartbeat' },
  iTCO_wdt: { module: 'iTCO_wdt', parameter: 'heartbeat' },
  'SP5100 TCO timer': { module: 'sp5100_tco', parameter: 'heartbeat' },
};

const timeoutHint = (identity: string | null, timeoutMs: number): string => {
  const seconds = timeoutMs / 1000;
  const whole = Number.isInteger(seconds)
    ? ''
    : ` (a kernel watchdog counts whole seconds: make fence.watchdog.timeoutMs a multiple of 1000)`;
  const driver = identity === null ? undefined : DRIVERS[identity];
  if (driver === undefined) {
    return `load the driver with its timeout module parameter set to ${Math.ceil(seconds)} s (see modinfo <driver>)${whole}`;
  }
  return `${driver.module}: modprobe -r ${driver.module}; modprobe ${driver.module} ${driver.parameter}=${Math.ceil(seconds)}${whole}`;
};

/**
 * Every way `info` disagrees with `config`, one line each; empty when the watchdog may be armed.
 *
 * Kernel watchdogs: the sysfs timeout must be readable and equal `config.timeoutMs` (the line says
 * which module parameter sets it), and the sysfs nowayout must be readable and equal
 * `config.nowayout` in both directions (with nowayout=1 a magic close does not stop the timer, so
 * every release would reset the node; with nowayout=0 the daemon would keep a device open that it
 * could have stopped). A simulated watchdog has no problems: its configured timeout is trusted.
 */
export function watchdogProblems(config: WatchdogConfig, info: WatchdogInfo): string[] {
  if (info.kind === 'simulated') return [];
  const name = info.identity === null ? info.device : `${info.device} (${info.identity})`;
  const problems: string[] = [];
  if (info.timeoutMs === null) {
    problems.push(
      info.sysfsDir === null
        ? `kernel watchdog ${name} has no readable timeout in sysfs (no ${path.join('/sys/dev/char', '<major:minor>', 'timeout')}: not a watchdog, or a kernel without CONFIG_WATCHDOG_SYSFS): its timeout cannot be checked against fence.watchdog.timeoutMs`
        : `kernel watchdog ${name}: ${path.join(info.sysfsDir, 'timeout')} is not readable as whole seconds: its timeout cannot be checked against fence.watchdog.timeoutMs`,
    );
  } else if (info.timeoutMs !== config.timeoutMs) {
    problems.push(
      `kernel watchdog ${name} times out after ${info.timeoutMs} ms but fence.watchdog.timeoutMs is ${config.timeoutMs}; the driver sets it — ${timeoutHint(info.identity, config.timeoutMs)}`,
    );
  }
  if (info.sysfsDir !== null && info.nowayout === null) {
    problems.push(`kernel watchdog ${name}: ${path.join(info.sysfsDir, 'nowayout')} is not readable: cannot check fence.watchdog.nowayout`);
  } else if (info.nowayout === true && !config.nowayout) {
    problems.push(
      `kernel watchdog ${name}: the driver has nowayout=1: a magic close would not stop it and the node would reset after every release; set fence.watchdog.nowayout: true or load the driver with nowayout=0`,
    );
  } else if (info.nowayout === false && config.nowayout) {
    problems.push(
      `kernel watchdog ${name}: the driver has nowayout=0 but fence.watchdog.nowayout is true: the daemon would keep the device open and armed after a release it could have ended with a magic close; set fence.watchdog.nowayout: false or load the driver with nowayout=1`,
    );
  }
  return problems;
}

export interface WatchdogOptions {
  /** where sysfs is mounted (tests pass a fake tree); default `/sys` */
  sysfsRoot?: string;
  /** monotonic milliseconds; default `monoNow` (src/clock.ts) */
  clock?: () => number;
}

/** What `disarm()` did. */
export type DisarmResult = 'closed' | 'nowayout-kept-open' | 'not-armed';

/**
 * The watchdog the daemon holds open while it may write, as sbd holds its watchdog: armed (open,
 * timer running) from `arm()` until a magic close in `disarm()`. A daemon that dies or exits
 * without `disarm()` closes the device without the magic character, so the kernel keeps counting
 * and resets the node `timeoutMs` after the last `pet()`. The descriptor is opened O_CLOEXEC (libuv
 * always does), so children such as mysqld never hold it.
 */
export class Watchdog {
  private readonly config: WatchdogConfig;
  private readonly sysfsRoot: string;
  private readonly clock: () => number;
  private fd: number | null = null;
  private inspected: WatchdogInfo | null = null;
  private petAt: number | null = null;
  private error: Error | null = null;

  constructor(config: WatchdogConfig, options: WatchdogOptions = {}) {
    this.config = config;
    this.sysfsRoot = options.sysfsRoot ?? '/sys';
    this.clock = options.clock ?? monoNow;
  }

  /** true from a successful `arm()` until `disarm()` returns 'closed' (a nowayout device stays armed) */
  get armed(): boolean {
    return this.fd !== null;
  }

  /**
   * The open descriptor while armed, else null: for a keepalive thread of this process that
   * must stop writing before `disarm()` (src/daemon/early-petter.ts).
   */
  get descriptor(): number | null {
    return this.fd;
  }

  /** monotonic ms (the `clock` option) of the last successful keepalive, null before the first */
  get lastPetMs(): number | null {
    return this.petAt;
  }

  /**
   * The error of the latest failed operation: null after a successful `arm()` or `pet()`. Set by a
   * failed `arm()` (the error it threw), a failed `pet()` (not armed, EPIPE when the FIFO's reader
   * is gone, EAGAIN on a full FIFO, ...), and by `disarm()` when the magic
   * character or the close failed — then the timer may still run and the node resets within timeoutMs.
   */
  get lastError(): Error | null {
    return this.error;
  }

  /** what the latest `arm()` found at the device; null before the first `arm()` */
  get info(): WatchdogInfo | null {
    return this.inspected;
  }

  /**
   * Inspects the device (`inspectWatchdog`, `watchdogProblems`), opens it O_WRONLY|O_NONBLOCK —
   * which starts a kernel watchdog's timer — and writes one keepalive. A no-op when already armed.
   *
   * @throws FenceAgentError `EWATCHDOG`: exit 6 for what inspection finds (missing device, wrong
   *   file type, the first of `watchdogProblems`); exit 1 when the open fails (ENXIO on a FIFO: no
   *   reader, its supervisor is not running; EBUSY: another process holds the device) or when the
   *   first keepalive fails (the device is then magic-closed again, or with nowayout kept open and
   *   armed).
   */
  arm(): void {
    if (this.fd !== null) return;
    const { device } = this.config;
    let info: WatchdogInfo;
    try {
      info = inspectWatchdog(device, this.sysfsRoot);
    } catch (error) {
      this.error = error as FenceAgentError;
      throw error;
    }
    this.inspected = info;
    const problems = watchdogProblems(this.config, info);
    const first = problems[0];
    if (first !== undefined) {
      this.error = watchdogError(problems.length > 1 ? `${first} (and ${problems.length - 1} more)` : first, ExitCode.CONFIG);
      throw this.error;
    }
    let fd: number;
    try {
      fd = openSync(device, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const message =
        code === 'ENXIO' && info.kind === 'simulated'
          ? `no reader on the simulated watchdog FIFO ${device}: its supervisor is not running`
          : code === 'EBUSY'
            ? `watchdog ${device} is already open in another process (a watchdog has one holder: disable Debian's watchdog.service, or another daemon holds it)`
            : `cannot open watchdog ${device}: ${errorLine(error)}`;
      this.error = watchdogError(message, ExitCode.FAILURE, error);
      throw this.error;
    }
    this.fd = fd;
    if (!this.pet()) {
      const cause = this.error;
      const outcome = this.disarm();
      this.error = watchdogError(
        `first keepalive to watchdog ${device} failed: ${errorLine(cause)}${outcome === 'nowayout-kept-open' ? ' (nowayout: the device stays open and armed)' : ''}`,
        ExitCode.FAILURE,
        cause,
      );
      throw this.error;
    }
  }

  /**
   * One synchronous keepalive: writes a single byte that is not 'V' (so it also cancels a magic
   * character written before). Never throws.
   *
   * @returns true when the byte was written (`lastPetMs` = now, `lastError` = null); false when not
   *   armed or the write failed (`lastError` says why).
   */
  pet(): boolean {
    if (this.fd === null) {
      this.error = watchdogError(`watchdog ${this.config.device} is not armed: nothing to pet`);
      return false;
    }
    try {
      const written = writeSync(this.fd, KEEPALIVE);
      if (written !== KEEPALIVE.length) throw new Error(`short write (${written} bytes)`);
      this.petAt = this.clock();
      this.error = null;
      return true;
    } catch (error) {
      this.error = error instanceof Error ? error : new Error(String(error));
      return false;
    }
  }

  /**
   * Releases the watchdog. Without nowayout: the magic close (write 'V', then close), which stops
   * the kernel timer → 'closed' (if the 'V' or the close failed, `lastError` is set and the timer
   * may still run). With `config.nowayout` the close could not stop the timer, so the descriptor
   * stays open and armed → 'nowayout-kept-open': the caller must keep petting, or
   * the node resets after timeoutMs. Never throws.
   */
  disarm(): DisarmResult {
    if (this.fd === null) return 'not-armed';
    if (this.config.nowayout) return 'nowayout-kept-open';
    const fd = this.fd;
    this.fd = null;
    try {
      const written = writeSync(fd, MAGIC);
      if (written !== MAGIC.length) throw new Error(`short write (${written} bytes)`);
    } catch (error) {
      this.error = watchdogError(
        `magic close of watchdog ${this.config.device} failed, the timer may still run: ${errorLine(error)}`,
        ExitCode.FAILURE,
        error,
      );
    }
    try {
      closeSync(fd);
    } catch (error) {
      this.error = watchdogError(`close of watchdog ${this.config.device} failed: ${errorLine(error)}`, ExitCode.FAILURE, error);
    }
    return 'closed';
  }
}
