// What keepalived hands us (keepalived.conf(5)): the `notify` script gets four extra arguments
// `GROUP|INSTANCE NAME STATE PRIORITY`; `notify_master` & co. get only what is configured (we
// document `fence-agent notify master|backup|fault|stop|deleted`); notify_fifo lines read
// `INSTANCE "VI_1" MASTER 100`.
import { usageError } from './errors.ts';
import type { VrrpState } from './state.ts';

const STATES: readonly VrrpState[] = ['MASTER', 'BACKUP', 'FAULT', 'STOP', 'DELETED'];

export const NOTIFY_USAGE =
  'usage: fence-agent notify master|backup|fault|stop|deleted  or  fence-agent notify INSTANCE|GROUP NAME MASTER|BACKUP|FAULT|STOP|DELETED PRIORITY';

/** The longest argument `notify` reads, characters: an instance name is one keepalived.conf word. */
export const MAX_NOTIFY_ARG = 256;

export interface NotifyEvent {
  vrrpState: VrrpState;
  /** `INSTANCE` or `GROUP` in the 4-argument form; null for the single word */
  type: 'INSTANCE' | 'GROUP' | null;
  /** VRRP instance or group name; null for the single word */
  name: string | null;
  priority: number | null;
}

/**
 * An argument for an error line: JSON-quoted (control characters escaped), cut to 40 characters
 * with its length when longer — never a 100 kB argument echoed into keepalived's or our log.
 */
export const quoteArg = (arg: string): string => (arg.length <= 40 ? JSON.stringify(arg) : `${JSON.stringify(arg.slice(0, 40))}… (${arg.length} characters)`);

/** The state `word` spells exactly, in upper case or (`lowerToo`) lower case; no case folding, so `maſter` is not `MASTER`. */
const stateOf = (word: string, lowerToo: boolean): VrrpState | null => {
  const found = STATES.find((state) => word === state || (lowerToo && word === state.toLowerCase()));
  return found ?? null;
};

/**
 * Parses notify arguments, exactly as keepalived spells them (keepalived.conf(5), `notify`):
 * the 4-argument form `INSTANCE|GROUP NAME STATE PRIORITY` in upper case, as keepalived sends
 * it; the single word of a `notify_master`-style line (`notify_deleted` too, keepalived 2.2) in
 * lower case as documented here, or upper case. Nothing that only case-folds to these (`Master`,
 * `maſter`, `ﬆop`) is accepted. DELETED (sent instead of FAULT for an instance removed by a reload,
 * with `notify_deleted`) means the instance is gone: the daemon demotes as for STOP.
 * @throws FenceAgentError code `EUSAGE` (exit 2) naming what was wrong; an argument longer than
 *   {@link MAX_NOTIFY_ARG} characters is refused and quoted cut short.
 */
export function parseNotifyArgs(args: readonly string[]): NotifyEvent {
  const long = args.findIndex((arg) => arg.length > MAX_NOTIFY_ARG);
  if (long !== -1) throw usageError(`argument ${long + 1} is longer than ${MAX_NOTIFY_ARG} characters: ${quoteArg(args[long] as string)}; ${NOTIFY_USAGE}`);
  if (args.length === 1) {
    const vrrpState = stateOf(args[0] as string, true);
    if (vrrpState === null) throw usageError(`unknown state ${quoteArg(args[0] as string)} (expected exactly one of master, backup, fault, stop, deleted, in lower or upper case); ${NOTIFY_USAGE}`);
    return { vrrpState, type: null, name: null, priority: null };
  }
  if (args.length === 4) {
    const [type, name, state, priority] = args as [string, string, string, string];
    if (type !== 'INSTANCE' && type !== 'GROUP') throw usageError(`expected INSTANCE or GROUP, got ${quoteArg(type)}; ${NOTIFY_USAGE}`);
    const vrrpState = stateOf(state, false);
    if (vrrpState === null) throw usageError(`unknown state ${quoteArg(state)} (expected MASTER, BACKUP, FAULT, STOP or DELETED, as keepalived sends it); ${NOTIFY_USAGE}`);
    const prio = Number(priority);
    if (!/^\d{1,3}$/.test(priority) || prio > 255) throw usageError(`expected a priority 0..255, got ${quoteArg(priority)}; ${NOTIFY_USAGE}`);
    if (name === '') throw usageError(`empty instance name; ${NOTIFY_USAGE}`);
    return { vrrpState, type, name, priority: prio };
  }
  throw usageError(`expected 1 or 4 arguments, got ${args.length}; ${NOTIFY_USAGE}`);
}

/**
 * Parses one notify_fifo line; null for lines that are not a VRRP state change of an instance or
 * group (e.g. `MASTER_RX_LOWER_PRI`, `*_PRIORITY` changes, virtual server lines). DELETED as in
 * {@link parseNotifyArgs}.
 */
export function parseFifoLine(line: string): NotifyEvent | null {
  const match = /^(INSTANCE|GROUP) "([^"]*)" ([A-Z_]+) (\d+)\s*$/.exec(line.trim());
  if (match === null) return null;
  const vrrpState = stateOf(match[3] as string, false);
  if (vrrpState === null) return null;
  return { vrrpState, type: match[1] as 'INSTANCE' | 'GROUP', name: match[2] as string, priority: Number(match[4]) };
}

/** True when the event concerns the configured instance (or none is configured). */
export const isForInstance = (event: NotifyEvent, instance: string | null): boolean =>
  instance === null || event.name === null || event.name === instance;
