// The empty mountpoint is made immutable (`disk.immutableMountpoint`): `chattr +i` on the
// directory while the shared disk is not mounted on it, as operators of shared-disk pairs do by
// hand. A mysqld started while the disk is not mounted — by systemd's `Restart=`, a pending job,
// an operator — would otherwise create a fresh datadir on the root filesystem and serve it; in an
// immutable directory nothing can be created. Mounting on an immutable directory works (mount(2)
// does not write to the directory it covers), and once mounted the path shows the disk's own root.
//
// Never applied to a mounted filesystem's root: the mount probe must show nothing mounted there.
// Spawns lsattr and chattr (e2fsprogs): only at daemon start-up and after a verified unmount.
import type { Config } from '../config/types.ts';
import { FenceAgentError, errorLine } from '../errors.ts';
import type { Logger } from '../log.ts';
import { probeMount } from '../probes/mountinfo.ts';
import { run } from '../run.ts';

/** What {@link protectMountpoint} did. */
export type ProtectOutcome =
  /** `chattr +i` applied */
  | 'set'
  /** the directory was immutable already */
  | 'already'
  /** `disk.immutableMountpoint` is false */
  | 'disabled'
  /** something is mounted on the mountpoint: nothing touched */
  | 'mounted'
  /** the mount probe, lsattr or chattr failed (a filesystem without the flag: FUSE, NFS, older tmpfs); one warn line */
  | 'failed';

/**
 * `lsattr -d DIR`: whether the directory's flags include `i` (immutable).
 * @throws FenceAgentError code `ECOMMAND` with lsattr's message (e.g. `Operation not supported`)
 */
export async function isImmutable(dir: string, signal: AbortSignal): Promise<boolean> {
  const result = await run(['lsattr', '-d', dir], signal);
  const flags = result.exitCode === 0 ? (result.stdout.trim().split(/\s+/)[0] ?? '') : '';
  if (result.exitCode !== 0 || !/^[-a-zA-Z]+$/.test(flags)) {
    const why = (result.stderr.trim() || result.stdout.trim()).split('\n')[0] ?? '';
    throw new FenceAgentError('ECOMMAND', `lsattr -d ${dir} exited ${result.exitCode}${why ? `: ${why}` : ''}`);
  }
  return flags.includes('i');
}

/**
 * Makes `disk.mountpoint` immutable when `disk.immutableMountpoint` is set and nothing is mounted
 * on it (in this mount namespace). Never throws: a failure (a filesystem that does not support the
 * flag, a missing directory, no e2fsprogs) is one warn line, and the agent goes on without it.
 * @param mountinfoPath the mountinfo read by the mount probe (tests only)
 */
export async function protectMountpoint(config: Config, signal: AbortSignal, log: Logger, mountinfoPath?: string): Promise<ProtectOutcome> {
  const { device, mountpoint, immutableMountpoint } = config.disk;
  if (!immutableMountpoint) return 'disabled';
  try {
    const mount = await probeMount(device, mountpoint, mountinfoPath);
    if (mount.mounted || mount.otherAtMountpoint !== null) {
      log.debug({ mountpoint, other: mount.otherAtMountpoint }, `${mountpoint} is a mount: left as it is (never chattr a mounted filesystem's root)`);
      return 'mounted';
    }
    if (await isImmutable(mountpoint, signal)) return 'already';
    const result = await run(['chattr', '+i', mountpoint], signal);
    if (result.exitCode !== 0) throw new FenceAgentError('ECOMMAND', `chattr +i ${mountpoint} exited ${result.exitCode}: ${result.stderr.trim().split('\n')[0] ?? ''}`);
    log.info({ mountpoint }, `${mountpoint} made immutable (chattr +i): nothing can be created in it while the disk is not mounted`);
    return 'set';
  } catch (error) {
    log.warn({ mountpoint, err: errorLine(error) }, `could not make the empty mountpoint ${mountpoint} immutable (disk.immutableMountpoint): ${errorLine(error)}`);
    return 'failed';
  }
}
