// Picks the fencing method named in the configuration. Each method is imported only when used,
// so `check` on a node with `none` never loads proper-lockfile.
import type { Config } from '../src/config/types.ts';
import type { Fence } from './types.ts';

export type { Fence, FenceDescription, FenceLostListener, FenceStatus } from './types.ts';

/** Builds the configured fence (`fence.method`) for this node. */
export async function createFence(config: Config): Promise<Fence> {
  switch (config.fence.method) {
    case 'lockfile': {
      const { createLockfileFence } = await import('./lockfile.ts');
      return createLockfileFence(config.fence, config.node);
    }
    case 'none': {
      const { createNoneFence } = await import('./none.ts');
      return createNoneFence(config.node);
    }
  }
}
