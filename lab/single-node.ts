// One real node on this machine: a loop-device ext4 disk holding a MariaDB datadir, a network
// namespace with an interface for the VIP, a private mount namespace, and an agent configuration
// using the lockfile fence. Used by the integration tests and the README demo.
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createLoopDisk, type LoopDisk } from './disk.ts';
import { LabNode } from './node.ts';

export interface SingleNodeLab {
  dir: string;
  node: LabNode;
  disk: LoopDisk;
  vip: { address: string; prefix: number; interface: string; cidr: string };
  mountpoint: string;
  leasePath: string;
  /** the agent configuration as written to node.configPath */
  config: Record<string, unknown>;
  /** keepalived's part, by hand: put the VIP on the node / take it away */
  addVip(): Promise<void>;
  delVip(): Promise<void>;
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
  const leasePath = path.join(dir, 'shared', 'lease');
  mkdirSync(mountpoint, { recursive: true });
  mkdirSync(path.dirname(leasePath), { recursive: true });
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
    disk = await createLoopDisk(path.join(dir, 'disk.img'));
    node.writeMyCnf(mountpoint);
    const config = node.writeConfig({
      node: node.name,
      cluster: 'lab',
      vip: { address: vip.address, prefix: vip.prefix, interface: vip.interface },
      disk: { device: disk.device, mountpoint, fstype: 'ext4', options: 'noatime' },
      mysqld: node.agentMysqldConfig(),
      fence: options.fence === 'none' ? { method: 'none' } : { method: 'lockfile', path: leasePath, staleMs: 4000, updateMs: 1000 },
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
      config,
      addVip: () => node.addAddress(vip.cidr, vip.interface),
      delVip: () => node.delAddress(vip.cidr, vip.interface),
      destroy,
    };
  } catch (error) {
    await destroy();
    throw error;
  }
}
