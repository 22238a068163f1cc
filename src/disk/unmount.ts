// Unmount with escalation (demotion step `unmount`), as ocf:heartbeat:Filesystem stops: try
// umount; while busy, signal the processes using the mountpoint — SIGTERM during the first half of
// the deadline, SIGKILL during the second — wait `unmountSignalDelayMs`, try again.
//
// Done means the filesystem is gone from the kernel, not merely from our mountinfo
// (src/probes/superblock.ts): a lazily detached mount, or a mount in another namespace (mysqld
// under systemd's ProtectSystem=), keeps the superblock alive and writable. While it lingers, its
// holders — found by namespace, open file (fdinfo mnt_id) and cwd — are signalled the same way.
//
// Mode `fenced` (the fence was lost, DESIGN §5: loss is not graceful): SIGKILL at once, and a
// mountpoint still busy after that is detached lazily (`umount -l`) so that the node stops serving
// the filesystem at once; the superblock check then waits for its last holder to die.
import type { Config } from '../config/types.ts';
import { monoNow } from '../clock.ts';
import { sleep } from '../deadline.ts';
import { FenceAgentError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { probeMount } from '../probes/mountinfo.ts';
import { filesystemPresence, findDeviceHolders, mountIdsOf } from '../probes/superblock.ts';
import { run } from '../run.ts';
import { findMountUsers } from './users.ts';

export type UnmountMode = 'graceful' | 'fenced';

const killAll = (pids: number[], signalName: NodeJS.Signals): void => {
  for (const pid of pids) {
    try {
      process.kill(pid, signalName);
    } catch {
      // already gone
    }
  }
};

/**
 * Unmounts the shared disk and verifies that its filesystem is gone from the kernel. `signal`
 * aborts at the step's deadline; the caller must then keep the fence (DESIGN §4: never release the
 * fence while the filesystem may still be written).
 * @throws FenceAgentError code `EUMOUNT` when the mountpoint holds another device, or the abort
 *   reason (`EDEADLINE`) when the unmount could not be verified in time.
 */
export async function unmountDisk(config: Config, signal: AbortSignal, log: Logger, mode: UnmountMode = 'graceful'): Promise<'ok' | 'skipped'> {
  const { device, mountpoint, fstype } = config.disk;
  const started = monoNow();
  const half = config.deadlines.unmountMs / 2;
  const signalNow = (): NodeJS.Signals => (mode === 'fenced' || monoNow() - started >= half ? 'SIGKILL' : 'SIGTERM');
  let first = true;
  let lazyTried = false;
  // every mount of the device seen so far: an open file on a lazily detached one still names it
  const mountIds = new Set<number>();
  for (;;) {
    signal.throwIfAborted();
    const state = await probeMount(device, mountpoint);
    if (state.majorMinor !== null) for (const id of mountIdsOf(state.majorMinor)) mountIds.add(id);
    if (state.mounted) {
      first = false;
      const result = await run(['umount', mountpoint], signal);
      if (result.exitCode === 0) continue; // verify on the next turn
      const users = await findMountUsers(mountpoint);
      const signalName = signalNow();
      log.warn({ mountpoint, umount: result.stderr.trim(), users, signal: signalName, mode }, 'mountpoint busy, signalling its users');
      killAll(
        users.map((u) => u.pid),
        signalName,
      );
      if (mode === 'fenced' && !lazyTried) {
        lazyTried = true;
        const lazy = await run(['umount', '-l', mountpoint], signal);
        log.warn({ mountpoint, exitCode: lazy.exitCode, stderr: lazy.stderr.trim() }, 'fenced: mountpoint detached lazily; waiting for the filesystem to go');
        continue;
      }
      await sleep(config.deadlines.unmountSignalDelayMs, signal);
      continue;
    }
    if (state.otherAtMountpoint !== null) throw new FenceAgentError('EUMOUNT', `${state.otherAtMountpoint} (not ${device}) is mounted on ${mountpoint}`);
    if (state.majorMinor === null) {
      log.warn({ device, err: state.deviceError }, 'device node missing: the unmount is verified in our mountinfo only');
      return first ? 'skipped' : 'ok';
    }
    const presence = filesystemPresence(state.majorMinor, fstype);
    if (!presence.active) {
      if (!first) log.info({ evidence: presence.evidence }, 'filesystem gone from the kernel');
      return first ? 'skipped' : 'ok';
    }
    first = false;
    const holders = findDeviceHolders(state.majorMinor, mountIds, mountpoint);
    const signalName = signalNow();
    log.warn({ evidence: presence.evidence, holders, signal: signalName, mode }, 'filesystem still alive after the unmount: signalling what holds it');
    killAll(
      holders.map((h) => h.pid),
      signalName,
    );
    await sleep(mode === 'fenced' ? Math.min(100, config.deadlines.unmountSignalDelayMs) : config.deadlines.unmountSignalDelayMs, signal);
  }
}
