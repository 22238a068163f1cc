// Method `lockfile`: a lease on a file both nodes see (an NFS path), held with proper-lockfile.
//
// proper-lockfile takes the lease with an atomic `mkdir <path>.lock` and refreshes that
// directory's mtime every `updateMs`; a lease not refreshed for `staleMs` is stale and the next
// `lock()` takes it over. The lease file itself records who holds it (node, pid, boot id).
//
// This fence is COOPERATIVE: it serialises well-behaved nodes but cannot stop a frozen node that
// wakes up and writes. Only storage-side fencing (SCSI-3 PR) does that. The README says so.
import * as fs from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { mtimeMsBounded, readFileBounded } from '../src/bounded-io.ts';
import { FenceAgentError } from '../src/errors.ts';
import { sleep } from '../src/deadline.ts';
import { bootId, isAlive } from '../src/proc.ts';
import type { LockfileFenceConfig } from '../src/config/types.ts';
import type { Fence, FenceLostListener, FenceStatus } from './types.ts';

/** What the lease file says about its holder. */
export interface LeaseRecord {
  node: string | null;
  pid: number;
  bootId: string;
  /** ISO time of acquisition, or of release when `node` is null */
  at: string;
}

const RETRY_MS = 250;

// proper-lockfile removes every lock it holds when the process exits (signal-exit), using
// `options.fs.rmdirSync`. For the lease that is wrong: a daemon that crashes while mysqld keeps
// writing must NOT free the disk for the peer at once. With this fs the lease stays until it is
// released on purpose, reclaimed by this node's next daemon, or goes stale (`staleMs`).
const leaseFs = { ...fs, rmdirSync: (): void => undefined };

/** Default bound of one read of the lease (a child process; see src/bounded-io.ts). */
export const LEASE_IO_TIMEOUT_MS = 2000;

async function readRecord(leasePath: string, timeoutMs: number): Promise<LeaseRecord | null> {
  const text = await readFileBounded(leasePath, timeoutMs);
  try {
    const record = JSON.parse(text ?? '') as Partial<LeaseRecord>;
    return typeof record.pid === 'number' ? (record as LeaseRecord) : null;
  } catch {
    return null;
  }
}

/** The lease names `node` but its process on this very boot of this host is gone. */
function isOwnDeadLease(record: LeaseRecord | null, node: string): boolean {
  return record !== null && record.node === node && record.bootId === bootId() && record.pid !== process.pid && !(isAlive(record.pid));
}

export function createLockfileFence(config: LockfileFenceConfig, node: string): Fence {
  const lockDir = `${config.path}.lock`;
  let release: (() => Promise<void>) | null = null;
  const listeners: FenceLostListener[] = [];

  const writeRecord = (holder: string | null): Promise<void> =>
    writeFile(config.path, `${JSON.stringify({ node: holder, pid: process.pid, bootId: bootId(), at: new Date().toISOString() })}\n`);

  // Same rule as proper-lockfile's check() (isLockStale: mtime older than `stale`), but read through
  // bounded child processes: a lease on dead NFS must not hang `check` or the daemon.
  const verify = async (timeoutMs = LEASE_IO_TIMEOUT_MS): Promise<FenceStatus> => {
    const [mtimeMs, record] = await Promise.all([mtimeMsBounded(lockDir, timeoutMs), readRecord(config.path, timeoutMs)]);
    const base = { registrants: [] as string[] };
    const ageMs = mtimeMs === null ? null : Math.max(0, Date.now() - mtimeMs);
    if (ageMs === null || ageMs > config.staleMs) {
      return { ...base, held: false, holder: null, detail: `lease ${config.path} free${ageMs === null ? '' : ' (stale)'}` };
    }
    const holder = record?.node ?? 'unknown';
    const age = (ageMs / 1000).toFixed(1);
    const who = `${holder}${record === null ? '' : ` (pid ${record.pid})`}`;
    if (holder === node && isOwnDeadLease(record, node)) {
      return { ...base, held: false, holder, detail: `lease ${config.path} names ${who} but that process is gone` };
    }
    return { ...base, held: holder === node, holder, detail: `lease ${config.path} held by ${who}, refreshed ${age} s ago` };
  };

  const acquire = async (signal: AbortSignal): Promise<FenceStatus> => {
    if (release !== null) {
      const status = await verify();
      if (status.held === true) return status;
      release = null; // lost without our noticing yet; take it again below
    }
    await writeFile(config.path, '', { flag: 'a' }); // the lease file must exist
    const { default: lockfile } = await import('proper-lockfile'); // only holders need it; `check` never loads it
    for (;;) {
      try {
        release = await lockfile.lock(config.path, {
          stale: config.staleMs,
          realpath: false,
          update: config.updateMs,
          retries: 0,
          fs: leaseFs,
          onCompromised: (error: Error) => {
            release = null;
            const reason = `lease ${config.path} lost: ${error.message}`;
            for (const listener of listeners) listener(reason);
          },
        });
        if (signal.aborted) {
          // The caller gave up while we were locking: do not keep a lease nobody knows about.
          await release().catch(() => undefined);
          release = null;
          throw signal.reason as Error;
        }
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
        const record = await readRecord(config.path, LEASE_IO_TIMEOUT_MS);
        if (isOwnDeadLease(record, node)) {
          await rm(lockDir, { recursive: true, force: true }); // our own dead daemon's lease: reclaim now
          continue;
        }
        if (signal.aborted) {
          throw new FenceAgentError('EFENCE', `lease ${config.path} is held by ${record?.node ?? 'another node'}`, { cause: signal.reason });
        }
        await sleep(RETRY_MS, signal).catch(() => undefined);
      }
    }
    await writeRecord(node);
    return verify();
  };

  return {
    describe: () => ({ method: 'lockfile', target: config.path, identity: node }),
    acquire,
    verify,
    async release() {
      if (release !== null) {
        const done = release;
        release = null;
        await done().catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ERELEASED' && error.code !== 'ENOTACQUIRED') throw error;
        });
        await writeRecord(null);
        return;
      }
      // Not held by this process: release only a lease our own dead process left behind.
      const record = await readRecord(config.path, LEASE_IO_TIMEOUT_MS);
      if (isOwnDeadLease(record, node)) {
        await rm(lockDir, { recursive: true, force: true });
        await writeRecord(null);
      }
    },
    onLost(listener) {
      listeners.push(listener);
    },
  };
}
