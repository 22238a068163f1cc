// Which of two role requests was issued later (issue 11 §7). The wall clock cannot say: a backward
// step (chrony makestep, `date -s`, a VM resumed after a pause) makes every later request look
// older than the one already applied, and the daemon would skip keepalived's MASTER. So a request
// carries an IssueOrder on a clock that never steps: ms since boot on CLOCK_BOOTTIME, with the boot
// id that makes it meaningful.
//   - notify (the 4-argument form): the kernel's fork time of the notify process and its pid —
//     keepalived forks its scripts one after another from one process, so within one 10 ms tick
//     the larger pid (wrap-aware) was forked later;
//   - notify_fifo lines and the daemon's own requests: the time they were read or made (`tie` 0;
//     equal orders go to the later arrival, which on the FIFO is keepalived's own order).
// A request from the running boot is newer than one from any other boot, or one recorded without an
// order (an older agent's state file); between two of those, the wall clock is all there is.
import { bootId, bootMsNow, forkedAtBootMs } from './proc.ts';

/** Where a request sits on one boot's timeline. */
export interface IssueOrder {
  /** kernel boot id (/proc/sys/kernel/random/boot_id) of the boot `bootMs` is counted on */
  boot: string;
  /** ms since boot, CLOCK_BOOTTIME, 10 ms resolution */
  bootMs: number;
  /** breaks a tie within one tick: the notify process's pid, else 0 */
  tie: number;
}

/** The part of a request the order is read from. */
export interface Issued {
  /** ms since the epoch: for humans, and the order of last resort */
  issuedAt: number;
  order?: IssueOrder;
}

/** Why `value` is not a well-formed {@link IssueOrder}, or null when it is one. */
export function issueOrderProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return 'expected an object';
  const o = value as Record<string, unknown>;
  if (typeof o.boot !== 'string' || o.boot === '' || o.boot.length > 64) return 'boot: expected a boot id';
  if (typeof o.bootMs !== 'number' || !Number.isFinite(o.bootMs) || o.bootMs < 0) return 'bootMs: expected ms since boot';
  if (typeof o.tie !== 'number' || !Number.isInteger(o.tie) || o.tie < 0) return 'tie: expected a pid or 0';
  return null;
}

/** The order of a request made now by this process (a FIFO line read, the daemon's own request). */
export function orderNow(): IssueOrder {
  return { boot: bootId(), bootMs: bootMsNow(), tie: 0 };
}

/** The order of the request `notify` process `pid` carries: its fork time and its pid. @throws the fs error when the process is gone */
export function orderOfForkedProcess(pid: number = process.pid): IssueOrder {
  return { boot: bootId(), bootMs: forkedAtBootMs(pid), tie: pid };
}

/** pids within one tick further apart than this are taken for a wrap past pid_max */
const PID_WRAP_GAP = 16_384;

function compareTies(a: number, b: number): number {
  if (a === 0 || b === 0 || a === b) return 0;
  const gap = a - b;
  return Math.abs(gap) > PID_WRAP_GAP ? -Math.sign(gap) : Math.sign(gap);
}

/**
 * Compares when two requests were issued: < 0 when `a` was issued before `b`, > 0 after, 0 when
 * nothing tells them apart (the later arrival then wins). `currentBoot` is this boot's id.
 */
export function compareIssued(a: Issued, b: Issued, currentBoot: string = bootId()): number {
  const aNow = a.order?.boot === currentBoot;
  const bNow = b.order?.boot === currentBoot;
  if (aNow && bNow) {
    const ao = a.order as IssueOrder;
    const bo = b.order as IssueOrder;
    return Math.sign(ao.bootMs - bo.bootMs) || compareTies(ao.tie, bo.tie);
  }
  if (aNow !== bNow) return aNow ? 1 : -1;
  return Math.sign(a.issuedAt - b.issuedAt);
}

/** The request issued last of `requests` (in arrival order; a tie goes to the later arrival). @throws TypeError on an empty list */
export function latestIssued<T extends Issued>(requests: readonly T[], currentBoot: string = bootId()): T {
  if (requests.length === 0) throw new TypeError('latestIssued: no requests');
  return requests.reduce((a, b) => (compareIssued(b, a, currentBoot) >= 0 ? b : a));
}
