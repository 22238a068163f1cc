// The holder's right to write, on its own monotonic clock (DESIGN §5, issue "Close the lease
// hole"). With t_g the monotonic time at which the last good refresh *started*, S the stale time,
// M the margin and W the watchdog timeout (0 without one):
//   - the holder may write, and pets the watchdog, only while now − t_g ≤ S − M − W;
//   - at that instant it starts self-fencing; the watchdog, no longer petted, fires at the latest
//     at t_g + S − M, so the node is fenced or dead by then;
//   - the peer takes over only after seeing the record unchanged for ≥ S + M: 2M later.
// A refresh is started only if it can land (T_io) before the right ends, and counts as good only if
// it completed within T_io: a write that lands later cannot be relied on by the peer's observation.

export interface HolderTimers {
  /** S, ms */
  staleMs: number;
  /** M, ms */
  marginMs: number;
  /** T_io: the bound on one refresh (read-compare-write), ms */
  ioTimeoutMs: number;
  /** W, ms; 0 without a watchdog */
  watchdogMs: number;
}

export class HolderClock {
  private goodStartMs: number | null = null;

  constructor(readonly timers: HolderTimers) {}

  /** How long after t_g the right to write lasts: S − M − W, ms. */
  get rightMs(): number {
    return this.timers.staleMs - this.timers.marginMs - this.timers.watchdogMs;
  }

  /**
   * Records a refresh (or the acquiring write) that started at `startedMs` and completed at
   * `completedMs`. Returns false, and changes nothing, when it took longer than T_io (not good) or
   * when it started after the right had already ended (a late refresh never revives a lost right).
   */
  good(startedMs: number, completedMs: number): boolean {
    if (completedMs - startedMs > this.timers.ioTimeoutMs) return false;
    if (this.goodStartMs !== null && startedMs > this.goodStartMs + this.rightMs) return false;
    if (this.goodStartMs === null || startedMs > this.goodStartMs) this.goodStartMs = startedMs;
    return true;
  }

  /** t_g: monotonic start of the last good refresh, or null before the first. */
  get lastGoodStartMs(): number | null {
    return this.goodStartMs;
  }

  /** Monotonic time at which the right to write ends (t_g + S − M − W), or null. */
  get rightEndsAtMs(): number | null {
    return this.goodStartMs === null ? null : this.goodStartMs + this.rightMs;
  }

  /** Monotonic time by which the node is fenced or reset by its watchdog (t_g + S − M), or null. */
  get deadByMs(): number | null {
    return this.goodStartMs === null ? null : this.goodStartMs + this.timers.staleMs - this.timers.marginMs;
  }

  /** True while now − t_g ≤ S − M − W. */
  mayWrite(nowMs: number): boolean {
    const end = this.rightEndsAtMs;
    return end !== null && nowMs <= end;
  }

  /** True when a refresh started at `nowMs` would land (within T_io) before the right ends. */
  mayStartRefresh(nowMs: number): boolean {
    const end = this.rightEndsAtMs;
    return end !== null && nowMs + this.timers.ioTimeoutMs <= end;
  }
}
