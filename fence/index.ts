// Picks the fencing method named in the configuration. Each method is imported only when used,
// so `check` on a node with `none` never loads the lease code.
import type { Config } from '../src/config/types.ts';
import { bootId, machineId } from '../src/proc.ts';
import type { Fence } from './types.ts';
import type { FenceLog } from './lockfile.ts';
import type { HelperLeaseIo } from '../src/lease-io.ts';
import type { HolderMemory } from './scsi-pr/mmp.ts';

export type { Fence, FenceDescription, FenceLostListener, FenceStatus } from './types.ts';

export interface CreateFenceOptions {
  /**
   * `daemon`: lease I/O through a helper process that is abandoned when storage hangs, tenure
   * published in runDir; `reader` (`check`, `status`): in-process reads raced with a timer.
   */
  role: 'daemon' | 'reader';
  log?: FenceLog | null;
  /**
   * reader: read the fence from storage even where the daemon publishes it (scsi-pr: `status
   * --live` sends the PR IN commands instead of taking the daemon's cached state)
   */
  live?: boolean;
}

/**
 * Builds the configured fence (`fence.method`) for this node.
 * @throws FenceAgentError code `EPRDEVICE` (scsi-pr) when `fence.device` is not a SCSI LU or a
 *   partition of one (fence/scsi-pr/device.ts resolveLu)
 */
export async function createFence(config: Config, options: CreateFenceOptions = { role: 'reader' }): Promise<Fence> {
  switch (config.fence.method) {
    case 'lockfile': {
      const [{ createLockfileFence }, io] = await Promise.all([import('./lockfile.ts'), import('../src/lease-io.ts')]);
      return createLockfileFence(config.fence, {
        identity: { node: config.node, bootId: bootId(), machineId: machineId() },
        io: options.role === 'daemon' ? prestarted(io.createHelperLeaseIo({ log: (line) => options.log?.info({ lease_io: line }, line) })) : io.createInlineLeaseIo(),
        runDir: config.runDir,
        log: options.log ?? null,
      });
    }
    case 'scsi-pr': {
      const [{ createScsiPrFence }, { PrDevice }, { resolveLu }, { reservationKey }, { watchHolder, clearMmp, heartbeatNow }, stateFile, { monoNow }, { errorLine }] = await Promise.all([
        import('./scsi-pr.ts'),
        import('./scsi-pr/sg-persist.ts'),
        import('./scsi-pr/device.ts'),
        import('./scsi-pr/key.ts'),
        import('./scsi-pr/mmp.ts'),
        import('./scsi-pr/state-file.ts'),
        import('../src/clock.ts'),
        import('../src/errors.ts'),
      ]);
      const { fence } = config;
      // the LU the configured device lives on (EPRDEVICE: absent, device-mapper, not SCSI); the
      // heartbeat is the filesystem's own (ext4 MMP on disk.device)
      const lu = resolveLu(fence.device);
      const holderMemory: HolderMemory = { seen: null };
      return createScsiPrFence({
        device: new PrDevice(lu.device, { commandTimeoutMs: fence.commandTimeoutMs }),
        key: reservationKey(config.cluster, fence.nodeId),
        // one memory per fence: a wait longer than fenceAcquireMs is proven over several attempts
        checkHolder: (signal) =>
          watchHolder(config.disk.device, {
            timeoutMs: fence.commandTimeoutMs,
            signal,
            memory: holderMemory,
            onWatch: ({ waitMs, doneMs, first }) => {
              const line = `holder ${first.nodename || '(unnamed)'} has the filesystem by its MMP block (sequence ${first.seq}, check interval ${first.checkIntervalS} s): silent only after ${(waitMs / 1000).toFixed(0)} s without an update, ${(doneMs / 1000).toFixed(1)} s of them watched already`;
              if (waitMs - doneMs > config.deadlines.fenceAcquireMs) options.log?.warn({ mmp_wait_ms: waitMs, watched_ms: doneMs, fence_acquire_ms: config.deadlines.fenceAcquireMs }, `${line}: more than this attempt's deadline (deadlines.fenceAcquireMs); a later attempt carries the watch on`);
              else options.log?.info({ mmp_wait_ms: waitMs, watched_ms: doneMs }, line);
            },
          }),
        clearHeartbeat: (signal) => clearMmp(config.disk.device, { timeoutMs: fence.commandTimeoutMs, signal }),
        // this kernel's own filesystem (a daemon restarted under a mounted disk retakes the fence):
        // its live kmmpd writes the block, and a reset under it would be an MMP failure
        readHeartbeat: async (signal) => {
          const { filesystemHere } = await import('../src/probes/superblock.ts');
          const here = filesystemHere(config.disk.device, config.disk.fstype);
          if (here.active) return { state: 'mounted-here' as const, block: { nodename: here.evidence } };
          return heartbeatNow(config.disk.device, { timeoutMs: fence.commandTimeoutMs, signal });
        },
        drainMs: fence.drainMs,
        watchIntervalMs: fence.watchIntervalMs,
        commandTimeoutMs: fence.commandTimeoutMs,
        aptpl: fence.aptpl,
        log: options.log ?? null,
        // the daemon publishes its view; check and status take it while it is fresh (a held
        // fence's last read at most two watch intervals and a command's bound old)
        publish:
          options.role === 'daemon'
            ? (view) => {
                try {
                  stateFile.writePrStateFile(config.runDir, { version: 1, bootId: bootId(), pid: process.pid, ...view, writtenAtMs: monoNow() });
                } catch (error) {
                  options.log?.error({ err: errorLine(error) }, 'cannot publish the reservation state');
                }
              }
            : undefined,
        cached: options.role === 'reader' && options.live !== true ? () => stateFile.cachedPrStatus(stateFile.readPrStateFile(config.runDir, bootId()), 2 * fence.watchIntervalMs + fence.commandTimeoutMs) : undefined,
      });
    }
    case 'none': {
      const { createNoneFence } = await import('./none.ts');
      return createNoneFence(config.node);
    }
  }
}

/** The daemon's helper, started at once: it comes up while the daemon starts (src/lease-io.ts prestart). */
function prestarted(io: HelperLeaseIo): HelperLeaseIo {
  io.prestart();
  return io;
}
