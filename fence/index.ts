// Picks the fencing method named in the configuration. Each method is imported only when used,
// so `check` on a node with `none` never loads the lease code.
import type { Config } from '../src/config/types.ts';
import { bootId, machineId } from '../src/proc.ts';
import type { Fence } from './types.ts';
import type { FenceLog } from './lockfile.ts';
import type { HelperLeaseIo } from '../src/lease-io.ts';

export type { Fence, FenceDescription, FenceLostListener, FenceStatus } from './types.ts';

export interface CreateFenceOptions {
  /**
   * `daemon`: lease I/O through a helper process that is abandoned when storage hangs, tenure
   * published in runDir; `reader` (`check`, `status`): in-process reads raced with a timer.
   */
  role: 'daemon' | 'reader';
  log?: FenceLog | null;
}

/** Builds the configured fence (`fence.method`) for this node. */
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
