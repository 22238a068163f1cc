// The two-node lab: db1 and db2, each a network namespace plus its own mount namespace, joined
// through a bridge in a third namespace (`lan`, which also holds the clients). Each node runs real
// keepalived (unicast VRRP, advert_int 1, track_script = fence-agent check, notify = fence-agent
// notify, notify_fifo read by the daemon, enable_script_security), the fence-agent daemon, and —
// only while MASTER — MariaDB with its datadir on the one shared disk image, which each node sees
// through its own loop device (its own ext4 superblock and page cache). Fencing: lockfile on a
// directory both nodes see, each through its own FUSE mount (bindfs) of `<lab>/lease-store`, so
// that one node's lease storage can hang alone. Nothing runs under systemd: every process is
// started here.
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config/load.ts';
import { keepalivedConf } from '../src/keepalived-conf.ts';
import { createSharedDisk, DISK_FSTYPE, fsckImage, sharedDisk, type SharedDisk } from './disk.ts';
import { prepareLedgerDatabase } from './ledger.ts';
import { CLI, LabNode, REPO } from './node.ts';
import { LAB_DEADLINES, LAB_KEEPALIVED_CHECK, LAB_LEASE, LAB_WATCHDOG, labFence } from './single-node.ts';
import { sh, shOk, type Ran } from './sh.ts';
import { delay, waitFor } from './wait.ts';

/**
 * Lab timings: check's deadline below keepalived's 2 s script timeout; a fence acquisition that
 * outlasts the peer's whole demotion (its unmount escalation included) and a dead peer's lease
 * (takeover after S + M = 7 s, relation (c)).
 */
export const PAIR_DEADLINES = { ...LAB_DEADLINES, checkMs: 1500, fenceAcquireMs: 12000 };
/** The lease timers (lab/single-node.ts LAB_LEASE). */
export const LEASE = LAB_LEASE;
export const SUBNET = '10.88.0';
export const VIP = `${SUBNET}.100`;
export const CLIENT_IP = `${SUBNET}.254`;

/** What `lab up` leaves in lab.json so that `lab status` and `lab down` can find everything. */
export interface PairDescription {
  dir: string;
  tag: string;
  lanNetns: string;
  image: string;
  mountpoint: string;
  /** the lease file in the real store (host view) */
  leasePath: string;
  /** the agents' `fence.path`: the lease through each node's own bindfs mount */
  agentLeasePath: string;
  /** `device`: the node's own loop device over `image` */
  nodes: { name: string; ip: string; priority: number; serverId: number; device: string }[];
  /** whether the nodes run with the simulated watchdog */
  watchdog: boolean;
  /** pids of the watchdog supervisors (lab/watchdog-supervisor.ts), by node */
  supervisors: Record<string, number>;
}

export interface PairOptions {
  /** lab directory (short path); default a fresh /tmp/fa-lab-XXXX */
  dir?: string;
  /** prefix of namespace names */
  tag?: string;
  /** run fence-agent (check, notify, daemon); false = bare keepalived with `/bin/true` (failover floor) */
  agent?: boolean;
  /** the agents' local restart policy (`mysqld.restartAttempts`); default 0: fail over */
  mysqldRestartAttempts?: number;
  /**
   * each node's simulated watchdog (a FIFO whose supervisor resets the node when keepalives
   * stop); default true. false = `fence.allowNoWatchdog` (the freeze bench's comparison)
   */
  watchdog?: boolean;
  /**
   * each node's `events.exec`: a hook appending the event JSON it gets on stdin to
   * `<node dir>/events.jsonl` ({@link hookEventsOf}); default off
   */
  events?: boolean;
  /**
   * how keepalived learns each node's health: `health-file` (default: the daemon's track_file,
   * `fence-agent check` every 2 s beside it) or `check-1s` (the layout before the health file,
   * for `npm run bench -- health-failover`: no track_file, `fence-agent check` every 1 s with a
   * 1 s timeout and deadlines.checkMs 900)
   */
  healthLayout?: 'health-file' | 'check-1s';
}

/**
 * The generated keepalived.conf without the health file: its `track_file` block and the
 * instance's reference to it (PairOptions.healthLayout `check-1s`).
 * @throws Error when either is not where the generator puts it (src/keepalived-conf.ts)
 */
export function withoutTrackFile(conf: string): string {
  const block = /^track_file \S+ \{\n(?:.*\n)*?\}\n/m;
  const reference = /^ {4}track_file \{\n {8}\S+\n {4}\}\n/m;
  if (!block.test(conf) || !reference.test(conf)) throw new Error('keepalived.conf: no track_file block and reference to take out (has src/keepalived-conf.ts changed?)');
  const out = conf.replace(block, '').replace(reference, '');
  if (out.includes('track_file')) throw new Error('keepalived.conf: a track_file is left after taking it out');
  return out;
}

/** The events a node's lab hook received (PairOptions.events), oldest first; [] when none. */
export function hookEventsOf(nodeDir: string): Record<string, unknown>[] {
  let text: string;
  try {
    text = readFileSync(path.join(nodeDir, 'events.jsonl'), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The pair's nodes; `serverId` is the node's MariaDB server_id (my.cnf), recorded by the ledger per ack. */
export const NODES = [
  { name: 'db1', ip: `${SUBNET}.1`, priority: 150, serverId: 1 },
  { name: 'db2', ip: `${SUBNET}.2`, priority: 100, serverId: 2 },
] as const;

export class PairLab {
  readonly nodes: LabNode[];
  readonly lanNetns: string;
  readonly mountpoint: string;
  /** the real lease directory, on the host: `<lab>/lease-store` */
  readonly leaseStore: string;
  /** where each node mounts {@link leaseStore} through its own bindfs: `<lab>/lease` (empty on the host) */
  readonly leaseMount: string;
  /** the lease file as observers read it, in the store on the host (never through a node's bindfs) */
  readonly leasePath: string;
  /** the agents' `fence.path`: `<lab>/lease/lease`, through the node's own bindfs mount */
  readonly agentLeasePath: string;
  readonly agent: boolean;
  readonly mysqldRestartAttempts: number;
  readonly watchdog: boolean;
  /** the watchdog supervisors' pids, by node */
  supervisors: Record<string, number> = {};
  /** the VIP the clients write through (LedgerTarget) */
  readonly vip = VIP;
  /** the namespace the clients run in (LedgerTarget) */
  get clientNetns(): string {
    return this.lanNetns;
  }
  /** the disk image and each node's own loop device over it */
  disk: SharedDisk | null = null;
  private destroyed = false;

  private constructor(
    readonly dir: string,
    readonly tag: string,
    agent: boolean,
    mysqldRestartAttempts = 0,
    watchdog = true,
    private readonly events = false,
    private readonly healthLayout: 'health-file' | 'check-1s' = 'health-file',
  ) {
    this.agent = agent;
    this.watchdog = agent && watchdog;
    this.mysqldRestartAttempts = mysqldRestartAttempts;
    this.lanNetns = `${tag}-lan`;
    this.mountpoint = path.join(dir, 'data');
    this.leaseStore = path.join(dir, 'lease-store');
    this.leaseMount = path.join(dir, 'lease');
    this.leasePath = path.join(this.leaseStore, 'lease');
    this.agentLeasePath = path.join(this.leaseMount, 'lease');
    this.nodes = NODES.map((n) => new LabNode({ name: n.name, dir, tag }));
  }

  /** Builds namespaces, the bridge, the disk and every node's configuration. Starts nothing. */
  static async create(options: PairOptions = {}): Promise<PairLab> {
    const dir = options.dir ?? (await shOk(['mktemp', '-d', '/tmp/fa-lab-XXXX'])).trim();
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
    const tag = options.tag ?? `fl${process.pid % 100000}`;
    const lab = new PairLab(dir, tag, options.agent ?? true, options.mysqldRestartAttempts, options.watchdog ?? true, options.events ?? false, options.healthLayout);
    try {
      await lab.build();
    } catch (error) {
      await lab.destroy();
      throw error;
    }
    return lab;
  }

  /**
   * Re-attaches to a lab that `up` left in `dir` (from its lab.json).
   * @throws when there is no lab.json or the lab's namespaces are gone
   */
  static async load(dir: string): Promise<PairLab> {
    const description = JSON.parse(readFileSync(path.join(dir, 'lab.json'), 'utf8')) as PairDescription;
    const lab = new PairLab(description.dir, description.tag, true, 0, description.watchdog);
    lab.supervisors = description.supervisors;
    lab.disk = sharedDisk(description.image, Object.fromEntries(description.nodes.map((n) => [n.name, n.device])));
    for (const node of lab.nodes) {
      node.device = lab.disk.devices[node.name] ?? null;
      await node.attach().catch(() => undefined);
    }
    return lab;
  }

  private async build(): Promise<void> {
    mkdirSync(this.mountpoint, { recursive: true });
    mkdirSync(this.leaseStore, { recursive: true });
    mkdirSync(this.leaseMount, { recursive: true });
    await shOk(['ip', 'netns', 'add', this.lanNetns]);
    const lan = (args: string[]): Promise<string> => shOk(['ip', '-n', this.lanNetns, ...args]);
    await lan(['link', 'set', 'lo', 'up']);
    await lan(['link', 'add', 'br0', 'type', 'bridge']);
    await lan(['addr', 'add', `${CLIENT_IP}/24`, 'dev', 'br0']);
    await lan(['link', 'set', 'br0', 'up']);
    this.disk = await createSharedDisk(
      path.join(this.dir, 'disk.img'),
      this.nodes.map((n) => n.name),
    );
    for (const [i, node] of this.nodes.entries()) {
      const spec = NODES[i] as (typeof NODES)[number];
      node.device = this.disk.devices[node.name] ?? null;
      await node.create();
      // veth: eth0 inside the node, v-<name> on the bridge in lan
      await lan(['link', 'add', `v-${node.name}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', node.netns]);
      await lan(['link', 'set', `v-${node.name}`, 'master', 'br0']);
      await lan(['link', 'set', `v-${node.name}`, 'up']);
      await shOk(['ip', '-n', node.netns, 'addr', 'add', `${spec.ip}/24`, 'dev', 'eth0']);
      await shOk(['ip', '-n', node.netns, 'link', 'set', 'eth0', 'up']);
      node.writeMyCnf(this.mountpoint, spec.serverId);
      this.writeAgentConfig(node);
      this.writeKeepalivedConf(node, spec);
    }
    this.save();
  }

  private writeAgentConfig(node: LabNode): void {
    // the hook: root's, 0700, in the node's root-owned directory (config trust: as keepalived's scripts)
    const hook = path.join(node.dir, 'events-hook');
    if (this.events) writeFileSync(hook, `#!/bin/sh\n# the lab's event hook: the event JSON from stdin, one line each\ncat >> '${path.join(node.dir, 'events.jsonl')}'\necho >> '${path.join(node.dir, 'events.jsonl')}'\n`, { mode: 0o700 });
    node.writeConfig({
      ...(this.events ? { events: { exec: hook } } : {}),
      node: node.name,
      cluster: 'lab',
      vip: { address: VIP, prefix: 24, interface: 'eth0' },
      disk: { device: node.device, mountpoint: this.mountpoint, fstype: DISK_FSTYPE, options: 'noatime' },
      mysqld: { ...node.agentMysqldConfig(), restartAttempts: this.mysqldRestartAttempts },
      fence: labFence(this.agentLeasePath, node.watchdogPath, this.watchdog),
      deadlines: this.healthLayout === 'check-1s' ? { ...PAIR_DEADLINES, checkMs: 900 } : PAIR_DEADLINES,
      monitor: { fenceIntervalMs: 500, sqlIntervalMs: 500 },
      runDir: node.runDir,
      stateDir: node.stateDir,
      log: { destination: node.logFile, level: 'debug' },
      keepalived: { instance: 'VI_1', notifyFifo: this.fifoPath(node), vrrpPidFile: path.join(node.dir, 'vrrp.pid'), ...LAB_KEEPALIVED_CHECK, ...(this.healthLayout === 'check-1s' ? { checkIntervalMs: 1000, checkTimeoutMs: 1000 } : {}) },
    });
  }

  fifoPath(node: LabNode): string {
    return path.join(node.dir, 'keepalived.fifo');
  }

  keepalivedConf(node: LabNode): string {
    return path.join(node.dir, 'keepalived.conf');
  }

  /**
   * keepalived.conf: with the agent, generated from the node's agent configuration by the agent's
   * own generator (src/keepalived-conf.ts, what `fence-agent config keepalived` prints); without
   * it (the failover floor), the same instance with `/bin/true` as the check and no notify.
   */
  private writeKeepalivedConf(node: LabNode, spec: (typeof NODES)[number]): void {
    const peer = NODES.find((n) => n.name !== spec.name) as (typeof NODES)[number];
    if (this.agent) {
      const text = keepalivedConf(
        loadConfig(node.configPath),
        { interface: 'eth0', virtualRouterId: 51, priority: spec.priority, advertIntervalMs: 1000, unicastSrcIp: spec.ip, unicastPeers: [peer.ip], garpMasterRefreshS: 2 },
        { agentCommand: `${process.execPath} ${CLI}`, configPath: node.configPath },
      );
      writeFileSync(this.keepalivedConf(node), this.healthLayout === 'check-1s' ? withoutTrackFile(text) : text);
      return;
    }
    const lines = [
      'global_defs {',
      '  enable_script_security',
      '  script_user root',
      `  router_id ${node.name}`,
      ...(this.agent ? [`  notify_fifo ${this.fifoPath(node)}`] : []),
      '}',
      'vrrp_script chk_fence_agent {',
      '  script "/bin/true"',
      `  interval ${LAB_KEEPALIVED_CHECK.checkIntervalMs / 1000}`,
      `  timeout ${LAB_KEEPALIVED_CHECK.checkTimeoutMs / 1000}`,
      '  fall 2',
      '  rise 2',
      '}',
      'vrrp_instance VI_1 {',
      '  state BACKUP',
      '  nopreempt',
      '  interface eth0',
      '  virtual_router_id 51',
      `  priority ${spec.priority}`,
      '  advert_int 1',
      // re-announce the VIP every 2 s: after a partition heals, clients find the MASTER again
      '  garp_master_refresh 2',
      `  unicast_src_ip ${spec.ip}`,
      `  unicast_peer {\n    ${peer.ip}\n  }`,
      `  virtual_ipaddress {\n    ${VIP}/24 dev eth0\n  }`,
      '  track_script {\n    chk_fence_agent\n  }',
      '}',
    ];
    writeFileSync(this.keepalivedConf(node), `${lines.join('\n')}\n`);
  }

  /** The lab description written to `<dir>/lab.json`. */
  describe(): PairDescription {
    return {
      dir: this.dir,
      tag: this.tag,
      lanNetns: this.lanNetns,
      image: this.disk?.image ?? '',
      mountpoint: this.mountpoint,
      leasePath: this.leasePath,
      agentLeasePath: this.agentLeasePath,
      nodes: NODES.map((n) => ({ ...n, device: this.disk?.devices[n.name] ?? '' })),
      watchdog: this.watchdog,
      supervisors: this.supervisors,
    };
  }

  /**
   * Starts the node's watchdog supervisor (lab/watchdog-supervisor.ts), detached: it outlives
   * `lab up`, resets (crashes and reboots) the node when its daemon stops petting, and logs to
   * `<node dir>/watchdog.log`. It must run before the daemon can arm the watchdog.
   */
  startWatchdogSupervisor(node: LabNode): void {
    if (!this.watchdog || this.supervisors[node.name] !== undefined) return;
    const fd = openSync(this.watchdogLog(node), 'a');
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'lab/watchdog-supervisor.ts'), this.dir, node.name, String(LAB_WATCHDOG.timeoutMs)], {
        cwd: REPO,
        detached: true,
        stdio: ['ignore', fd, fd],
      });
      child.on('error', () => undefined);
      child.unref();
      if (child.pid !== undefined) this.supervisors[node.name] = child.pid;
    } finally {
      closeSync(fd);
    }
    this.save();
  }

  watchdogLog(node: LabNode): string {
    return path.join(node.dir, 'watchdog.log');
  }

  /** The supervisor's events for `node` (JSON lines of lab/watchdog-supervisor.ts). */
  watchdogEvents(node: LabNode): { mono: number; at: string; what: string; why?: string }[] {
    try {
      return readFileSync(this.watchdogLog(node), 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { mono: number; at: string; what: string; why?: string });
    } catch {
      return [];
    }
  }

  /** The times the node's watchdog reset it. */
  watchdogFires(node: LabNode): { mono: number; at: string; why?: string }[] {
    return this.watchdogEvents(node).filter((event) => event.what.startsWith('FIRED'));
  }

  private save(): void {
    writeFileSync(path.join(this.dir, 'lab.json'), `${JSON.stringify(this.describe(), null, 2)}\n`);
  }

  node(name: string): LabNode {
    const node = this.nodes.find((n) => n.name === name);
    if (node === undefined) throw new Error(`no node ${name}`);
    return node;
  }

  other(node: LabNode): LabNode {
    return this.nodes.find((n) => n !== node) as LabNode;
  }

  /**
   * Starts a node's processes as its init system would: anchor, lease storage (bindfs, mounted
   * again if a crash left its mount dead), daemon, then keepalived.
   */
  async startNode(node: LabNode): Promise<void> {
    this.startWatchdogSupervisor(node);
    await shOk(['ip', '-n', node.netns, 'link', 'set', 'eth0', 'up']);
    await node.startAnchor();
    await node.mountLeaseStorage(this.leaseStore, this.leaseMount);
    if (this.agent) {
      node.startDaemon();
      await waitFor(`daemon on ${node.name}`, () => existsSync(path.join(node.runDir, 'control.sock')), 20_000);
    }
    this.startKeepalived(node);
  }

  startKeepalived(node: LabNode): void {
    const pid = (file: string): string => path.join(node.dir, file);
    // a SIGKILLed keepalived left its pid files: keepalived refuses to start beside one naming a live process
    if (node.pidsNamed('keepalived').length === 0) for (const file of ['keepalived.pid', 'vrrp.pid']) rmSync(pid(file), { force: true });
    node.spawn(['keepalived', '-n', '-l', '-D', '-P', '-G', '-f', this.keepalivedConf(node), '-p', pid('keepalived.pid'), '-r', pid('vrrp.pid')], {
      logFile: path.join(node.dir, 'keepalived.log'),
    });
  }

  /** keepalived's main pid on the node, or null. */
  keepalivedPid(node: LabNode): number | null {
    try {
      const pid = Number(readFileSync(path.join(node.dir, 'keepalived.pid'), 'utf8').trim());
      return node.pids().includes(pid) ? pid : null;
    } catch {
      return null;
    }
  }

  /** Stops keepalived the way an operator does (SIGTERM): it notifies STOP and releases the VIP. */
  async stopKeepalived(node: LabNode): Promise<void> {
    const pid = this.keepalivedPid(node);
    if (pid === null) return;
    process.kill(pid, 'SIGTERM');
    await waitFor(`keepalived stopped on ${node.name}`, () => !node.pids().includes(pid) && node.pidsNamed('keepalived').length === 0, 15_000);
  }

  /**
   * Every keepalived process of the node SIGKILLed (the OOM killer, a `kill -9`): no notify, no
   * clean-up — its VIP stays on the interface and its pid files stay behind.
   */
  async killKeepalived(node: LabNode): Promise<void> {
    const pids = node.pidsNamed('keepalived');
    // all stopped first: killed one by one, the VRRP child outlived its parent by microseconds,
    // got the SIGTERM keepalived asks for at its parent's death (PR_SET_PDEATHSIG), and shut down
    // cleanly — priority 0 sent, VIP removed (seen once in the netns e2e run). Stopped, it cannot.
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await waitFor(`keepalived gone on ${node.name}`, () => node.pidsNamed('keepalived').length === 0, 15_000);
  }

  /**
   * The node crashes: every process SIGKILLed (its bindfs too: its lease mount is left dead until
   * {@link revive}), and what its kernel held goes with it — the VIP, the link, the disk's mount
   * (lazily detached inside its mount namespace; with no process left its superblock goes too).
   */
  async crash(node: LabNode): Promise<void> {
    await node.killAll();
    node.anchorPid = null;
    // a dead machine's /run is gone; keepalived would refuse to start beside a pid file naming a
    // zombie that PID 1 has not reaped yet
    for (const file of ['keepalived.pid', 'vrrp.pid']) rmSync(path.join(node.dir, file), { force: true });
    await sh(['ip', '-n', node.netns, 'addr', 'del', `${VIP}/24`, 'dev', 'eth0']);
    await sh(['ip', '-n', node.netns, 'link', 'set', 'eth0', 'down']);
    await node.exec(['umount', '-l', this.mountpoint]);
  }

  /**
   * The crashed node boots again: link up, its dead lease mount replaced by a fresh bindfs, daemon,
   * keepalived (it comes back as BACKUP: nopreempt).
   */
  async revive(node: LabNode): Promise<void> {
    await this.startNode(node);
  }

  /** Hangs the node's lease storage alone (SIGSTOP its bindfs); the peer's and the host's view are unaffected. */
  freezeLeaseStorage(node: LabNode): void {
    node.freezeLeaseStorage();
  }

  /** Undoes {@link freezeLeaseStorage}. */
  thawLeaseStorage(node: LabNode): void {
    node.thawLeaseStorage();
  }

  /** Pauses the whole node (SIGSTOP every process of it, bindfs and the anchor included); see {@link LabNode.freeze}. */
  async freeze(node: LabNode): Promise<void> {
    await node.freeze();
  }

  /** Undoes {@link freeze}. */
  thaw(node: LabNode): void {
    node.thaw();
  }

  /** Runs argv in the lan namespace (where the clients are). */
  lanExec(argv: readonly string[], options: { timeoutMs?: number } = {}): ReturnType<typeof sh> {
    return sh(['ip', 'netns', 'exec', this.lanNetns, ...argv], options);
  }

  /** Which node holds the VIP now (by its anchor's view), or null; throws if both do. */
  async vipHolder(): Promise<LabNode | null> {
    const holders: LabNode[] = [];
    for (const node of this.nodes) {
      const ran = await sh(['ip', '-n', node.netns, '-br', 'addr', 'show', 'dev', 'eth0']);
      if (ran.stdout.includes(`${VIP}/24`)) holders.push(node);
    }
    if (holders.length > 1) throw new Error('the VIP is on both nodes');
    return holders[0] ?? null;
  }

  /** Waits until one node is a healthy MASTER (check exit 0, VIP) and the other a healthy BACKUP. */
  async waitConverged(timeoutMs = 90_000): Promise<{ master: LabNode; backup: LabNode }> {
    return waitFor(
      'one healthy MASTER and one healthy BACKUP',
      async () => {
        const master = await this.vipHolder().catch(() => null);
        if (master === null) return null;
        const backup = this.other(master);
        const [m, b] = await Promise.all([master.agent(['check']), backup.agent(['check'])]);
        const ok = m.exitCode === 0 && m.stderr.includes('healthy MASTER:') && !m.stderr.includes('in progress') && b.exitCode === 0 && b.stderr.includes('healthy BACKUP:');
        return ok ? { master, backup } : null;
      },
      timeoutMs,
      200,
    );
  }

  /** Creates the ledger database and a TCP user for the clients (idempotent; run on the MASTER). */
  prepareDatabase(master: LabNode): Promise<void> {
    return prepareLedgerDatabase(master);
  }

  /** Builds, starts both nodes (db1 first, so it wins the first election) and waits for a healthy pair. */
  static async up(options: PairOptions = {}): Promise<PairLab> {
    const lab = await PairLab.create(options);
    try {
      await lab.startNode(lab.node('db1'));
      await delay(1500);
      await lab.startNode(lab.node('db2'));
      if (lab.agent) {
        const { master } = await lab.waitConverged();
        await lab.prepareDatabase(master);
      }
      return lab;
    } catch (error) {
      await lab.destroy();
      throw error;
    }
  }

  /**
   * Removes everything: processes, namespaces (and every mount in them, the FUSE mounts too), the
   * loop devices, files. Frozen processes are thawed first, so nothing stays stuck on a stopped
   * bindfs. Before the disk image goes, `fsck -n` checks it; its result is returned (null if
   * already destroyed).
   */
  async destroy(): Promise<Ran | null> {
    if (this.destroyed) return null;
    this.destroyed = true;
    // the supervisors first: one must not reboot a node while it is being torn down
    for (const pid of Object.values(this.supervisors)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const node of this.nodes) node.thaw();
    // anything still in the lab's network namespaces (clients in lan, strays in the nodes)
    for (const netns of [this.lanNetns, ...this.nodes.map((n) => n.netns)]) {
      const pids = (await sh(['ip', 'netns', 'pids', netns])).stdout.split('\n').filter(Boolean).map(Number);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    for (const node of this.nodes) await node.destroy().catch(() => undefined);
    await sh(['ip', 'netns', 'del', this.lanNetns]);
    await this.disk?.detach();
    const fsck = this.disk === null ? null : await fsckImage(this.disk.image);
    // the agents keep the empty mountpoint immutable (disk.immutableMountpoint): clear it, or rm fails
    await sh(['chattr', '-i', this.mountpoint]);
    rmSync(this.dir, { recursive: true, force: true });
    return fsck;
  }
}
