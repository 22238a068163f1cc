// The one interface every fencing method implements. Shaped so that SCSI-3 persistent
// reservations (register, reserve WERO type 5, PREEMPT AND ABORT, read-back of keys and the
// reservation) fit without change: `identity` is the node's key, `registrants` the registered keys.

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
  /** one line for humans, e.g. `lease /nfs/fa/lease held by db1 (pid 812), refreshed 0.4 s ago` */
  detail: string;
}

/** Static description of the fence (for `status` and logs). */
export interface FenceDescription {
  method: 'lockfile' | 'none';
  /** what is fenced: the lease path, the device; null for `none` */
  target: string | null;
  /** this node's identity on the fence: its name, or its reservation key */
  identity: string;
}

/** Called at most once per acquisition when a held fence is lost (taken over, removed, preempted). */
export type FenceLostListener = (reason: string) => void;

export interface Fence {
  describe(): FenceDescription;
  /**
   * Takes the fence, waiting (and retrying) until it is ours or `signal` aborts. Idempotent: a
   * node that already holds it gets its status back. A lease or reservation left behind by this
   * node's own dead process is reclaimed at once.
   * @throws FenceAgentError code `EFENCE` when the fence is held by another node and `signal` aborts,
   *   or the abort reason (a `DeadlineError`, code `EDEADLINE`).
   */
  acquire(signal: AbortSignal): Promise<FenceStatus>;
  /** Gives the fence up if this node holds it. Idempotent; never touches a peer's fence. */
  release(signal: AbortSignal): Promise<void>;
  /**
   * Reads the fence back from the storage. Read-only; usable from any process (`check`,
   * `status`). Bounded: storage that does not answer within `timeoutMs` (default per method)
   * makes it reject (code `ETIMEDOUT`) instead of hanging.
   */
  verify(timeoutMs?: number): Promise<FenceStatus>;
  /** Registers a listener for loss of a fence held by this process (the daemon). */
  onLost(listener: FenceLostListener): void;
}
