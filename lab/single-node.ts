// One real node on this machine: a loop-device ext4 disk holding a MariaDB datadir, a network
// namespace with an interface for the VIP, a private mount namespace, and an agent configuration
// using the lockfile fence on a lease directory the node reaches through its own FUSE mount
// (bindfs of `<dir>/lease-store` on `<dir>/lease`), so that the lease storage can be made to hang.
// Used by the integration tests and the README demo.
import { SimulatedWatchdog } from './watchdog.ts';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createLoopDisk, DISK_FSTYPE, type LoopDisk } from './disk.ts';
import { LabNode } from './node.ts';
import { sh } from './sh.ts';

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
  /** the node's simulated watchdog (null with fence none): its events say whether it fired */
  watchdog: SimulatedWatchdog | null;
  /** why the simulated watchdog fired, one entry per fire (it crashes the node) */
  watchdogFires: string[];
  /** removes everything the lab created, pass or fail; safe to call twice */
  destroy(): Promise<void>;
}

export interface SingleNodeOptions {
  /** `lockfile` (default, with the simulated watchdog), `lockfile-no-watchdog` (fence.allowNoWatchdog), `none` */
  fence?: 'lockfile' | 'lockfile-no-watchdog' | 'none';
  /** overrides merged into the generated configuration's `deadlines` */
  deadlines?: Record<string, number>;
  /** overrides merged into the generated configuration's `keepalived` section */
  keepalived?: Record<string, unknown>;
}

let counter = 0;

/**
 * The labs' lease timers (README "Lease timers"): R 500 ms, T_io 1 s, M 1 s, W 2.5 s, S 6 s, so
 * (a) 2R + T_io = 2 s ≤ S − M − W = 2.5 s: the holder may write for 2.5 s after a good refresh;
 * its watchdog fires at the latest 5 s after it; the peer takes over after S + M = 7 s unchanged.
 */
export const LAB_LEASE = { staleMs: 6000, updateMs: 500, ioTimeoutMs: 1000, marginMs: 1000 };
/** The labs' simulated watchdog: W 2.5 s, (d) above a daemon restart (2 s allowed). */
export const LAB_WATCHDOG = { timeoutMs: 2500, daemonRestartMs: 2000 };
/** vrrp_script timing the labs' keepalived.conf uses (whole seconds: keepalived reads integers). */
export const LAB_KEEPALIVED_CHECK = { checkIntervalMs: 2000, checkTimeoutMs: 2000 };

/** The agent's `fence` section for a lab node. */
export function labFence(agentLeasePath: string, watchdogPath: string, watchdog = true): Record<string, unknown> {
  return {
    method: 'lockfile',
    path: agentLeasePath,
    ...LAB_LEASE,
    ...(watchdog ? { watchdog: { device: watchdogPath, ...LAB_WATCHDOG } } : { allowNoWatchdog: true }),
    // the lab's lease store is a local directory under bindfs (FUSE), which placement refuses
    allowLocalLease: true,
  };
}

/** Lab deadlines: short enough for tests, long enough for MariaDB on a slow, shared machine. */
export const LAB_DEADLINES = {
  checkMs: 1500,
  fenceAcquireMs: 10000,
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
  const watchdogFires: string[] = [];
  const watchdog =
    options.fence === undefined || options.fence === 'lockfile'
      ? new SimulatedWatchdog({
          fifoPath: node.watchdogPath,
          timeoutMs: LAB_WATCHDOG.timeoutMs,
          onFire: async (why) => {
            // the "reset": the node's processes die and its mount goes with them; recorded once
            // done, so whoever sees the fire sees the node already reset
            await node.killAll().catch(() => undefined);
            await node.exec(['umount', '-l', mountpoint]).catch(() => undefined);
            watchdogFires.push(why);
          },
        })
      : null;
  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    watchdog?.stop();
    await node.destroy();
    await disk?.detach();
    // the agent keeps the empty mountpoint immutable (disk.immutableMountpoint): clear it, or rm fails
    await sh(['chattr', '-i', mountpoint]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await node.create();
    watchdog?.start();
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
      fence: options.fence === 'none' ? { method: 'none' } : labFence(agentLeasePath, node.watchdogPath, options.fence !== 'lockfile-no-watchdog'),
      deadlines: { ...LAB_DEADLINES, ...options.deadlines },
      monitor: { fenceIntervalMs: 500, fencedInRetryMs: 3000 },
      keepalived: { ...LAB_KEEPALIVED_CHECK, vrrpPidFile: null, ...options.keepalived }, // no keepalived here: its watch off
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
      watchdog,
      watchdogFires,
      destroy,
    };
  } catch (error) {
    await destroy();
    throw error;
  }
}
