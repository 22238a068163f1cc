// Reads mount state from /proc/self/mountinfo (proc(5)) without touching any mounted filesystem:
// no stat of the mountpoint, which would hang on dead storage.
import { readFile, stat } from 'node:fs/promises';

/** One line of /proc/PID/mountinfo. */
export interface MountEntry {
  /** the mount's unique id (field 1); an open file's /proc/PID/fdinfo `mnt_id` names it, even after a lazy unmount */
  mountId: number;
  /** `major:minor` of the mounted device (st_dev of the filesystem) */
  majorMinor: string;
  mountpoint: string;
  /** per-mount options (`rw`, `ro`, `noatime`, ...) */
  options: string[];
  fstype: string;
  source: string;
  /** per-superblock options; `ro` here means the filesystem itself went read-only (e.g. errors=remount-ro) */
  superOptions: string[];
}

// mountinfo escapes space, tab, newline and backslash as \040 \011 \012 \134.
const unescape = (field: string): string => field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));

/** Parses the text of a mountinfo file; malformed lines are skipped. */
export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (separator < 0 || fields.length < separator + 3) continue;
    entries.push({
      mountId: Number(fields[0]),
      majorMinor: fields[2] as string,
      mountpoint: unescape(fields[4] as string),
      options: (fields[5] as string).split(','),
      fstype: fields[separator + 1] as string,
      source: unescape(fields[separator + 2] as string),
      superOptions: (fields[separator + 3] ?? '').split(','),
    });
  }
  return entries;
}

/** A dev_t as `major:minor`, the way mountinfo prints it (Linux encoding, glibc gnu_dev_major/minor). */
export function majorMinorOf(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/** `major:minor` of a block device node, as mountinfo prints it (Linux dev_t encoding). */
export async function deviceNumber(devicePath: string): Promise<string> {
  const { rdev } = await stat(devicePath, { bigint: true });
  return majorMinorOf(rdev);
}

/** What the mount probe saw. */
export interface MountState {
  /** the configured device is what is mounted at the mountpoint (the top-most mount there) */
  mounted: boolean;
  /** mounted, but read-only (mount option or superblock) */
  readOnly: boolean;
  /** `major:minor` of the configured device, or null if the device node is missing */
  majorMinor: string | null;
  /** why the device could not be identified (e.g. `ENOENT`), when `majorMinor` is null */
  deviceError: string | null;
  /** source of some other filesystem mounted on the mountpoint, or null */
  otherAtMountpoint: string | null;
  /** every mountpoint (in this mount namespace) where the configured device is mounted */
  mountpoints: string[];
  /**
   * the SCSI device state of the disk under the configured device (sysfs `device/state`:
   * `running`, `blocked` while an iSCSI session recovers, `transport-offline` once
   * `replacement_timeout` passed, `offline`), or null when it has none (a loop device, no node)
   */
  deviceState: string | null;
}

/**
 * The SCSI device state (`/sys/dev/block/<maj:min>/device/state`, of the parent disk for a
 * partition) of block device `majorMinor`, or null when there is none. Reads sysfs only: never
 * blocks on the storage itself. Never throws.
 * @param sysRoot /sys (tests point it elsewhere)
 */
export async function scsiDeviceState(majorMinor: string, sysRoot = '/sys'): Promise<string | null> {
  const base = `${sysRoot}/dev/block/${majorMinor}`;
  for (const candidate of [`${base}/device/state`, `${base}/../device/state`]) {
    try {
      return (await readFile(candidate, 'utf8')).trim();
    } catch {
      // not a SCSI disk at this level
    }
  }
  return null;
}

/**
 * Probes whether `device` is mounted at `mountpoint` in this process's mount namespace.
 * Reads `/proc/self/mountinfo` and stats only the device node under /dev.
 */
export async function probeMount(device: string, mountpoint: string, mountinfoPath = '/proc/self/mountinfo', sysRoot = '/sys'): Promise<MountState> {
  const [entries, number] = await Promise.all([
    readFile(mountinfoPath, 'utf8').then(parseMountinfo),
    deviceNumber(device).then(
      (value) => ({ value, error: null }),
      (error: NodeJS.ErrnoException) => ({ value: null, error: error.code ?? String(error) }),
    ),
  ]);
  const majorMinor = number.value;
  const deviceState = majorMinor === null ? null : await scsiDeviceState(majorMinor, sysRoot);
  const mine = (entry: MountEntry): boolean =>
    majorMinor !== null ? entry.majorMinor === majorMinor : entry.source === device;
  const atMountpoint = entries.filter((entry) => entry.mountpoint === mountpoint).at(-1);
  const mounted = atMountpoint !== undefined && mine(atMountpoint);
  return {
    mounted,
    readOnly: mounted && (atMountpoint.options.includes('ro') || atMountpoint.superOptions.includes('ro')),
    majorMinor,
    deviceError: number.error,
    otherAtMountpoint: atMountpoint !== undefined && !mounted ? atMountpoint.source : null,
    mountpoints: entries.filter(mine).map((entry) => entry.mountpoint),
    deviceState,
  };
}
