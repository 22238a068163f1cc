// How the invariant monitor sees the netns lab's nodes: through /proc and /sys only, never
// disturbing them. Each node is seen through its anchor process (`sleep infinity` in the node's
// namespaces): /proc/<anchor>/mountinfo and /proc/<anchor>/net/fib_trie; its mysqld by mount
// namespace; its superblock at /sys/fs/<fstype>/<kernel name of its own loop device>; the lease in
// the real store on the host (never through a node's possibly frozen bindfs).
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { deviceNumber, parseMountinfo } from '../src/probes/mountinfo.ts';
import type { ClusterObservation, ClusterObserver, NodeSample } from './cluster.ts';
import { DISK_FSTYPE } from './disk.ts';
import { fibHasLocal, kernelName, leaseHolderFrom } from './monitor.ts';

/** What the observer needs of a netns lab node (lab/node.ts LabNode). */
export interface ObservedNode {
  readonly name: string;
  /** the node's anchor process; may be stale after the node was crashed and booted by another process */
  anchorPid: number | null;
  readonly device: string | null;
  /** pids of the node's processes called `sleep` (to find its anchor again), if the node offers it */
  pidsNamed?(...names: string[]): number[];
}

/** What the observer needs of the lab. */
export interface ObservedLab {
  readonly nodes: readonly ObservedNode[];
  /** the lease file in the real store on the host */
  readonly leasePath: string;
}

/** How often a node whose anchor is gone is searched for a new one (a node booted again), ms. */
const REDISCOVER_MS = 200;

export class NetnsObserver implements ClusterObserver {
  private readonly devices = new Map<string, { majorMinor: string; superblockDir: string | null }>();
  private readonly anchors = new Map<string, { pid: number; ns: string }>();
  private readonly searchedAt = new Map<string, number>();

  constructor(
    private readonly lab: ObservedLab,
    private readonly vip: string,
    private readonly leaseStaleMs: number,
    private readonly fstype = DISK_FSTYPE,
  ) {}

  get nodeNames(): readonly string[] {
    return this.lab.nodes.map((n) => n.name);
  }

  /** Resolves every node's own device (number, kernel name). */
  async start(): Promise<void> {
    for (const node of this.lab.nodes) {
      if (node.device === null) throw new Error(`monitor: node ${node.name} has no device`);
      const majorMinor = await deviceNumber(node.device);
      const name = kernelName(majorMinor);
      this.devices.set(node.name, { majorMinor, superblockDir: name === null ? null : `/sys/fs/${this.fstype}/${name}` });
    }
  }

  stop(): void {
    // nothing to release: every read is synchronous
  }

  /**
   * The node's live anchor and its mount namespace, or null. A node crashed and booted again by
   * another process (the watchdog supervisor) has a new anchor: search for it, at most every
   * REDISCOVER_MS, among the node's processes named `sleep`.
   */
  private anchorOf(node: ObservedNode): { pid: number; ns: string } | null {
    const known = this.anchors.get(node.name) ?? (node.anchorPid === null ? null : this.anchorAt(node.anchorPid));
    if (known !== null && this.alive(known)) {
      this.anchors.set(node.name, known);
      return known;
    }
    this.anchors.delete(node.name);
    const now = Date.now();
    if (node.pidsNamed === undefined || now - (this.searchedAt.get(node.name) ?? 0) < REDISCOVER_MS) return null;
    this.searchedAt.set(node.name, now);
    for (const pid of node.pidsNamed('sleep')) {
      const found = this.anchorAt(pid);
      if (found !== null) {
        node.anchorPid = pid;
        this.anchors.set(node.name, found);
        return found;
      }
    }
    return null;
  }

  private anchorAt(pid: number): { pid: number; ns: string } | null {
    try {
      return { pid, ns: readlinkSync(`/proc/${pid}/ns/mnt`) };
    } catch {
      return null;
    }
  }

  private alive(anchor: { pid: number; ns: string }): boolean {
    try {
      return readlinkSync(`/proc/${anchor.pid}/ns/mnt`) === anchor.ns && readFileSync(`/proc/${anchor.pid}/comm`, 'utf8') === 'sleep\n';
    } catch {
      return false;
    }
  }

  private mysqldCounts(): Map<string, number> {
    const byNamespace = new Map<string, string>();
    for (const node of this.lab.nodes) {
      const anchor = this.anchorOf(node);
      if (anchor !== null) byNamespace.set(anchor.ns, node.name);
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
   * One node's view. The mysqld count (taken first, see {@link observe}) only counts if the anchor
   * was still readable after it: a crash kills the anchor too, and a node whose anchor vanished
   * mid-sample is "down" (nothing observable) rather than "mysqld without the mount".
   */
  private nodeView(node: ObservedNode, mysqld: number): NodeSample {
    const device = this.devices.get(node.name);
    const superblockDir = device?.superblockDir ?? null;
    const superblock = superblockDir !== null && existsSync(superblockDir);
    const down = { down: true, mounted: superblock, superblock, vip: false, mysqld: 0 };
    const anchor = this.anchors.get(node.name);
    if (anchor === undefined) return down;
    try {
      const inMountinfo = parseMountinfo(readFileSync(`/proc/${anchor.pid}/mountinfo`, 'utf8')).some((e) => e.majorMinor === device?.majorMinor);
      const vip = fibHasLocal(readFileSync(`/proc/${anchor.pid}/net/fib_trie`, 'utf8'), this.vip);
      return { down: false, mounted: inMountinfo || superblock, superblock, vip, mysqld };
    } catch {
      return down;
    }
  }

  /** Reads the lease in the real store on the host — never through a node's (possibly frozen) bindfs. */
  private leaseHolder(): string | null {
    const read = (file: string): string | null => {
      try {
        return readFileSync(file, 'utf8');
      } catch {
        return null;
      }
    };
    let lockAgeMs: number | null = null;
    try {
      lockAgeMs = Date.now() - statSync(`${this.lab.leasePath}.lock`).mtimeMs;
    } catch {
      // no lock directory (v2, or v1 never held)
    }
    return leaseHolderFrom(read(this.lab.leasePath), lockAgeMs, this.leaseStaleMs);
  }

  /**
   * Both nodes now. mysqld is counted before the mounts are read: promote mounts before it starts
   * mysqld and demote unmounts after mysqld is gone, so this order never reports a legal transition
   * as S3, while a mysqld that really runs without the mount is seen in the next sample.
   */
  observe(): ClusterObservation {
    const mysqld = this.mysqldCounts();
    const nodes: Record<string, NodeSample> = {};
    for (const node of this.lab.nodes) nodes[node.name] = this.nodeView(node, mysqld.get(node.name) ?? 0);
    return { nodes, leaseHolder: this.leaseHolder() };
  }
}
