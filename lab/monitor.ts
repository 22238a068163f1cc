// The invariant monitor (issue 3): samples both nodes at 25 Hz (at least 20) and records every violation of
// S1 (the disk mounted on both nodes), S2 (mounted without holding the fence), S3 (mysqld without
// the mount) and, once VRRP has converged, the VIP on both nodes. With scsi-pr the observer says
// which nodes the storage takes writes from (ClusterObservation.ableToWrite): S1 is two such
// nodes with the disk mounted, S2 one mounted without its key registered. It reads only /proc and /sys —
// each node's view through its anchor process (/proc/<anchor>/mountinfo, /proc/<anchor>/net/fib_trie),
// each node's superblock (/sys/fs/<fstype>/<its loop device>) — and the lease in the real store,
// so sampling stays cheap and never disturbs the nodes (nor hangs on a node's frozen lease storage).
import { readlinkSync } from 'node:fs';
import path from 'node:path';
import { monoNow } from '../src/clock.ts';
import type { ClusterObserver, NodeSample } from './cluster.ts';
import { LEASE } from './pair.ts';

export type { NodeSample } from './cluster.ts';

export type Invariant = 'S1' | 'S2' | 'S3' | 'VIP';

export interface Violation {
  at: number;
  invariant: Invariant;
  detail: string;
}

export interface Sample {
  /** wall-clock time, ms since the epoch (comparable with the ledger's acks) */
  at: number;
  /** CLOCK_MONOTONIC in ms ({@link monoNow}: the agent's clock, comparable across processes) */
  mono: number;
  nodes: Record<string, NodeSample>;
  /**
   * the node holding the fence, or null: lockfile, the lease (v2: state "held"; v1: a fresh lock);
   * scsi-pr, the reservation holder as the third initiator last read the keys (ClusterObservation)
   */
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
  private singleVip: 'on' | 'off' | 'resuming' = 'on';

  /**
   * Whether the VIP on both nodes is a violation. A scenario sets it false while two VIPs are
   * expected (a partition VRRP cannot tell apart) and true once VRRP has settled by its own checks.
   * Set back to true, it resumes at the first sample in which the monitor itself sees at most one
   * VIP: the scenario's checks (ssh, `check`) may see the VIP gone before this monitor's samples do
   * (the VM lab's samplers stream with a lag), and that lag is not a second VIP.
   */
  get expectSingleVip(): boolean {
    return this.singleVip !== 'off';
  }

  set expectSingleVip(value: boolean) {
    if (!value) this.singleVip = 'off';
    else if (this.singleVip === 'off') this.singleVip = 'resuming';
  }
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  /**
   * @param observer how the nodes are seen (lab/netns-observer.ts for the netns lab)
   * @param intervalMs sampling period (40 ms: 25 Hz)
   */
  constructor(
    private readonly observer: ClusterObserver,
    private readonly intervalMs = 40,
  ) {}

  /** Starts the observer, then samples every `intervalMs`. */
  async start(): Promise<void> {
    await this.observer.start();
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
    this.observer.stop();
  }

  /** Takes one sample and records its violations of S1, S2, S3 and the single VIP. */
  sample(): Sample {
    const at = Date.now();
    const mono = monoNow();
    const { nodes, leaseHolder, leaseHeldBy, ableToWrite } = this.observer.observe();
    const sample = { at, mono, nodes, leaseHolder };
    this.samples.push(sample);
    const flag = (invariant: Invariant, detail: string): void => {
      this.violations.push({ at, invariant, detail });
    };
    const names = Object.keys(nodes);
    const mounted = names.filter((n) => nodes[n]?.mounted);
    // across nodes only samples of the same moment count (NodeSample.behind)
    const current = (n: string): boolean => nodes[n]?.behind !== true;
    if (ableToWrite === undefined) {
      if (mounted.length > 1 && mounted.every(current)) flag('S1', `disk mounted on ${mounted.join(' and ')}`);
      for (const name of mounted) if (!(leaseHeldBy?.[name] ?? leaseHolder === name)) flag('S2', `${name} has the disk mounted but the lease is held by ${leaseHolder ?? 'nobody'}`);
    } else {
      // scsi-pr: a mount the storage refuses to write through (the key removed) is a fenced zombie's
      const writers = mounted.filter((n) => ableToWrite[n] === true);
      if (writers.length > 1 && writers.every(current)) flag('S1', `disk mounted on ${writers.join(' and ')} and the storage takes writes from both`);
      for (const name of writers) if (!(leaseHeldBy?.[name] ?? false)) flag('S2', `${name} has the disk mounted and the storage takes its writes, but its key is not registered (reservation: ${leaseHolder ?? 'none'})`);
    }
    for (const name of names) if ((nodes[name]?.mysqld ?? 0) > 0 && !nodes[name]?.mounted) flag('S3', `mysqld runs on ${name} without the mount`);
    const vips = names.filter((n) => nodes[n]?.vip);
    if (this.singleVip === 'resuming' && vips.length <= 1) this.singleVip = 'on';
    if (this.singleVip === 'on' && vips.length > 1 && vips.every(current)) flag('VIP', `VIP on ${vips.join(' and ')}`);
    return sample;
  }

  /**
   * The first sample taken at or after `afterMonoMs` (CLOCK_MONOTONIC ms, {@link monoNow}) in which
   * `node` had the disk mounted (mountinfo or superblock): its monotonic and wall-clock time, or null.
   */
  firstMounted(node: { name: string } | string, afterMonoMs: number): { mono: number; at: number } | null {
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
