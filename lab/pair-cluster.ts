// The netns lab (lab/pair.ts) behind the scenario layer's interfaces (lab/cluster.ts): nodes are
// network + mount namespaces on this machine, read through /proc and their files on the host.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseLogLines, type ClusterObserver, type Cluster, type ClusterNode, type LogLine } from './cluster.ts';
import { CLI, type LabNode } from './node.ts';
import { NetnsObserver } from './netns-observer.ts';
import { hookEventsOf, LEASE, NODES, PairLab, VIP, type PairOptions } from './pair.ts';
import type { Ran } from './sh.ts';
import { shOk } from './sh.ts';
import { readState, type AgentState } from '../src/state.ts';
import { LAB_LEASE } from './single-node.ts';
import { delay, waitFor } from './wait.ts';

const readText = (file: string): string => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

const tail = (text: string, lines: number): string => text.trimEnd().split('\n').slice(-lines).join('\n');

/** One netns node as a {@link ClusterNode}. */
export class NetnsClusterNode implements ClusterNode {
  readonly serverId: number;
  readonly timeScale = 1;

  constructor(
    readonly lab: LabNode,
    private readonly pair: PairLab,
  ) {
    this.serverId = NODES.find((n) => n.name === lab.name)?.serverId ?? 0;
  }

  get name(): string {
    return this.lab.name;
  }

  agent(args: readonly string[]): Promise<Ran> {
    return this.lab.agent(args);
  }

  sql(query: string): Promise<Ran> {
    return this.lab.sql(query);
  }

  state(): Promise<AgentState | null> {
    return Promise.resolve(readState(this.lab.stateDir));
  }

  hookEvents(): Promise<Record<string, unknown>[]> {
    return Promise.resolve(hookEventsOf(this.lab.dir));
  }

  logLines(pattern?: RegExp): Promise<LogLine[]> {
    return Promise.resolve(parseLogLines(readText(this.lab.logFile), pattern));
  }

  logTail(lines: number): Promise<string> {
    const agent = readText(this.lab.logFile)
      .split('\n')
      .filter((line) => !line.includes('"cmd":"check"'));
    return Promise.resolve(
      `--- ${this.name} agent log\n${tail(agent.join('\n'), lines)}\n--- ${this.name} keepalived\n${tail(readText(path.join(this.lab.dir, 'keepalived.log')), 12)}\n--- ${this.name} watchdog\n${tail(readText(this.pair.watchdogLog(this.lab)), 6)}`,
    );
  }

  fullLog(): Promise<string> {
    return Promise.resolve(
      `=== ${this.name}\n--- agent log\n${readText(this.lab.logFile)}\n--- keepalived\n${readText(path.join(this.lab.dir, 'keepalived.log'))}\n--- watchdog\n${readText(this.pair.watchdogLog(this.lab))}\n`,
    );
  }

  daemonPids(): Promise<number[]> {
    return Promise.resolve(this.lab.daemonPids());
  }

  mysqldPids(): Promise<number[]> {
    return Promise.resolve(this.lab.pidsNamed('mariadbd', 'mysqld'));
  }

  signal(pid: number, signalName: NodeJS.Signals): Promise<void> {
    if (!this.lab.pids().includes(pid)) return Promise.reject(new Error(`pid ${pid} is not a process of ${this.name}`));
    process.kill(pid, signalName);
    return Promise.resolve();
  }

  mountCount(): Promise<number> {
    return this.lab.mountCount();
  }

  async startDaemon(): Promise<void> {
    this.lab.startDaemon();
    await waitFor(`daemon listening on ${this.name}`, () => this.lab.daemonPids().length > 0 && readText(path.join(this.lab.runDir, 'daemon.pid')).trim() !== '', 20_000, 50);
  }

  async holdFileOpen(file: string): Promise<{ exited: Promise<NodeJS.Signals | null> }> {
    const before = this.lab.pidsNamed('sleep').length;
    const holder = this.lab.spawn(['sh', '-c', `exec 3<${file}; trap '' TERM; exec sleep 1000`]);
    const exited = new Promise<NodeJS.Signals | null>((resolve) => holder.once('exit', (_code, signal) => resolve(signal)));
    await waitFor(`a process holding ${file} on ${this.name}`, () => this.lab.pidsNamed('sleep').length > before, 5000);
    return { exited };
  }

  async notifyHeldBack(args: readonly string[]): Promise<{ release(): Promise<{ exitCode: number | null; stderr: string }> }> {
    const [file, ...rest] = ['nsenter', `--net=/run/netns/${this.lab.netns}`, `--mount=${this.lab.mntnsFile}`, '--', process.execPath, CLI, 'notify', ...args];
    const child = spawn(file, rest, { env: { ...process.env, FENCE_AGENT_CONFIG: this.lab.configPath }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<{ exitCode: number | null; stderr: string }>((resolve) => child.once('close', (code) => resolve({ exitCode: code, stderr })));
    await new Promise((resolve) => child.once('spawn', resolve));
    child.kill('SIGSTOP');
    await delay(100);
    return {
      release() {
        child.kill('SIGCONT');
        return exited;
      },
    };
  }
}

/** The netns pair lab as a {@link Cluster}. */
export class NetnsCluster implements Cluster {
  readonly kind = 'netns';
  readonly sharedClock = true;
  readonly timeScale = 1;
  readonly nodes: readonly NetnsClusterNode[];

  private constructor(readonly pair: PairLab) {
    this.nodes = pair.nodes.map((n) => new NetnsClusterNode(n, pair));
  }

  /** Builds and starts a pair (lab/pair.ts PairLab.up) and waits for a healthy MASTER and BACKUP. */
  static async up(options: PairOptions = {}): Promise<NetnsCluster> {
    return new NetnsCluster(await PairLab.up(options));
  }

  get dir(): string {
    return this.pair.dir;
  }

  get clientNetns(): string {
    return this.pair.lanNetns;
  }

  get vip(): string {
    return VIP;
  }

  readonly lease = { staleMs: LAB_LEASE.staleMs, marginMs: LAB_LEASE.marginMs };

  get mountpoint(): string {
    return this.pair.mountpoint;
  }

  private labOf(node: ClusterNode): LabNode {
    const found = this.nodes.find((n) => n === node || n.name === node.name);
    if (found === undefined) throw new Error(`no node ${node.name} in this lab`);
    return found.lab;
  }

  node(name: string): NetnsClusterNode {
    const found = this.nodes.find((n) => n.name === name);
    if (found === undefined) throw new Error(`no node ${name}`);
    return found;
  }

  other(node: ClusterNode): NetnsClusterNode {
    return this.nodes.find((n) => n.name !== node.name) as NetnsClusterNode;
  }

  private wrap(lab: LabNode | null): NetnsClusterNode | null {
    return lab === null ? null : this.node(lab.name);
  }

  async vipHolder(): Promise<NetnsClusterNode | null> {
    return this.wrap(await this.pair.vipHolder());
  }

  async waitConverged(timeoutMs?: number): Promise<{ master: NetnsClusterNode; backup: NetnsClusterNode }> {
    const { master, backup } = await this.pair.waitConverged(timeoutMs);
    return { master: this.node(master.name), backup: this.node(backup.name) };
  }

  prepareDatabase(master: ClusterNode): Promise<void> {
    return this.pair.prepareDatabase(this.labOf(master));
  }

  observer(): ClusterObserver {
    return new NetnsObserver(this.pair, VIP, LEASE.staleMs);
  }

  crash(node: ClusterNode): Promise<void> {
    return this.pair.crash(this.labOf(node));
  }

  revive(node: ClusterNode): Promise<void> {
    return this.pair.revive(this.labOf(node));
  }

  freeze(node: ClusterNode): Promise<void> {
    return this.pair.freeze(this.labOf(node));
  }

  thaw(node: ClusterNode): Promise<void> {
    this.pair.thaw(this.labOf(node));
    return Promise.resolve();
  }

  freezeLeaseStorage(node: ClusterNode): Promise<void> {
    this.pair.freezeLeaseStorage(this.labOf(node));
    return Promise.resolve();
  }

  thawLeaseStorage(node: ClusterNode): Promise<void> {
    this.pair.thawLeaseStorage(this.labOf(node));
    return Promise.resolve();
  }

  stopKeepalived(node: ClusterNode): Promise<void> {
    return this.pair.stopKeepalived(this.labOf(node));
  }

  startKeepalived(node: ClusterNode): Promise<void> {
    this.pair.startKeepalived(this.labOf(node));
    return Promise.resolve();
  }

  killKeepalived(node: ClusterNode): Promise<void> {
    return this.pair.killKeepalived(this.labOf(node));
  }

  cutStoragePath(): Promise<void> {
    return Promise.reject(new Error('the netns lab shares one loop device: a storage path to cut exists in the VM lab only'));
  }

  restoreStoragePath(): Promise<void> {
    return Promise.reject(new Error('the netns lab has no storage path to restore'));
  }

  restartDaemonService(): Promise<void> {
    return Promise.reject(new Error('the netns lab runs no systemd: `systemctl restart fence-agent` exists in the VM lab only'));
  }

  /** Detaches the node's port from the bridge: its link stays up, VRRP adverts stop both ways. */
  async cutClusterLink(node: ClusterNode): Promise<void> {
    await shOk(['ip', '-n', this.pair.lanNetns, 'link', 'set', `v-${node.name}`, 'nomaster']);
  }

  async restoreClusterLink(node: ClusterNode): Promise<void> {
    await shOk(['ip', '-n', this.pair.lanNetns, 'link', 'set', `v-${node.name}`, 'master', 'br0']);
  }

  watchdogFires(node: ClusterNode): Promise<{ mono: number; at: string; why?: string }[]> {
    return Promise.resolve(this.pair.watchdogFires(this.labOf(node)));
  }

  async destroy(): Promise<{ clean: boolean; output: string } | null> {
    const fsck = await this.pair.destroy();
    return fsck === null ? null : { clean: fsck.exitCode === 0, output: `${fsck.stdout}${fsck.stderr}` };
  }
}
