// The two-VM lab's networks, all inside a network namespace the lab creates (`vl-<tag>`), so the
// root namespace gets nothing but the namespace's name and the guests reach nothing outside:
//   br0 — the cluster link (192.168.57.0/24): one tap per VM (`tcN`, the guest's eth1: VRRP, the
//         VIP), and a veth into the client namespace (`vl-<tag>-c`, 192.168.57.254) where the
//         ledger writes to the VIP from outside both nodes, as an application server would;
//   brs — the storage network (192.168.58.0/24): one tap per VM (`tsN`, the guest's eth2) and the
//         lab's storage servers on 192.168.58.254 (tgtd's iSCSI portal, nfs-ganesha's NFSv4), so
//         the cluster link and the storage path can fail apart;
//   lo  — QEMU runs in the namespace (`ip netns exec`), so each guest's ssh hostfwd (user
//         networking with restrict=on: its eth0) listens on the namespace's own 127.0.0.1.
// The namespace has no route out and IP forwarding off (a new namespace's default); the cluster
// bridge has no address in it, so nothing is routed between the two networks.
import { existsSync } from 'node:fs';
import { sh, shOk } from '../sh.ts';

export const CLUSTER_SUBNET = '192.168.57';
export const STORAGE_SUBNET = '192.168.58';
export const PREFIX = 24;
/** The pair's virtual IP on the cluster link. */
export const VIP = `${CLUSTER_SUBNET}.100`;
/** The client namespace's address on the cluster link. */
export const CLIENT_IP = `${CLUSTER_SUBNET}.254`;
/** tgtd's portal and nfs-ganesha's address, on the storage network in the lab's namespace. */
export const STORAGE_SERVER_IP = `${STORAGE_SUBNET}.254`;
/** VM ids are 1..9 (addresses .11–.19). */
export const MAX_VMS = 9;

/** A VM's addresses and interface names. */
export interface VmAddresses {
  /** the guest's eth1 on br0 */
  cluster: string;
  /** the guest's eth2 on brs */
  storage: string;
  /** the tap in the lab namespace behind eth1 */
  clusterTap: string;
  /** the tap behind eth2 */
  storageTap: string;
  /** MACs of eth0 (management), eth1, eth2 */
  macs: [string, string, string];
}

/** Addresses, taps and MACs of VM `id` (1..{@link MAX_VMS}). */
export function vmAddresses(id: number): VmAddresses {
  if (!Number.isInteger(id) || id < 1 || id > MAX_VMS) throw new Error(`vmlab: VM id ${id} is not 1..${MAX_VMS}`);
  const hex = id.toString(16).padStart(2, '0');
  return {
    cluster: `${CLUSTER_SUBNET}.1${id}`,
    storage: `${STORAGE_SUBNET}.1${id}`,
    clusterTap: `tc${id}`,
    storageTap: `ts${id}`,
    macs: [`52:54:00:56:00:${hex}`, `52:54:00:57:00:${hex}`, `52:54:00:58:00:${hex}`],
  };
}

/** The lab's namespace names for a tag. */
export function namespaces(tag: string): { lab: string; client: string } {
  if (!/^[a-z0-9]{1,8}$/.test(tag)) throw new Error(`vmlab: tag "${tag}" must be 1-8 lowercase letters or digits`);
  return { lab: `vl-${tag}`, client: `vl-${tag}-c` };
}

/** Whether a named network namespace exists. */
export const netnsExists = (name: string): boolean => existsSync(`/run/netns/${name}`);

/**
 * Creates the namespaces, both bridges, a persistent tap pair per VM and the client's veth.
 * @throws when a namespace of that name exists already (a leftover: one line naming it)
 */
export async function createNetwork(tag: string, vmIds: readonly number[]): Promise<void> {
  const ns = namespaces(tag);
  for (const name of [ns.lab, ns.client]) {
    if (netnsExists(name)) throw new Error(`network namespace ${name} exists (a leftover of an earlier lab? npm run vmlab -- down)`);
  }
  await shOk(['ip', 'netns', 'add', ns.lab]);
  await shOk(['ip', 'netns', 'add', ns.client]);
  const lab = (args: string[]): Promise<string> => shOk(['ip', '-n', ns.lab, ...args]);
  await lab(['link', 'set', 'lo', 'up']);
  for (const bridge of ['br0', 'brs']) {
    await lab(['link', 'add', bridge, 'type', 'bridge']);
    // forward at once (no STP learning delay) and do not run bridge netfilter on the taps
    await lab(['link', 'set', bridge, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0']);
    await lab(['link', 'set', bridge, 'up']);
  }
  await lab(['addr', 'add', `${STORAGE_SERVER_IP}/${PREFIX}`, 'dev', 'brs']);
  for (const id of vmIds) {
    const vm = vmAddresses(id);
    for (const [tap, bridge] of [
      [vm.clusterTap, 'br0'],
      [vm.storageTap, 'brs'],
    ] as const) {
      await lab(['tuntap', 'add', 'dev', tap, 'mode', 'tap']);
      await lab(['link', 'set', tap, 'master', bridge]);
      await lab(['link', 'set', tap, 'up']);
    }
  }
  await lab(['link', 'add', 'vc', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.client]);
  await lab(['link', 'set', 'vc', 'master', 'br0']);
  await lab(['link', 'set', 'vc', 'up']);
  const client = (args: string[]): Promise<string> => shOk(['ip', '-n', ns.client, ...args]);
  await client(['link', 'set', 'lo', 'up']);
  await client(['addr', 'add', `${CLIENT_IP}/${PREFIX}`, 'dev', 'eth0']);
  await client(['link', 'set', 'eth0', 'up']);
}

/** Pids of every process in a network namespace (none when it does not exist). */
export async function netnsPids(name: string): Promise<number[]> {
  if (!netnsExists(name)) return [];
  const ran = await sh(['ip', 'netns', 'pids', name]);
  return ran.stdout
    .split('\n')
    .filter((line) => /^\d+$/.test(line.trim()))
    .map(Number);
}

/**
 * SIGKILLs every process left in the lab's namespaces (all of them the lab's: QEMU, tgtd,
 * ganesha, ssh) and deletes both namespaces with every bridge, tap and veth in them. Idempotent.
 */
export async function destroyNetwork(tag: string): Promise<void> {
  const ns = namespaces(tag);
  for (const name of [ns.client, ns.lab]) {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const pids = await netnsPids(name);
      if (pids.length === 0) break;
      if (Date.now() > deadline) throw new Error(`processes ${pids.join(', ')} in network namespace ${name} survive SIGKILL`);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (netnsExists(name)) await shOk(['ip', 'netns', 'del', name]);
  }
}
