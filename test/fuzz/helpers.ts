// What the fuzz tests share: a seeded generator (the seed printed, so a failure can be replayed
// with FUZZ_SEED=<seed>), a way to run a command's main() in this process with its stderr
// captured, and a stand-in daemon on the control socket that records what it is handed.
import { randomInt } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:net';
import { listenControl } from '../../src/control/server.ts';
import type { Desire } from '../../src/state.ts';

/** A small seeded PRNG (mulberry32): the same seed gives the same vectors. */
export class Rng {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)] as T;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** $FUZZ_SEED when set (to replay a failure), else a random one; printed by the caller. */
export function fuzzSeed(): number {
  const given = process.env.FUZZ_SEED;
  if (given !== undefined && given !== '') {
    if (!/^\d+$/.test(given)) throw new Error(`FUZZ_SEED: expected a non-negative integer, got ${JSON.stringify(given)}`);
    return Number(given);
  }
  return randomInt(0, 2 ** 31);
}

/** Runs `run` with process.stderr.write captured; returns its result and what it wrote. */
export async function withStderr<T>(run: () => Promise<T>): Promise<{ result: T; stderr: string }> {
  const original = process.stderr.write.bind(process.stderr);
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array): boolean => {
    stderr += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  });
  try {
    return { result: await run(), stderr };
  } finally {
    process.stderr.write = original;
  }
}

/** A stand-in daemon on `<runDir>/control.sock` that queues every request it is handed. */
export async function recordingDaemon(runDir: string): Promise<{ received: Desire[]; close: () => Promise<void> }> {
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const received: Desire[] = [];
  const server: Server = await listenControl(runDir, (request) => {
    if (request.op !== 'desire') return { ok: false, error: 'only desire requests here' };
    received.push(request.desire);
    return { ok: true, op: 'desire', queued: received.length };
  });
  return { received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
