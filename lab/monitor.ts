// The invariant monitor (issue 3): samples both nodes at 25 Hz (at least 20) and records every violation of
// S1 (the disk mounted on both nodes), S2 (mounted without holding the fence), S3 (mysqld without
// the mount) and, once VRRP has converged, the VIP on both nodes. It reads only /proc — each
// node's view through its anchor process (/proc/<anchor>/mountinfo, /proc/<anchor>/net/fib_trie)
// and the lease — so sampling stays cheap and never disturbs the nodes.
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { deviceNumber, parseMountinfo } from '../src/probes/mountinfo.ts';
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
  /** the node's anchor could not be read (the node crashed, or is booting): nothing observable */
  down: boolean;
  mounted: boolean;
  vip: boolean;
  mysqld: number;
}

export interface Sample {
  at: number;
  nodes: Record<string, NodeSample>;
  /** the node holding a fresh lease, or null */
  leaseHolder: string | null;
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
  private majorMinor = '';

  constructor(
    private readonly lab: PairLab,
    private readonly intervalMs = 40,
  ) {}

  async start(): Promise<void> {
    this.majorMinor = await deviceNumber(this.lab.disk?.device ?? '');
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
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
    const down = { down: true, mounted: false, vip: false, mysqld: 0 };
    if (node.anchorPid === null) return down;
    try {
      const mounted = parseMountinfo(readFileSync(`/proc/${node.anchorPid}/mountinfo`, 'utf8')).some((e) => e.majorMinor === this.majorMinor);
      const vip = fibHasLocal(readFileSync(`/proc/${node.anchorPid}/net/fib_trie`, 'utf8'), VIP);
      return { down: false, mounted, vip, mysqld };
    } catch {
      return down;
    }
  }

  private leaseHolder(now: number): string | null {
    try {
      const age = now - statSync(`${this.lab.leasePath}.lock`).mtimeMs;
      if (age > LEASE.staleMs) return null;
      return (JSON.parse(readFileSync(this.lab.leasePath, 'utf8')) as { node: string | null }).node;
    } catch {
      return null;
    }
  }

  /**
   * Takes one sample and records its violations. mysqld is counted before the mounts are read:
   * promote mounts before it starts mysqld and demote unmounts after mysqld is gone, so this order
   * never reports a legal transition as S3, while a mysqld that really runs without the mount is
   * seen in the next sample.
   */
  sample(): Sample {
    const at = Date.now();
    const mysqld = this.mysqldCounts();
    const nodes: Record<string, NodeSample> = {};
    for (const node of this.lab.nodes) nodes[node.name] = this.nodeView(node, mysqld.get(node.name) ?? 0);
    const leaseHolder = this.leaseHolder(at);
    const sample = { at, nodes, leaseHolder };
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
