// The one interface every fencing method implements. Shaped so that SCSI-3 persistent
// reservations (register, reserve WERO type 5, PREEMPT AND ABORT, read-back of keys and the
// reservation) fit without change: `identity` is the node's key, `registrants` the registered keys.
//
// The rule every method enforces (DESIGN §5): a node may write to the shared device only while it
// holds the fence, and it must lose the ability to write — not just the wish — when the fence is
// taken from it. `mayWrite()` is the daemon's own, monotonic-clock answer to "may I still write?";
// the daemon pets the watchdog only while it is true and self-fences the moment it is not.

/** What a read-back of the fence shows. */
export interface FenceStatus {
  /**
   * true: this node holds the fence; false: it does not; null: the method holds nothing at all
   * (`none`), so "held" is neither required of a MASTER nor forbidden to a BACKUP.
   */
  held: boolean | null;
  /** who holds it, as the storage or lease says (a node name or reservation key), or null if free */
  holder: string | null;
  /** registered identities (SCSI-3 PR registrants); empty for methods without registration */
  registrants: string[];
  /** one line for humans, e.g. `lease /nfs/fa/lease held by db1 (pid 812, counter 41); right to write 5.2 s more` */
  detail: string;
}

/** Static description of the fence (for `status` and logs). */
export interface FenceDescription {
  method: 'lockfile' | 'scsi-pr' | 'none';
  /** what is fenced: the lease path, the device; null for `none` */
  target: string | null;
  /** this node's identity on the fence: its name, or its reservation key */
  identity: string;
  /** configuration choices that weaken the fence, one line each; `status` and the daemon's log repeat them */
  warnings: string[];
}

/** Called at most once per tenure when a held fence is lost (taken over, expired, unreadable past its bound). */
export type FenceLostListener = (reason: string) => void;

export interface Fence {
  describe(): FenceDescription;
  /**
   * Takes the fence, waiting (and retrying) until it is ours or `signal` aborts. Idempotent: a
   * node that already holds it gets its status back. A fence left behind by this node's own dead
   * daemon is reclaimed at once.
   * @throws FenceAgentError code `EFENCE` when the fence is held by another node and `signal` aborts,
   *   code `EHOLDERALIVE` when the method can tell the holder is alive and will not take it (scsi-pr:
   *   its MMP heartbeat moves — a partition, not a dead node), or the abort reason (a
   *   `DeadlineError`, code `EDEADLINE`).
   */
  acquire(signal: AbortSignal): Promise<FenceStatus>;
  /**
   * Gives the fence up if this node holds it (or its own dead daemon left it). Idempotent; never
   * touches a peer's fence. Call only after the unmount was verified (DESIGN §4).
   * @throws FenceAgentError code `EFENCE` when the release could not be written (storage not answering).
   */
  release(signal: AbortSignal): Promise<void>;
  /**
   * Reads the fence back from the storage. Read-only; usable from any process (`check`,
   * `status`). Bounded: storage that does not answer within `timeoutMs` (default per method)
   * makes it reject (code `ETIMEDOUT`) instead of hanging.
   */
  verify(timeoutMs?: number): Promise<FenceStatus>;
  /** Registers a listener for loss of a fence held by this process (the daemon). */
  onLost(listener: FenceLostListener): void;
  /** Starts the daemon's background work: refresh (or watch) while held, observe the peer while not. */
  start(): void;
  /** Stops the background work (timers); holds or releases nothing by itself. */
  stop(): void;
  /**
   * Whether this process holds the fence *and* its right to write has not ended, by this node's
   * monotonic clock. null for a method without a fence (`none`).
   */
  mayWrite(): boolean | null;
  /** Whether this process holds the fence (acquired, not yet released or lost). */
  holding(): boolean;
  /**
   * Renews a held fence now rather than at the next interval, for a daemon handing the node to
   * the next one (a systemd restart): the next daemon inherits the longest right to write.
   * Resolves true when the renewal counted (lockfile: a good refresh), false otherwise; never
   * throws. Absent for methods with nothing to renew.
   */
  refreshNow?(): Promise<boolean>;
  /**
   * Whether this process holds the fence and a fresh read of the storage showed no other node
   * registered on it (SCSI-3 PR: our key the only one). The daemon defers a keepalived BACKUP
   * request for a hold-down while it is true (issue 9 §2: a thawed zombie that wins VRRP back
   * cannot write, so the database need not move). Absent for methods without registration.
   */
  registeredAlone?(): boolean;
  /**
   * For a daemon that does not hold the fence and whose node has the filesystem nowhere (an idle
   * BACKUP): reads the storage and removes this node's own registration if one is there
   * (SCSI-3 PR: registered ⟺ MASTER — under WERO every registrant may write; a key left by a
   * crash between REGISTER and the read-back, or registered by hand). Resolves with one line
   * saying what was removed, or null when there was nothing to do; never throws (a failed read
   * or unregister is logged and retried at the next call). Absent for methods without registration.
   */
  dropStrayRegistration?(): Promise<string | null>;
  /**
   * Whom the last acquire that completed in this process took the fence from, or null when it was
   * free, released, already this node's, or never acquired: lockfile, a record left unchanged for
   * `takeoverAfterMs` (`from`: the node it names, `unreadable` for a record that could not be read);
   * scsi-pr, the other keys preempted (`from`: those keys). `detail` is one line for people. The
   * daemon calls a promotion that took the fence this way a failover (src/events/classify.ts).
   * Absent for methods that hold nothing.
   */
  lastTakeover?(): Takeover | null;
}

/** See {@link Fence.lastTakeover}. */
export interface Takeover {
  /** the previous holder: a node name (lockfile), `unreadable`, or the preempted reservation keys (scsi-pr) */
  from: string;
  detail: string;
}
