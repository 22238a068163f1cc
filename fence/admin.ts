// What an operator can do to the fence by hand (`fence-agent fence show`, `fence-agent fence clear`,
// src/commands/fence.ts): read it whole from the storage, and clear a fence a dead node left
// behind. Clearing is guarded, as fence_scsi's unfence and sbd's `message clear` expect an
// operator to have looked first: it is refused while this node has the filesystem (a live
// superblock), while a holder is seen alive on the storage (the lease record changing; the ext4
// MMP sequence moving), and without the operator's word that the peer is down.
import type { Config, LockfileFenceConfig, ScsiPrFenceConfig } from '../src/config/types.ts';
import { FenceAgentError, errorLine } from '../src/errors.ts';
import { monoNow } from '../src/clock.ts';
import { bootId, machineId } from '../src/proc.ts';
import { filesystemHere } from '../src/probes/superblock.ts';
import type { LeaseIo } from '../src/lease-io.ts';
import { describeHolder, newNonce, parseLease, serializeLease, type LeaseRecord } from './lease/record.ts';
import { formatKey, reservationKey } from './scsi-pr/key.ts';
import type { PrDevice } from './scsi-pr/sg-persist.ts';
import type { HolderVerdict } from './scsi-pr/mmp.ts';

export type FenceView =
  | { method: 'none' }
  | {
      method: 'lockfile';
      path: string;
      /** free: no record or a released one; unreadable: not a record this agent reads (held by someone unknown) */
      state: 'free' | 'held' | 'unreadable';
      record: LeaseRecord | null;
      /** this node's name; the record may name it */
      thisNode: string;
    }
  | {
      method: 'scsi-pr';
      /** the LU the commands went to */
      device: string;
      generation: number;
      thisNodeKey: string;
      keys: { key: string; thisNode: boolean }[];
      reservation: { key: string; type: number; scope: string; thisNode: boolean } | null;
      /** READ FULL STATUS lines (keys with their initiators' transport IDs), or null when the target did not give them */
      fullStatus: string[] | null;
      fullStatusError: string | null;
    };

/** What the guarded operations use; tests put fakes here. */
export interface FenceAdminDeps {
  /** lockfile: the bounded lease I/O (src/lease-io.ts createInlineLeaseIo) */
  leaseIo?: LeaseIo;
  /** scsi-pr: the LU's PR commands */
  prDevice?: PrDevice;
  /** scsi-pr: watches the filesystem's MMP block for a live holder (fence/scsi-pr/mmp.ts watchHolder on disk.device) */
  watchHolder?: () => Promise<HolderVerdict>;
  /** whether this node's kernel has the shared filesystem (src/probes/superblock.ts) */
  filesystemHere?: () => { active: boolean; evidence: string };
  sleep?: (ms: number) => Promise<void>;
  /** monotonic ms (default src/clock.ts monoNow); a fake one goes with a fake `sleep` */
  now?: () => number;
  /** lines about progress (the watch before a clear) */
  note?: (line: string) => void;
}

const refused = (why: string): FenceAgentError => new FenceAgentError('EFENCEINUSE', `fence clear refused: ${why}`, { exitCode: 1 });

// a device this node cannot see cannot be mounted here (filesystemHere: unseen → not active)
const defaultFilesystemHere = (config: Config) => (): { active: boolean; evidence: string } => filesystemHere(config.disk.device, config.disk.fstype);

async function leaseIoOf(deps: FenceAdminDeps): Promise<LeaseIo> {
  return deps.leaseIo ?? (await import('../src/lease-io.ts')).createInlineLeaseIo();
}

async function prDeviceOf(config: Config, fence: ScsiPrFenceConfig, deps: FenceAdminDeps): Promise<PrDevice> {
  if (deps.prDevice) return deps.prDevice;
  const [{ PrDevice }, { resolveLu }] = await Promise.all([import('./scsi-pr/sg-persist.ts'), import('./scsi-pr/device.ts')]);
  return new PrDevice(resolveLu(fence.device).device, { commandTimeoutMs: fence.commandTimeoutMs });
}

/**
 * Reads the fence from the storage: the lease record, or the LU's registrations, reservation and
 * (where the target gives it) READ FULL STATUS. Read-only.
 * @throws FenceAgentError from the storage (`ETIMEDOUT` past the method's bound, `EPR*` from sg_persist, `EPRDEVICE`)
 */
export async function showFence(config: Config, deps: FenceAdminDeps = {}): Promise<FenceView> {
  const { fence } = config;
  if (fence.method === 'none') return { method: 'none' };
  if (fence.method === 'lockfile') {
    const view = parseLease(await (await leaseIoOf(deps)).read(fence.path, fence.ioTimeoutMs));
    return { method: 'lockfile', path: fence.path, state: view.kind, record: view.kind === 'unreadable' ? null : view.record, thisNode: config.node };
  }
  const device = await prDeviceOf(config, fence, deps);
  const ours = reservationKey(config.cluster, fence.nodeId);
  const keys = await device.readKeys();
  const reservation = await device.readReservation();
  let fullStatus: string[] | null = null;
  let fullStatusError: string | null = null;
  try {
    fullStatus = await device.readFullStatus();
  } catch (error) {
    fullStatusError = errorLine(error);
  }
  return {
    method: 'scsi-pr',
    device: device.device,
    generation: keys.generation,
    thisNodeKey: formatKey(ours),
    keys: keys.keys.map((key) => ({ key: formatKey(key), thisNode: key === ours })),
    reservation: reservation.holder === null ? null : { key: formatKey(reservation.holder.key), type: reservation.holder.type, scope: reservation.holder.scope, thisNode: reservation.holder.key === ours },
    fullStatus,
    fullStatusError,
  };
}

/**
 * Clears a fence a dead node left (lockfile: the record replaced by a released one naming this
 * node; scsi-pr: this node registers, then CLEAR removes every registration and the reservation).
 * Idempotent: a free fence is left as it is. Call only once the operator has checked that the
 * peer is down (`confirmed`), and with this node's daemon not holding the fence.
 * @returns one line saying what was done
 * @throws FenceAgentError `EUSAGE` (exit 2) without `confirmed`; `EFENCEINUSE` (exit 1) while
 *   this node has the filesystem or a holder is seen alive; storage errors as {@link showFence}
 */
export async function clearFence(config: Config, confirmed: boolean, deps: FenceAdminDeps = {}): Promise<string> {
  if (!confirmed) {
    throw new FenceAgentError('EUSAGE', 'fence clear: removes the fence a node holds; check that the peer is powered off or cut from the storage, then run it again with --yes-i-have-checked-the-peer', { exitCode: 2 });
  }
  const here = (deps.filesystemHere ?? defaultFilesystemHere(config))();
  if (here.active) throw refused(`this node has the filesystem (${here.evidence}): demote it first`);
  const { fence } = config;
  if (fence.method === 'none') return 'fence.method none: nothing to clear';
  if (fence.method === 'lockfile') return clearLease(config, fence, deps);
  return clearReservation(config, fence, deps);
}

async function clearLease(config: Config, fence: LockfileFenceConfig, deps: FenceAdminDeps): Promise<string> {
  const io = await leaseIoOf(deps);
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = deps.now ?? monoNow;
  const first = await io.read(fence.path, fence.ioTimeoutMs);
  const view = parseLease(first);
  if (view.kind === 'free') return `lease ${fence.path} is free already: nothing to clear`;
  // a live holder rewrites its record every updateMs: watch it as long as a peer would before a takeover
  const what = view.kind === 'held' ? `held by ${describeHolder(view.record)}` : 'unreadable (a record this agent does not read)';
  deps.note?.(`lease ${fence.path} ${what}: watching it for ${(fence.takeoverAfterMs / 1000).toFixed(1)} s (fence.takeoverAfterMs) for a live holder`);
  const watchedFrom = now();
  while (now() - watchedFrom < fence.takeoverAfterMs) {
    await sleep(Math.min(fence.updateMs, Math.max(0, fence.takeoverAfterMs - (now() - watchedFrom))));
    const again = await io.read(fence.path, fence.ioTimeoutMs);
    if (again !== first) throw refused(`the lease record changed while watched (${what}): its holder is alive`);
  }
  const released: LeaseRecord = { version: 2, state: 'released', node: config.node, bootId: bootId(), machineId: machineId(), pid: process.pid, nonce: newNonce(), counter: 0, writtenAt: new Date().toISOString() };
  const result = await io.replaceIf(fence.path, first, serializeLease(released), fence.ioTimeoutMs);
  if (!result.replaced) throw refused(`the lease record changed just before the clear (${what}): its holder is alive`);
  return `lease ${fence.path} cleared: it was ${what}, unchanged for ${((now() - watchedFrom) / 1000).toFixed(1)} s; now released by ${config.node}`;
}

async function clearReservation(config: Config, fence: ScsiPrFenceConfig, deps: FenceAdminDeps): Promise<string> {
  const device = await prDeviceOf(config, fence, deps);
  const keys = await device.readKeys();
  const reservation = await device.readReservation();
  if (keys.keys.length === 0 && reservation.holder === null) return `${device.device}: no registration and no reservation: nothing to clear`;
  const watch = deps.watchHolder ?? (async () => (await import('./scsi-pr/mmp.ts')).watchHolder(config.disk.device, { timeoutMs: fence.commandTimeoutMs }));
  deps.note?.(`${device.device}: ${keys.keys.length} registration(s), reservation ${reservation.holder === null ? 'none' : formatKey(reservation.holder.key)}: watching the filesystem's MMP block for a live holder`);
  const holder = await watch();
  if (holder.state === 'alive' || holder.state === 'fsck') throw refused(`${config.disk.device} is in use by a live kernel (MMP ${holder.state === 'fsck' ? 'says e2fsck runs' : `sequence moved within ${(holder.waitedMs / 1000).toFixed(1)} s`})`);
  const ours = reservationKey(config.cluster, fence.nodeId);
  await device.registerIgnore(ours);
  await device.clear(ours);
  const after = await device.readKeys();
  if (after.keys.length > 0) throw new FenceAgentError('EFENCE', `${device.device}: CLEAR accepted, yet keys remain: ${after.keys.map(formatKey).join(', ')}`, { exitCode: 1 });
  return `${device.device} cleared: ${keys.keys.length} registration(s) (${keys.keys.map(formatKey).join(', ') || 'none'}) and the reservation ${reservation.holder === null ? '(none)' : `of ${formatKey(reservation.holder.key)}`} removed; MMP ${holder.state}`;
}
