// The scenario layer's view of a two-node lab (issue 8 item 4): what a scenario, the invariant
// monitor and the write ledger need from a pair of database nodes, whatever runs them — the netns
// lab (lab/pair.ts, lab/pair-cluster.ts) or the two-VM lab. Scenarios, monitor and ledger are
// written once, against these interfaces.
import type { AgentState } from '../src/state.ts';
import type { Ran } from './sh.ts';

/** One node in one observation, as the invariant monitor judges it. */
export interface NodeSample {
  /** nothing observable (the node is crashed, powered off, booting): no mountinfo, VIP or mysqld */
  down: boolean;
  /**
   * the node has the disk: its device in its mountinfo, or its superblock alive ({@link superblock})
   * — a lazily unmounted filesystem still held open can still be written
   */
  mounted: boolean;
  /** the filesystem's superblock is alive on the node's kernel (read even while the node is down, where possible) */
  superblock: boolean;
  vip: boolean;
  /** mysqld processes on the node */
  mysqld: number;
  /**
   * this sample describes an earlier instant than another node's in the same observation (the VM
   * lab's samples arrive late from a starved guest): the cross-node invariants (S1, the single
   * VIP) skip it until a sample of the same moment arrives
   */
  behind?: boolean;
}

/** Both nodes at one instant, and who the lease names. */
export interface ClusterObservation {
  nodes: Record<string, NodeSample>;
  /** the node the fence names as holder (lease record `state: "held"`), or null */
  leaseHolder: string | null;
  /**
   * Per node: whether the lease named it at some instant that node's sample may describe. An
   * observer whose samples arrive late (the VM lab's, streamed from guests) sets it, so a mount
   * seen late is judged against the lease of its own time (S2); without it, `leaseHolder` counts.
   */
  leaseHeldBy?: Record<string, boolean>;
  /**
   * scsi-pr: per node, whether the storage would take its writes at some instant its sample may
   * describe (its key registered, or no reservation at all), as a third initiator reads the keys
   * (lab/iscsi/key-watch.ts). When set, S1 and S2 are judged by it: a node whose key was removed
   * may keep a stale mount (a paused or frozen zombie) — the storage refuses its writes.
   */
  ableToWrite?: Record<string, boolean>;
}

/**
 * How the monitor sees the nodes. `observe()` is called at the monitor's rate (≥ 20 Hz in the
 * netns lab) and must be quick and synchronous: the netns lab reads /proc directly; the VM lab
 * returns what each guest's long-lived sampler streamed last.
 */
export interface ClusterObserver {
  readonly nodeNames: readonly string[];
  start(): Promise<void>;
  observe(): ClusterObservation;
  /**
   * Samples per second the observer really takes of the nodes, when that differs from how often
   * `observe()` is called (the VM lab's guests stream at their own rate); absent = the monitor's rate
   */
  rate?(): number | null;
  stop(): void;
}

/** One line of the agent's log (pino JSON). */
export interface LogLine {
  msg: string;
  level?: number;
  /** the agent's monotonic time of the event (lease and self-fence lines carry it), ms */
  mono?: number;
  /** pino's wall-clock time of the line, ms since the epoch (the node's clock) */
  time?: number;
  [key: string]: unknown;
}

/** The agent's JSON log lines in `text` whose message matches `pattern` (all without one); other lines skipped. */
export function parseLogLines(text: string, pattern?: RegExp): LogLine[] {
  const lines: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const parsed = JSON.parse(line) as LogLine;
      if (pattern === undefined || pattern.test(parsed.msg)) lines.push(parsed);
    } catch {
      // a line being written
    }
  }
  return lines;
}

export interface ClusterNode {
  readonly name: string;
  /** how much slower than the netns lab this node answers and boots (waits are multiplied by it) */
  readonly timeScale: number;
  /** MariaDB `server_id` of this node (the ledger records it per acknowledgement) */
  readonly serverId: number;
  /** Runs the fence-agent CLI on the node with its configuration. */
  agent(args: readonly string[]): Promise<Ran>;
  /** SQL as root over the node's mysqld socket (tab-separated, no header). */
  sql(query: string): Promise<Ran>;
  /**
   * A shell script run as root on the node (`sh -c`), for scenarios that change the node's own
   * files (fstab, units) as an operator would; VM lab only (the netns lab's nodes share the host's /etc).
   */
  shell?(script: string, timeoutMs?: number): Promise<Ran>;
  /** The daemon's state file, or null. */
  state(): Promise<AgentState | null>;
  /** The events the lab's `events.exec` hook received on this node (ScenarioOptions.events), oldest first; netns lab only. */
  hookEvents?(): Promise<Record<string, unknown>[]>;
  /** The agent's log lines whose message matches `pattern` (all without one). */
  logLines(pattern?: RegExp): Promise<LogLine[]>;
  /** The last `lines` lines of the agent log and keepalived's, for failure messages. */
  logTail(lines: number): Promise<string>;
  /** Everything the node logged during the scenario (agent, keepalived, and what else the lab keeps), for a failed run's files. */
  fullLog(): Promise<string>;
  /** fence-agent daemon processes on the node. */
  daemonPids(): Promise<number[]>;
  /** mysqld processes on the node. */
  mysqldPids(): Promise<number[]>;
  /** Sends `signalName` to process `pid` of the node. */
  signal(pid: number, signalName: NodeJS.Signals): Promise<void>;
  /** How many times the node's shared device is mounted on the node. */
  mountCount(): Promise<number>;
  /** Starts the agent daemon as systemd would (after a crash); resolves once it listens. */
  startDaemon(): Promise<void>;
  /**
   * Starts a process on the node that holds `file` open and ignores SIGTERM (scenario "a process
   * holding a file open"); `exited` resolves with the signal that ended it.
   */
  holdFileOpen(file: string): Promise<{ exited: Promise<NodeJS.Signals | null> }>;
  /**
   * Starts `fence-agent notify ARGS` on the node and holds the process back right after it is
   * forked (SIGSTOP), as a scheduler may deschedule a notify keepalived forked first; `release()`
   * lets it run and resolves with its exit code (null: killed or unknown) and what it wrote to stderr.
   */
  notifyHeldBack(args: readonly string[]): Promise<{ release(): Promise<{ exitCode: number | null; stderr: string }> }>;
}

/** Where the ledger's client runs and writes. */
export interface LedgerTarget {
  /** directory for the ledger's ack and log files */
  readonly dir: string;
  /** the network namespace the client runs in (an application server's place on the network); null = this one */
  readonly clientNetns: string | null;
  /** the VIP the client writes through */
  readonly vip: string;
}

export interface Cluster extends LedgerTarget {
  readonly kind: 'netns' | 'vm';
  /** how much slower than the netns lab the pair is (a scenario's waits are multiplied by it) */
  readonly timeScale: number;
  /** true when both nodes and the host share one monotonic clock (the netns lab) */
  readonly sharedClock: boolean;
  readonly nodes: readonly ClusterNode[];
  /** the shared filesystem's mountpoint on the nodes (the datadir is `<mountpoint>/mysql`) */
  readonly mountpoint: string;
  /** the agents' lease timers, ms: S (`fence.staleMs`) and M (`fence.marginMs`) */
  readonly lease: { staleMs: number; marginMs: number };
  /**
   * scsi-pr only: the LU's keys and reservation as a third initiator last read them, by node
   * name (a key of no node by itself); undefined for a cluster without persistent reservations.
   */
  prState?(): { registered: string[]; holder: string | null; type: number | null } | null;
  /**
   * scsi-pr only: per node, whether the third initiator saw its key registered (and whether the
   * storage took writes from it) at some instant of [fromMono, toMono] (host monotonic ms); null
   * before the first read.
   */
  prVerdicts?(fromMono: number, toMono: number): Record<string, { registered: boolean; ableToWrite: boolean }> | null;
  /** The whole machine paused (QEMU `stop`: its clocks and watchdog stop too) and resumed; VM lab only. */
  pause?(node: ClusterNode): Promise<void>;
  resume?(node: ClusterNode): Promise<void>;
  /**
   * The node's wall clock stepped by `deltaMs` (`date -s`, as chrony's makestep or a resumed VM
   * does; its monotonic clock does not move); VM lab only (the netns lab's nodes share the host's
   * clock). The lab sets it back from the host's when the scenario ends.
   */
  stepClock?(node: ClusterNode, deltaMs: number): Promise<void>;
  /**
   * Lets root on `from` run commands on `to` over ssh without a prompt, as an operator sets up
   * `doctor --peer` (a key, and the peer's host key accepted on first use); returns the address of
   * `to` on the cluster link. VM lab only (the netns lab's nodes have no sshd).
   */
  trustPeerSsh?(from: ClusterNode, to: ClusterNode): Promise<string>;
  /**
   * A second LU on the storage, seen by `node` (a session rescan): its device path there (a
   * `/dev/disk/by-path` link). {@link removeSecondLu} takes it away. VM lab with tgtd only.
   */
  addSecondLu?(node: ClusterNode): Promise<string>;
  /**
   * scsi-pr: a third initiator (not a node) registers a key of its own and PREEMPTs `victim`'s, so
   * the storage refuses the victim's writes while no node has promoted. Returns the third key. VM lab.
   */
  preemptByThirdInitiator?(victim: ClusterNode): Promise<string>;
  removeSecondLu?(): Promise<void>;
  /** Lines of the node's kernel log (this boot's ring buffer) matching the extended regex `pattern`; VM lab only. */
  kernelLogCount?(node: ClusterNode, pattern: string): Promise<number>;
  node(name: string): ClusterNode;
  other(node: ClusterNode): ClusterNode;
  /** Which node holds the VIP now, or null; throws if both do. */
  vipHolder(): Promise<ClusterNode | null>;
  /** Waits until one node is a healthy MASTER and the other a healthy BACKUP (`check`). */
  waitConverged(timeoutMs?: number): Promise<{ master: ClusterNode; backup: ClusterNode }>;
  /** Creates the ledger's database and user on the MASTER (idempotent). */
  prepareDatabase(master: ClusterNode): Promise<void>;
  /** A fresh observer of both nodes for the invariant monitor. */
  observer(): ClusterObserver;
  /** The node loses power: every process gone, its VIP, link and mounts with it. */
  crash(node: ClusterNode): Promise<void>;
  /** The crashed node boots again (it rejoins as BACKUP). */
  revive(node: ClusterNode): Promise<void>;
  /** Every process of the node stops (a paused machine); {@link thaw} resumes them. */
  freeze(node: ClusterNode): Promise<void>;
  thaw(node: ClusterNode): Promise<void>;
  /** The node's lease storage stops answering, for that node alone. */
  freezeLeaseStorage(node: ClusterNode): Promise<void>;
  thawLeaseStorage(node: ClusterNode): Promise<void>;
  /** keepalived stopped as an operator does (it notifies STOP and releases the VIP). */
  stopKeepalived(node: ClusterNode): Promise<void>;
  startKeepalived(node: ClusterNode): Promise<void>;
  /** Every keepalived process of the node SIGKILLed: no notify, its VIP left on the interface. */
  killKeepalived(node: ClusterNode): Promise<void>;
  /**
   * `systemctl restart fence-agent` on the node (the VM lab; the netns lab has no systemd and throws).
   * Resolves once the new daemon answers `status`.
   */
  restartDaemonService(node: ClusterNode): Promise<void>;
  /**
   * The node loses its path to the shared disk (the VM lab; the netns lab's loop devices have no
   * path and throw): `logout` = a clean iSCSI logout (the device disappears), `hang` = its iSCSI
   * traffic black-holed (I/O waits until the session's replacement_timeout, then fails;
   * `replacementTimeoutS` sets it first). {@link restoreStoragePath} brings the path back and
   * waits for the device.
   */
  cutStoragePath(node: ClusterNode, how: 'logout' | 'hang', replacementTimeoutS?: number): Promise<void>;
  restoreStoragePath(node: ClusterNode): Promise<void>;
  /** The node's cluster link is cut (VRRP adverts stop both ways; storage stays). */
  cutClusterLink(node: ClusterNode): Promise<void>;
  restoreClusterLink(node: ClusterNode): Promise<void>;
  /** The node's watchdog resets, each with the host's monotonic time. */
  watchdogFires(node: ClusterNode): Promise<{ mono: number; at: string; why?: string }[]>;
  /** Tears everything down; `fsck -n` of the shared disk afterwards (null when already destroyed). */
  destroy(): Promise<{ clean: boolean; output: string } | null>;
}
