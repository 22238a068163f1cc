// The peer's rule for a lease it does not hold, as sanlock decides a delta lease is dead: watch the
// record, on this node's own monotonic clock, and take it over only after it has been seen
// *unchanged* for `takeoverAfterMs` (≥ S + M). No timestamp written by the holder is ever compared
// with our clock, so clock skew between nodes and NFS attribute times play no part.
//
// "Unchanged since" starts at the first read that returned the current text: the change happened
// before that read, so the measured duration never exceeds the real one (conservative). A failed
// read says nothing and changes nothing: a later read of the same text proves that no refresh
// landed in between, because every refresh bumps the counter and every tenure has a new nonce.

export class LeaseObserver {
  private text: string | null | undefined = undefined;
  private sinceMs = 0;

  /** @param takeoverAfterMs how long the record must be seen unchanged before a takeover, ms */
  constructor(readonly takeoverAfterMs: number) {}

  /**
   * Records one successful read of the lease file at `nowMs` (monotonic). `text` null = no file.
   * Returns true when the text differs from the previous read (the observation restarts).
   */
  saw(text: string | null, nowMs: number): boolean {
    if (this.text !== undefined && this.text === text) return false;
    this.text = text;
    this.sinceMs = nowMs;
    return true;
  }

  /** The text last read, or undefined before the first read. */
  get lastText(): string | null | undefined {
    return this.text;
  }

  /** How long (ms) the current text has been seen unchanged at `nowMs`; null before the first read. */
  unchangedForMs(nowMs: number): number | null {
    return this.text === undefined ? null : Math.max(0, nowMs - this.sinceMs);
  }

  /** True once the current text has been seen unchanged for at least `takeoverAfterMs`. */
  mayTakeOver(nowMs: number): boolean {
    const unchanged = this.unchangedForMs(nowMs);
    return unchanged !== null && unchanged >= this.takeoverAfterMs;
  }

  /** ms left until {@link mayTakeOver} (0 when it already may); null before the first read. */
  remainingMs(nowMs: number): number | null {
    const unchanged = this.unchangedForMs(nowMs);
    return unchanged === null ? null : Math.max(0, this.takeoverAfterMs - unchanged);
  }

  /** Forgets everything (the next read starts a new observation). */
  reset(): void {
    this.text = undefined;
    this.sinceMs = 0;
  }
}
