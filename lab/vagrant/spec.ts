// The Vagrant lab's shape, in one place: lab/vagrant/prepare.ts writes it to vagrant/.lab/lab.json,
// which vagrant/Vagrantfile reads (machines, addresses, memory, box), and the host side, the demo
// and the test read it from here. Three machines on one private network: `san` (the LU, through
// LIO), `node1` and `node2` (keepalived, MariaDB through Debian's mariadb.service, fence-agent with
// scsi-pr).

/** The pair's `cluster` name (part of each node's reservation key). */
export const VAGRANT_CLUSTER = 'vagrant';
/** The san's iSCSI target name. */
export const VAGRANT_TARGET_IQN = 'iqn.2025-01.lab.fence-agent:vagrant';
/** libvirt domain names are this prefix and the machine's name (`lv.default_prefix`). */
export const DOMAIN_PREFIX = 'fence-agent-';
/** The pair's VIP on the private network (the clients' address; `/24` on eth1). */
export const VAGRANT_VIP = '192.168.56.100';

export interface VagrantMachine {
  name: 'san' | 'node1' | 'node2';
  /** address on the private network (eth1) */
  ip: string;
  memoryMb: number;
  /** nodes: 1 or 2 (MariaDB server_id, node1 formats the LU and wins the first election) */
  id?: number;
  /** nodes: keepalived priority */
  priority?: number;
}

export interface VagrantLabSpec {
  /** the box the Vagrantfile uses when `FENCE_AGENT_BOX` names none: a public Debian 12 box */
  defaultBox: string;
  machines: VagrantMachine[];
  /** the san's iSCSI portal, ADDR:PORT */
  portal: string;
  vip: string;
  prefix: number;
  /** the node tarball's file name in vagrant/.lab/ (`node-vX.Y.Z-linux-x64.tar.gz`) */
  nodeTarball: string;
}

/** The lab's three machines (vagrantLabSpec hands out copies). */
const VAGRANT_MACHINES: readonly VagrantMachine[] = [
  { name: 'san', ip: '192.168.56.10', memoryMb: 512 },
  { name: 'node1', ip: '192.168.56.11', memoryMb: 768, id: 1, priority: 150 },
  { name: 'node2', ip: '192.168.56.12', memoryMb: 768, id: 2, priority: 100 },
];

/** The public box the Vagrantfile uses unless `FENCE_AGENT_BOX` names another. */
export const PUBLIC_BOX = 'debian/bookworm64';
/** The box `npm run vagrant -- up` builds from the QEMU lab's cached image (lab/vagrant/box.ts). */
export const PROJECT_BOX = 'fence-agent/lab';

/** The lab for a node tarball `nodeTarball`. */
export function vagrantLabSpec(nodeTarball: string): VagrantLabSpec {
  return {
    defaultBox: PUBLIC_BOX,
    machines: VAGRANT_MACHINES.map((m) => ({ ...m })),
    portal: '192.168.56.10:3260',
    vip: VAGRANT_VIP,
    prefix: 24,
    nodeTarball,
  };
}

/**
 * A node's MariaDB server_id (`id` in the lab's spec: node1 → 1, node2 → 2).
 * @throws Error when `name` is not one of the lab's nodes
 */
export function vagrantServerId(name: string): number {
  const id = VAGRANT_MACHINES.find((m) => m.name === name)?.id;
  if (id === undefined) throw new Error(`vagrant lab: ${name} is not one of the lab's nodes (node1, node2)`);
  return id;
}
