// Mount the shared disk (promotion step `mount`). Idempotent: an existing mount of the right
// device is accepted as is; anything else on the mountpoint is an error, never mounted over.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/types.ts';
import { FenceAgentError } from '../errors.ts';
import { kernelLines } from '../probes/kmsg.ts';
import { probeMount } from '../probes/mountinfo.ts';
import { runOk } from '../run.ts';

/**
 * Mounts `disk.device` on `disk.mountpoint` with `disk.fstype` and `disk.options`, then verifies
 * it through /proc/self/mountinfo. Returns `skipped` when it was already mounted there.
 * @throws FenceAgentError code `EMOUNT` (something else on the mountpoint, device mounted
 *   elsewhere, or the mount not visible afterwards), `ECOMMAND` (mount(8) failed; the message
 *   ends with the kernel's last lines about the device, src/probes/kmsg.ts).
 */
export async function mountDisk(config: Config, signal: AbortSignal): Promise<'ok' | 'skipped'> {
  const { device, mountpoint, fstype, options } = config.disk;
  const before = await probeMount(device, mountpoint);
  if (before.deviceError !== null) throw new FenceAgentError('EMOUNT', `device ${device} unusable (${before.deviceError})`);
  if (before.mounted) return 'skipped';
  if (before.otherAtMountpoint !== null) throw new FenceAgentError('EMOUNT', `${before.otherAtMountpoint} is already mounted on ${mountpoint}`);
  if (before.mountpoints.length > 0) throw new FenceAgentError('EMOUNT', `${device} is already mounted on ${before.mountpoints.join(', ')}`);
  await mkdir(mountpoint, { recursive: true });
  await runOk(['mount', '-t', fstype, '-o', options, device, mountpoint], signal).catch((error: unknown) => {
    // mount(8) only says "dmesg(1) may have more information": the kernel's reason goes with the error
    const kernel = error instanceof FenceAgentError ? kernelLines(path.basename(device)) : [];
    throw kernel.length === 0 ? error : new FenceAgentError((error as FenceAgentError).code, `${(error as Error).message}; kernel: ${kernel.join(' | ')}`, { cause: error });
  });
  const after = await probeMount(device, mountpoint);
  if (!after.mounted) throw new FenceAgentError('EMOUNT', `mount reported success but ${device} is not on ${mountpoint} in /proc/self/mountinfo`);
  return 'ok';
}
