// One real node on this machine: a loop-device ext4 disk holding a MariaDB datadir, a network
// namespace with an interface for the VIP, a private mount namespace, and an agent configuration
// using the lockfile fence on a lease directory the node reaches through its own FUSE mount
// (bindfs of `<dir>/lease-store` on `<dir>/lease`), so that the lease storage can be made to hang.
// Used by the integration tests and the README demo.
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createLoopDisk, DISK_FSTYPE, type LoopDisk } from './disk.ts';
import { LabNode } from './node.ts';

export interface SingleNodeLab {
  dir: string;
  node: LabNode;
  disk: LoopDisk;
  vip: { address: string; prefix: number; interface: string; cidr: string };
  mountpoint: string;
  /** the lease file in the real store, as the host (tests, a peer fixture) reads and writes it */
  leasePath: string;
  /** the agent's `fence.path`: the same file through the node's bindfs mount (only the node sees it) */
  agentLeasePath: string;
  /** the agent configuration as written to node.configPath */
  config: Record<string, unknown>;
  /** keepalived's part, by hand: put the VIP on the node / take it away */
  addVip(): Promise<void>;
  delVip(): Promise<void>;
  /** SIGSTOPs the node's bindfs: the agent's lease accesses hang (the host's view of the store does not) */
  freezeLeaseStorage(): void;
  /** SIGCONTs the node's bindfs */
  thawLeaseStorage(): void;
  /** removes everything the lab created, pass or fail; safe to call twice */
  destroy(): Promise<void>;
}

export interface SingleNodeOptions {
  fence?: 'lockfile' | 'none';
  /** overrides merged into the generated configuration's `deadlines` */
  deadlines?: Record<string, number>;
}

let counter = 0;

/** Lab deadlines: short enough for tests, long enough for MariaDB on a slow, shared machine. */
export const LAB_DEADLINES = {
  checkMs: 3000,
  fenceAcquireMs: 8000,
  mountMs: 15000,
  mysqldStartMs: 30000,
  sqlReadyMs: 45000,
  mysqldStopMs: 30000,
  mysqldTermGraceMs: 15000,
  unmountMs: 8000,
  unmountSignalDelayMs: 300,
};

export async function createSingleNodeLab(options: SingleNodeOptions = {}): Promise<SingleNodeLab> {
  const dir = mkdtempSync('/tmp/fa-');
  chmodSync(dir, 0o755); // mysqld runs as mysql and must reach its datadir and socket below
  const tag = `fa${process.pid % 10000}x${++counter}`;
  const node = new LabNode({ name: 'db1', dir, tag });
  const mountpoint = path.join(dir, 'data');
  const leaseStore = path.join(dir, 'lease-store');
  const leaseMount = path.join(dir, 'lease');
  const leasePath = path.join(leaseStore, 'lease');
  const agentLeasePath = path.join(leaseMount, 'lease');
  mkdirSync(mountpoint, { recursive: true });
  const vip = { address: '10.77.0.10', prefix: 24, interface: 'vip0', cidr: '10.77.0.10/24' };
  let disk: LoopDisk | null = null;
  let destroyed = false;
  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    await node.destroy();
    await disk?.detach();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await node.create();
    await node.addVipInterface(vip.interface);
    await node.mountLeaseStorage(leaseStore, leaseMount);
    disk = await createLoopDisk(path.join(dir, 'disk.img'));
    node.device = disk.device;
    node.writeMyCnf(mountpoint);
    const config = node.writeConfig({
      node: node.name,
      cluster: 'lab',
      vip: { address: vip.address, prefix: vip.prefix, interface: vip.interface },
      disk: { device: disk.device, mountpoint, fstype: DISK_FSTYPE, options: 'noatime' },
      mysqld: node.agentMysqldConfig(),
      fence: options.fence === 'none' ? { method: 'none' } : { method: 'lockfile', path: agentLeasePath, staleMs: 4000, updateMs: 1000 },
      deadlines: { ...LAB_DEADLINES, ...options.deadlines },
      monitor: { fenceIntervalMs: 500 },
      runDir: node.runDir,
      stateDir: node.stateDir,
      log: { destination: node.logFile, level: 'debug' },
    });
    return {
      dir,
      node,
      disk,
      vip,
      mountpoint,
      leasePath,
      agentLeasePath,
      config,
      addVip: () => node.addAddress(vip.cidr, vip.interface),
      delVip: () => node.delAddress(vip.cidr, vip.interface),
      freezeLeaseStorage: () => node.freezeLeaseStorage(),
      thawLeaseStorage: () => node.thawLeaseStorage(),
      destroy,
    };
  } catch (error) {
    await destroy();
    throw error;
  }
}
