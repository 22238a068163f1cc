// Method `none`: no fencing at all. For tests and single-node trials only; the daemon warns at
// every start and every promotion that the shared disk is not protected.
import type { Fence, FenceStatus } from './types.ts';

export const NONE_WARNING = 'fence method "none": the shared disk is NOT protected against a second writer';

export function createNoneFence(node: string): Fence {
  const status: FenceStatus = { held: null, holder: null, registrants: [], detail: 'no fencing (method none)' };
  return {
    describe: () => ({ method: 'none', target: null, identity: node, warnings: [NONE_WARNING] }),
    acquire: () => Promise.resolve(status),
    release: () => Promise.resolve(),
    verify: () => Promise.resolve(status),
    onLost: () => undefined,
    start: () => undefined,
    stop: () => undefined,
    mayWrite: () => null,
    holding: () => false,
  };
}
