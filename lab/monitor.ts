// The invariant monitor (issue 3): samples both nodes at 25 Hz (at least 20) and records every violation of
// S1 (the disk mounted on both nodes), S2 (mounted without holding the fence), S3 (mysqld without
// the mount) and, once VRRP has converged, the VIP on both nodes. It reads only /proc and /sys —
// each node's view through its anchor process (/proc/<anchor>/mountinfo, /proc/<anchor>/net/fib_trie),
// each node's superblock (/sys/fs/<fstype>/<its loop device>) — and the lease in the real store,
// so sampling stays cheap and never disturbs the nodes (nor hangs on a node's frozen lease storage).
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { monoNow } from '../src/clock.ts';
import { deviceNumber, parseMountinfo } from '../src/probes/mountinfo.ts';
import { DISK_FSTYPE } from './disk.ts';
import type { LabNode } from './node.ts';
import { LEASE, VIP, type PairLab } from './pair.ts';

export type Invariant = 'S1' | 'S2' | 'S3' | 'VIP';

export interface Violation {
  at: number;
  invariant: Invariant;
  detail: string;
}

/** One node in one sample. */
export interface NodeSample {
  /** the node's anchor could not be read (the node crashed, or is booting): no mountinfo, VIP or mysqld */
  down: boolean;
  /**
   * the node has the disk: its device in the anchor's mountinfo, or its superblock alive
   * ({@link superblock}) — a lazily unmounted filesystem still held open can still be written
   */
  mounted: boolean;
  /** /sys/fs/<fstype>/<kernel name of the node's device> exists (read even while the node is down) */
  superblock: boolean;
  vip: boolean;
  mysqld: number;
}

export interface Sample {
  /** wall-clock time, ms since the epoch (comparable with the ledger's acks) */
  at: number;
  /** CLOCK_MONOTONIC in ms ({@link monoNow}: the agent's clock, comparable across processes) */
  mono: number;
  nodes: Record<string, NodeSample>;
  /** the node holding the lease (v2: state "held"; v1: a fresh lock), or null */
  leaseHolder: string | null;
}

/**
 * Who holds the lease, from the lease file's text (null: no file) and, for v1, the age of its
 * `<path>.lock` directory (null: none). v2 records (`"version": 2`) say it themselves:
 * `state: "held"` names the holder, `"released"` nobody. v1 records (`{node, pid, bootId, at}`,
 * proper-lockfile in earlier versions) name the holder while the lock directory is younger than `staleMs`.
 */
export function leaseHolderFrom(text: string | null, lockAgeMs: number | null, staleMs: number = LEASE.staleMs): string | null {
  type LeaseFields = { version?: unknown; state?: unknown; node?: unknown };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text ?? '');
  } catch {
    parsed = null;
  }
  const record = typeof parsed === 'object' && parsed !== null ? (parsed as LeaseFields) : null;
  const name = (value: unknown): string | null => (typeof value === 'string' ? value : null);
  if (record?.version === 2) return record.state === 'held' ? name(record.node) : null;
  if (lockAgeMs === null || lockAgeMs > staleMs) return null;
  return name(record?.node);
}

/** The kernel's name of a block device `major:minor` (`loop3`), or null when there is none. */
export function kernelName(majorMinor: string): string | null {
  try {
    return path.basename(readlinkSync(`/sys/dev/block/${majorMinor}`));
  } catch {
    return null;
  }
}

/** Does this fib_trie (/proc/<pid>/net/fib_trie) list `address` as a local address? */
export function fibHasLocal(fibTrie: string, address: string): boolean {
  const lines = fibTrie.split('\n');
  for (let i = 0; i < lines.length - 1; i++) {
    if (lines[i]?.trim() === `|-- ${address}` && lines[i + 1]?.includes('/32 host LOCAL')) return true;
  }
  return false;
}

export class InvariantMonitor {
  readonly violations: Violation[] = [];
  readonly samples: Sample[] = [];
  /** set by the scenario once VRRP has settled; the VIP on both nodes is a violation only then */
  expectSingleVip = true;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  /** per node: its device's `major:minor` and the /sys/fs directory its superblock shows up as */
  private devices = new Map<string, { majorMinor: string; superblockDir: string | null }>();

  constructor(
    private readonly lab: PairLab,
    private readonly intervalMs = 40,
    private readonly fstype = DISK_FSTYPE,
  ) {}

  /** Resolves every node's own device (number, kernel name), then samples every `intervalMs`. */
  async start(): Promise<void> {
    for (const node of this.lab.nodes) {
      if (node.device === null) throw new Error(`monitor: node ${node.name} has no device`);
      const majorMinor = await deviceNumber(node.device);
      const name = kernelName(majorMinor);
      this.devices.set(node.name, { majorMinor, superblockDir: name === null ? null : `/sys/fs/${this.fstype}/${name}` });
    }
    // A drift-free schedule: each sample is due one interval after the previous one was *due*, so a
    // sample that ran late (a loaded machine) is followed by a quicker one instead of the whole
    // series slowing down; far behind (a stalled event loop), it starts counting afresh.
    this.running = true;
    let due = monoNow();
    const next = (): void => {
      if (!this.running) return;
      due += this.intervalMs;
      const now = monoNow();
      if (now - due > 10 * this.intervalMs) due = now;
      this.timer = setTimeout(() => {
        this.sample();
        next();
      }, Math.max(0, due - now));
    };
    next();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private mysqldCounts(): Map<string, number> {
    const byNamespace = new Map<string, string>();
    for (const node of this.lab.nodes) {
      if (node.anchorPid === null) continue;
      try {
        byNamespace.set(readlinkSync(`/proc/${node.anchorPid}/ns/mnt`), node.name);
      } catch {
        // anchor gone (node crashed)
      }
    }
    const counts = new Map<string, number>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (readFileSync(`/proc/${entry}/comm`, 'utf8') !== 'mariadbd\n') continue;
        const name = byNamespace.get(readlinkSync(`/proc/${entry}/ns/mnt`));
        if (name !== undefined) counts.set(name, (counts.get(name) ?? 0) + 1);
      } catch {
        // gone
      }
    }
    return counts;
  }

  /**
   * One node's view. The mysqld count (taken first, see {@link sample}) only counts if the anchor
   * was still readable after it: a crash kills the anchor too, and a node whose anchor vanished
   * mid-sample is "down" (nothing observable) rather than "mysqld without the mount".
   */
  private nodeView(node: LabNode, mysqld: number): NodeSample {
    const device = this.devices.get(node.name);
    const superblockDir = device?.superblockDir ?? null;
    const superblock = superblockDir !== null && existsSync(superblockDir);
    const down = { down: true, mounted: superblock, superblock, vip: false, mysqld: 0 };
    if (node.anchorPid === null) return down;
    try {
      const inMountinfo = parseMountinfo(readFileSync(`/proc/${node.anchorPid}/mountinfo`, 'utf8')).some((e) => e.majorMinor === device?.majorMinor);
      const vip = fibHasLocal(readFileSync(`/proc/${node.anchorPid}/net/fib_trie`, 'utf8'), VIP);
      return { down: false, mounted: inMountinfo || superblock, superblock, vip, mysqld };
    } catch {
      return down;
    }
  }

  /** Reads the lease in the real store on the host — never through a node's (possibly frozen) bindfs. */
  private leaseHolder(now: number): string | null {
    const read = (file: string): string | null => {
      try {
        return readFileSync(file, 'utf8');
      } catch {
        return null;
      }
    };
    let lockAgeMs: number | null = null;
    try {
      lockAgeMs = now - statSync(`${this.lab.leasePath}.lock`).mtimeMs;
    } catch {
      // no lock directory (v2, or v1 never held)
    }
    return leaseHolderFrom(read(this.lab.leasePath), lockAgeMs, LEASE.staleMs);
  }

  /**
   * Takes one sample and records its violations. mysqld is counted before the mounts are read:
   * promote mounts before it starts mysqld and demote unmounts after mysqld is gone, so this order
   * never reports a legal transition as S3, while a mysqld that really runs without the mount is
   * seen in the next sample.
   */
  sample(): Sample {
    const at = Date.now();
    const mono = monoNow();
    const mysqld = this.mysqldCounts();
    const nodes: Record<string, NodeSample> = {};
    for (const node of this.lab.nodes) nodes[node.name] = this.nodeView(node, mysqld.get(node.name) ?? 0);
    const leaseHolder = this.leaseHolder(at);
    const sample = { at, mono, nodes, leaseHolder };
    this.samples.push(sample);
    const flag = (invariant: Invariant, detail: string): void => {
      this.violations.push({ at, invariant, detail });
    };
    const names = Object.keys(nodes);
    const mounted = names.filter((n) => nodes[n]?.mounted);
    if (mounted.length > 1) flag('S1', `disk mounted on ${mounted.join(' and ')}`);
    for (const name of mounted) if (leaseHolder !== name) flag('S2', `${name} has the disk mounted but the lease is held by ${leaseHolder ?? 'nobody'}`);
    for (const name of names) if ((nodes[name]?.mysqld ?? 0) > 0 && !nodes[name]?.mounted) flag('S3', `mysqld runs on ${name} without the mount`);
    const vips = names.filter((n) => nodes[n]?.vip);
    if (this.expectSingleVip && vips.length > 1) flag('VIP', `VIP on ${vips.join(' and ')}`);
    return sample;
  }

  /**
   * The first sample taken at or after `afterMonoMs` (CLOCK_MONOTONIC ms, {@link monoNow}) in which
   * `node` had the disk mounted (mountinfo or superblock): its monotonic and wall-clock time, or null.
   */
  firstMounted(node: LabNode | string, afterMonoMs: number): { mono: number; at: number } | null {
    const name = typeof node === 'string' ? node : node.name;
    const sample = this.samples.find((s) => s.mono >= afterMonoMs && s.nodes[name]?.mounted === true);
    return sample === undefined ? null : { mono: sample.mono, at: sample.at };
  }

  /** A readable summary of the violations (first few of each kind), for assertion messages. */
  report(): string {
    if (this.violations.length === 0) return `no violation in ${this.samples.length} samples`;
    const first = this.violations.slice(0, 10).map((v) => `${new Date(v.at).toISOString()} ${v.invariant}: ${v.detail}`);
    return `${this.violations.length} violations in ${this.samples.length} samples:\n${first.join('\n')}`;
  }

  /** Samples per second actually achieved. */
  rate(): number {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (first === undefined || last === undefined || last.at === first.at) return 0;
    return ((this.samples.length - 1) * 1000) / (last.at - first.at);
  }
}
