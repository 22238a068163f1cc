// Who holds the fence, for the metrics, from what this daemon already knows — never a read of the
// storage (a scrape must not wait on a hung NFS server or LU): the fence this process holds, or,
// not holding, the peer's lease record as the lockfile fence's observer last read it (published
// in `<runDir>/lease-tenure.json`, local). scsi-pr reads no keys while not holding: unknown.
import { readTenureFile } from '../../fence/lease/tenure-file.ts';
import type { FenceStatus } from '../../fence/types.ts';
import type { FenceView } from './types.ts';

/**
 * @param held what this daemon holds (the daemon's heldStatus: no storage read)
 * @param runDir, bootId where the lockfile fence publishes its observation, and this boot
 */
export function fenceView(method: FenceView['method'], held: FenceStatus, runDir: string, bootId: string): FenceView {
  if (method === 'none') return { method, held: null, holder: null };
  if (held.held === true) return { method, held: true, holder: held.holder };
  if (method !== 'lockfile' || held.holder !== null) return { method, held: false, holder: held.holder };
  const observed = readTenureFile(runDir, bootId)?.observing?.holder ?? null;
  // `unknown`: the observer's last read failed; not a holder's name
  return { method, held: false, holder: observed === 'unknown' ? null : observed };
}
