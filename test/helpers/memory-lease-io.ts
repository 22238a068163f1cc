// A LeaseIo over an in-memory "shared storage" for unit tests of the lease logic: several nodes'
// views share one store, and each view can hang on its own (every call then waits for its bound
// and rejects ETIMEDOUT, as the real bounded I/O does). A write given up on while hung can be made
// to land later (`landLate`), as a write stuck in an NFS client does.
import type { StatsFs } from 'node:fs';
import { FenceAgentError } from '../../src/errors.ts';
import type { LeaseIo, ReplaceResult } from '../../src/lease-io.ts';

export class LeaseStore {
  readonly files = new Map<string, string>();
  /** every successful replace, in order */
  readonly writes: { path: string; text: string }[] = [];
  read(path: string): string | null {
    const text = this.files.get(path);
    return text === undefined || text === '' ? null : text;
  }
}

export interface MemoryLeaseIo extends LeaseIo {
  /** every call waits for its timeout and rejects ETIMEDOUT while true */
  hung: boolean;
  /** writes given up on while hung; `landLate()` applies them */
  readonly stuckWrites: { path: string; expected: string | null; text: string }[];
  landLate(): void;
}

const timedOut = (op: string, path: string, ms: number): FenceAgentError => new FenceAgentError('ETIMEDOUT', `${op} ${path} did not return within ${ms} ms`);

export function memoryLeaseIo(store: LeaseStore, latencyMs = 2): MemoryLeaseIo {
  const io: MemoryLeaseIo = {
    hung: false,
    stuckWrites: [],
    async read(path, timeoutMs) {
      if (io.hung) {
        await new Promise((resolve) => setTimeout(resolve, timeoutMs));
        throw timedOut('read', path, timeoutMs);
      }
      await new Promise((resolve) => setTimeout(resolve, latencyMs));
      return store.read(path);
    },
    async replaceIf(path, expected, text, timeoutMs): Promise<ReplaceResult> {
      if (io.hung) {
        io.stuckWrites.push({ path, expected, text });
        await new Promise((resolve) => setTimeout(resolve, timeoutMs));
        throw timedOut('replaceIf', path, timeoutMs);
      }
      await new Promise((resolve) => setTimeout(resolve, latencyMs));
      const current = store.read(path);
      if (current !== expected) return { replaced: false, current };
      store.files.set(path, text);
      store.writes.push({ path, text });
      return { replaced: true, current };
    },
    statfs: () => Promise.reject<StatsFs>(new Error('not in memory')),
    deviceOf: () => Promise.resolve('0:0'),
    close: () => undefined,
    landLate() {
      // the compare passed before the hang: the write lands whatever is there now
      for (const write of io.stuckWrites.splice(0)) {
        store.files.set(write.path, write.text);
        store.writes.push({ path: write.path, text: write.text });
      }
    },
  };
  return io;
}
