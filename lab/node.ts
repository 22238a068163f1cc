// A lab node: its own network namespace (`ip netns`) and its own persistent mount namespace
// (`unshare --mount=FILE`), entered together with nsenter. Mounts made inside stay inside; the
// node's processes are found by their mount namespace and killed on teardown. The node reaches
// the shared lease directory through its own FUSE mount (bindfs), whose daemon is one of the
// node's processes: it dies in a crash, and it can be frozen alone to hang the node's lease storage.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sh, shOk, type Ran } from './sh.ts';
import { MYSQLD_SETTINGS } from './disk.ts';
import { deviceNumber, parseMountinfo } from '../src/probes/mountinfo.ts';

export const REPO = path.resolve(import.meta.dirname, '..');
/** The built CLI (npm run build). The lab never runs TypeScript sources in the agent's place. */
export const CLI = path.join(REPO, 'dist', 'cli.cjs');

export interface LabNodeOptions {
  /** short name, also the agent's node name (e.g. `db1`) */
  name: string;
  /** lab directory (short: Unix socket paths must stay under 108 bytes) */
  dir: string;
  /** prefix for namespace and interface names, unique per lab */
  tag: string;
}

export class LabNode {
  readonly name: string;
  readonly dir: string;
  readonly netns: string;
  readonly mntnsFile: string;
  readonly runDir: string;
  readonly stateDir: string;
  readonly mysqlRunDir: string;
  readonly logFile: string;
  readonly configPath: string;
  readonly myCnf: string;
  private readonly nsDir: string;
  private mntnsId: string | null = null;

  constructor(options: LabNodeOptions) {
    this.name = options.name;
    this.dir = path.join(options.dir, options.name);
    this.netns = `${options.tag}-${options.name}`;
    this.nsDir = path.join(this.dir, 'ns');
    this.mntnsFile = path.join(this.nsDir, 'mnt');
    this.runDir = path.join(this.dir, 'run');
    this.stateDir = path.join(this.dir, 'state');
    this.mysqlRunDir = path.join(this.dir, 'mysqld');
    this.logFile = path.join(this.dir, 'agent.log');
    this.configPath = path.join(this.dir, 'config.json');
    this.myCnf = path.join(this.dir, 'my.cnf');
  }

  /** Creates the namespaces and the node's directories. */
  async create(): Promise<void> {
    mkdirSync(this.nsDir, { recursive: true });
    mkdirSync(this.stateDir, { recursive: true });
    await shOk(['mount', '--bind', this.nsDir, this.nsDir]);
    await shOk(['mount', '--make-private', this.nsDir]);
    writeFileSync(this.mntnsFile, '');
    await shOk(['unshare', `--mount=${this.mntnsFile}`, '--propagation', 'private', 'true']);
    await shOk(['ip', 'netns', 'add', this.netns]);
    await shOk(['ip', '-n', this.netns, 'link', 'set', 'lo', 'up']);
    const id = (await this.exec(['readlink', '/proc/self/ns/mnt'])).stdout.trim();
    if (!/^mnt:\[\d+\]$/.test(id)) throw new Error(`node ${this.name}: cannot read its mount namespace (got "${id}")`);
    this.mntnsId = id;
  }

  /** Re-attaches to a node created by another process (`lab status`, `lab down`). */
  async attach(): Promise<void> {
    const id = (await this.exec(['readlink', '/proc/self/ns/mnt'])).stdout.trim();
    if (!/^mnt:\[\d+\]$/.test(id)) throw new Error(`node ${this.name}: its namespaces are gone (got "${id}")`);
    this.mntnsId = id;
    this.anchorPid = this.pidsNamed('sleep')[0] ?? null;
  }

  /** Adds a veth pair inside the node (both ends up, so the kernel reports it RUNNING) to carry the VIP. */
  async addVipInterface(ifname: string): Promise<void> {
    await shOk(['ip', '-n', this.netns, 'link', 'add', ifname, 'type', 'veth', 'peer', 'name', `${ifname}p`]);
    await shOk(['ip', '-n', this.netns, 'link', 'set', ifname, 'up']);
    await shOk(['ip', '-n', this.netns, 'link', 'set', `${ifname}p`, 'up']);
  }

  /** What keepalived does to the VIP, done by hand for single-node tests. */
  async addAddress(cidr: string, ifname: string): Promise<void> {
    await shOk(['ip', '-n', this.netns, 'addr', 'add', cidr, 'dev', ifname]);
  }

  async delAddress(cidr: string, ifname: string): Promise<void> {
    await shOk(['ip', '-n', this.netns, 'addr', 'del', cidr, 'dev', ifname]);
  }

  private enter(argv: readonly string[]): string[] {
    return ['nsenter', `--net=/run/netns/${this.netns}`, `--mount=${this.mntnsFile}`, '--', ...argv];
  }

  /** Runs argv inside the node and waits for it. */
  exec(argv: readonly string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Ran> {
    return sh(this.enter(argv), options);
  }

  /** Runs the built fence-agent CLI inside the node with this node's configuration. */
  agent(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<Ran> {
    return this.exec([process.execPath, CLI, ...args], { ...options, env: { ...process.env, FENCE_AGENT_CONFIG: this.configPath, NO_COLOR: '1' } });
  }

  /**
   * Starts a long-running process inside the node (its pid is the process's own: nsenter execs),
   * in its own process group, output appended to `logFile` (or discarded).
   */
  spawn(argv: readonly string[], options: { logFile?: string } = {}): ChildProcess {
    const [file, ...args] = this.enter(argv);
    const fd = openSync(options.logFile ?? '/dev/null', 'a');
    try {
      const child = spawn(file as string, args, { stdio: ['ignore', fd, fd], detached: true, env: { ...process.env, FENCE_AGENT_CONFIG: this.configPath } });
      child.on('error', () => undefined);
      return child; // detached: it outlives `lab up`, which ends with process.exit()

    } finally {
      closeSync(fd);
    }
  }

  /** Starts the agent daemon inside the node, detached from the test's process group. */
  startDaemon(): ChildProcess {
    return this.spawn([process.execPath, CLI, 'daemon', '--config', this.configPath], { logFile: path.join(this.dir, 'daemon.out') });
  }

  /**
   * A process that only sits in the node (`sleep infinity`), so that observers can read the node's
   * view through /proc/<anchor>/{mountinfo,net/...} without spawning anything. Returns its pid.
   */
  async startAnchor(): Promise<number> {
    const child = this.spawn(['sleep', 'infinity']);
    const pid = child.pid;
    if (pid === undefined) throw new Error(`node ${this.name}: cannot start its anchor process`);
    // nsenter enters the namespaces, then execs: wait until the pid is inside.
    for (let i = 0; i < 200; i++) {
      try {
        if (readlinkSync(`/proc/${pid}/ns/mnt`) === this.mntnsId && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep') break;
      } catch {
        // not there yet
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    this.anchorPid = pid;
    return pid;
  }

  /** pid of the anchor process (see {@link startAnchor}), or null. */
  anchorPid: number | null = null;

  /** This node's own block device for the shared disk (its loop device over the image), set by the lab. */
  device: string | null = null;

  /**
   * Mounts `store` on `at` inside the node through FUSE (`bindfs`, no attribute or entry caching, so
   * every access reaches the store and a stopped bindfs hangs it). A dead mount left at `at` (its
   * bindfs killed in a crash: "Transport endpoint is not connected") is lazily unmounted first.
   * The bindfs daemon lives in the node's mount namespace: it is one of {@link pids}.
   */
  async mountLeaseStorage(store: string, at: string): Promise<void> {
    mkdirSync(store, { recursive: true });
    mkdirSync(at, { recursive: true });
    const fuseAt = async (): Promise<boolean> => parseMountinfo(await this.mountinfo()).some((e) => e.mountpoint === at && e.fstype.startsWith('fuse'));
    if (await fuseAt()) await this.exec(['umount', '-l', at]);
    await this.exec(['bindfs', '-o', 'attr_timeout=0,entry_timeout=0,negative_timeout=0', store, at]).then((ran) => {
      if (ran.exitCode !== 0) throw new Error(`node ${this.name}: bindfs ${store} ${at} exited ${ran.exitCode}: ${ran.stderr.trim()}`);
    });
    if (!(await fuseAt())) throw new Error(`node ${this.name}: bindfs returned but ${at} is not a FUSE mount in the node`);
  }

  /** Pids of the node's lease-storage daemon (bindfs). */
  leaseStoragePids(): number[] {
    return this.pidsNamed('bindfs');
  }

  /** SIGSTOPs the node's bindfs: every access to the lease through the node's mount hangs (a dead NFS server, for this node only). */
  freezeLeaseStorage(): void {
    const pids = this.leaseStoragePids();
    if (pids.length === 0) throw new Error(`node ${this.name}: no lease storage (bindfs) to freeze`);
    signal(pids, 'SIGSTOP');
  }

  /** SIGCONTs the node's bindfs: hung lease accesses complete. */
  thawLeaseStorage(): void {
    signal(this.leaseStoragePids(), 'SIGCONT');
  }

  /**
   * SIGSTOPs every process of the node — keepalived, the daemon, mysqld, bindfs, the anchor — as a
   * VM paused by its hypervisor. Processes the node forks meanwhile are caught by repeating until
   * a round finds none new. Its /proc stays readable: observers still see its mounts and VIP.
   * A process started in the node afterwards (`exec`, `agent`) is not frozen.
   */
  async freeze(): Promise<void> {
    const stopped = new Set<number>();
    for (let round = 0; round < 20; round++) {
      const fresh = this.pids().filter((pid) => !stopped.has(pid));
      if (fresh.length === 0 && round > 0) return;
      signal(fresh, 'SIGSTOP');
      for (const pid of fresh) stopped.add(pid);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** SIGCONTs every process of the node (see {@link freeze}). */
  thaw(): void {
    signal(this.pids(), 'SIGCONT');
  }

  /** The node's simulated watchdog device: a FIFO read by the lab's supervisor (lab/watchdog.ts). */
  get watchdogPath(): string {
    return path.join(this.dir, 'watchdog');
  }

  /** The node's mysqld socket (as written to my.cnf and the agent configuration). */
  get mysqldSocket(): string {
    return path.join(this.mysqlRunDir, 'mysqld.sock');
  }

  /** Runs SQL as root over the node's mysqld socket (mariadb client, tab-separated, no header). */
  sql(query: string): Promise<Ran> {
    return this.exec(['mariadb', '--no-defaults', '-S', this.mysqldSocket, '-u', 'root', '-N', '-e', query]);
  }

  /** /proc/self/mountinfo as seen inside the node. */
  async mountinfo(): Promise<string> {
    return (await this.exec(['cat', '/proc/self/mountinfo'])).stdout;
  }

  /** Pids of every process inside this node's mount namespace. */
  pids(): number[] {
    if (this.mntnsId === null) return [];
    const pids: number[] = [];
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid) || pid === process.pid) continue;
      try {
        if (readlinkSync(`/proc/${pid}/ns/mnt`) === this.mntnsId) pids.push(pid);
      } catch {
        // gone
      }
    }
    return pids;
  }

  /**
   * fence-agent daemon processes inside the node. A child the daemon is forking (mysqld) shows the
   * daemon's command line until it execs: processes whose parent is itself a candidate are left out.
   */
  daemonPids(): number[] {
    const read = (pid: number, file: string): string => {
      try {
        return readFileSync(`/proc/${pid}/${file}`, 'utf8');
      } catch {
        return '';
      }
    };
    const candidates = this.pids().filter((pid) => read(pid, 'cmdline').split('\0').includes('daemon'));
    const parentOf = (pid: number): number => Number(read(pid, 'stat').split(') ')[1]?.split(' ')[1]);
    return candidates.filter((pid) => !candidates.includes(parentOf(pid)));
  }

  /** How many times `device` (default the node's own) is mounted inside the node (any mountpoint). */
  async mountCount(device = this.device ?? ''): Promise<number> {
    const number = await deviceNumber(device);
    return parseMountinfo(await this.mountinfo()).filter((entry) => entry.majorMinor === number).length;
  }

  /** Pids inside the node whose /proc/PID/comm is one of `names`. */
  pidsNamed(...names: string[]): number[] {
    return this.pids().filter((pid) => {
      try {
        return names.includes(readFileSync(`/proc/${pid}/comm`, 'utf8').trim());
      } catch {
        return false;
      }
    });
  }

  /**
   * SIGKILLs every process inside the node and waits until they are gone (at most 10 s). Every
   * process is SIGSTOPped first: keepalived's children get SIGTERM when their parent dies
   * (PR_SET_PDEATHSIG), and one that handled it would send a goodbye advert (priority 0) — a
   * crashed machine says nothing. The anchor is killed last.
   */
  async killAll(): Promise<void> {
    signal(this.pids(), 'SIGSTOP');
    const deadline = Date.now() + 10_000;
    for (;;) {
      const pids = this.pids();
      if (pids.length === 0) return;
      if (Date.now() > deadline) throw new Error(`node ${this.name}: processes ${pids.join(', ')} survive SIGKILL`);
      // the anchor dies last: while it lives, observers (the invariant monitor) see the node's
      // mounts, so they never see its mysqld without them
      const others = pids.filter((pid) => pid !== this.anchorPid);
      signal(others.length > 0 ? others : pids, 'SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /**
   * Tears the node down: processes, mount namespace (and every mount in it, its FUSE mount too),
   * network namespace. A frozen node is thawed first, so that nothing waits on a stopped bindfs.
   */
  async destroy(): Promise<void> {
    this.thaw();
    await this.killAll().catch(() => undefined);
    await sh(['umount', this.mntnsFile]);
    await sh(['umount', this.nsDir]);
    await sh(['ip', 'netns', 'del', this.netns]);
    this.mntnsId = null;
  }

  /** Writes my.cnf for this node's mysqld (datadir on the shared disk, socket and pid outside it). */
  writeMyCnf(mountpoint: string, serverId = 1): void {
    mkdirSync(this.mysqlRunDir, { recursive: true });
    const lines = [
      '[mysqld]',
      `datadir=${mountpoint}/mysql`,
      `socket=${path.join(this.mysqlRunDir, 'mysqld.sock')}`,
      `pid-file=${path.join(this.mysqlRunDir, 'mysqld.pid')}`,
      `log-error=${path.join(this.mysqlRunDir, 'mysqld.err')}`,
      'user=mysql',
      `server-id=${serverId}`,
      'bind-address=0.0.0.0',
      ...MYSQLD_SETTINGS,
    ];
    writeFileSync(this.myCnf, `${lines.join('\n')}\n`);
  }

  /** The agent's `mysqld` section for this node's my.cnf (see {@link writeMyCnf}). */
  agentMysqldConfig(): Record<string, unknown> {
    return {
      start: ['/usr/sbin/mariadbd', `--defaults-file=${this.myCnf}`],
      user: 'mysql',
      pidFile: path.join(this.mysqlRunDir, 'mysqld.pid'),
      socket: this.mysqldSocket,
      outputFile: path.join(this.dir, 'mysqld.out'),
    };
  }

  /** Writes this node's agent configuration (mode 0600) and returns it. */
  writeConfig(config: Record<string, unknown>): Record<string, unknown> {
    writeFileSync(this.configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
    chmodSync(this.configPath, 0o600);
    return config;
  }

  /** Removes the node's files (after destroy). */
  removeFiles(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Sends `name` to each pid; a pid already gone is skipped. */
function signal(pids: readonly number[], name: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, name);
    } catch {
      // gone
    }
  }
}
