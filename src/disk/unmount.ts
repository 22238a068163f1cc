// Unmount with escalation (demotion step `unmount`), as ocf:heartbeat:Filesystem stops:
// try umount; while busy, signal the processes using the mountpoint — SIGTERM during the first
// half of the deadline, SIGKILL during the second — wait `unmountSignalDelayMs`, try again.
// Success means /proc/self/mountinfo no longer shows the device on the mountpoint.
import type { Config } from '../config/types.ts';
import { sleep } from '../deadline.ts';
import { FenceAgentError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { probeMount } from '../probes/mountinfo.ts';
import { run } from '../run.ts';
import { findMountUsers } from './users.ts';

/**
 * Unmounts the shared disk and verifies it. `signal` aborts at the step's deadline; the caller
 * must then keep the fence (DESIGN §4: never release the fence while still mounted).
 * @throws FenceAgentError code `EUMOUNT` when the mountpoint holds another device, or the
 *   abort reason (`EDEADLINE`) when the unmount could not be verified in time.
 */
export async function unmountDisk(config: Config, signal: AbortSignal, log: Logger): Promise<'ok' | 'skipped'> {
  const { device, mountpoint } = config.disk;
  const started = Date.now();
  const half = config.deadlines.unmountMs / 2;
  let first = true;
  for (;;) {
    const state = await probeMount(device, mountpoint);
    if (!state.mounted) {
      if (state.otherAtMountpoint !== null) throw new FenceAgentError('EUMOUNT', `${state.otherAtMountpoint} (not ${device}) is mounted on ${mountpoint}`);
      return first ? 'skipped' : 'ok';
    }
    first = false;
    const result = await run(['umount', mountpoint], signal);
    if (result.exitCode === 0) continue; // verify on the next turn
    const users = await findMountUsers(mountpoint);
    const signalName = Date.now() - started < half ? 'SIGTERM' : 'SIGKILL';
    log.warn({ mountpoint, umount: result.stderr.trim(), users, signal: signalName }, 'mountpoint busy, signalling its users');
    for (const user of users) {
      try {
        process.kill(user.pid, signalName);
      } catch {
        // already gone
      }
    }
    await sleep(config.deadlines.unmountSignalDelayMs, signal);
  }
}
