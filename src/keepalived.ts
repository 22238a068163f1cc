// What keepalived hands us (keepalived.conf(5)): the `notify` script gets four extra arguments
// `GROUP|INSTANCE NAME STATE PRIORITY`; `notify_master` & co. get only what is configured (we
// document `fence-agent notify master|backup|fault|stop`); notify_fifo lines read
// `INSTANCE "VI_1" MASTER 100`.
import { usageError } from './errors.ts';
import type { VrrpState } from './state.ts';

const STATES: readonly VrrpState[] = ['MASTER', 'BACKUP', 'FAULT', 'STOP', 'DELETED'];

export const NOTIFY_USAGE =
  'usage: fence-agent notify master|backup|fault|stop  or  fence-agent notify INSTANCE|GROUP NAME MASTER|BACKUP|FAULT|STOP PRIORITY';

export interface NotifyEvent {
  vrrpState: VrrpState;
  /** `INSTANCE` or `GROUP` in the 4-argument form; null for the single word */
  type: 'INSTANCE' | 'GROUP' | null;
  /** VRRP instance or group name; null for the single word */
  name: string | null;
  priority: number | null;
}

const stateOf = (word: string): VrrpState | null => {
  const upper = word.toUpperCase();
  return (STATES as readonly string[]).includes(upper) ? (upper as VrrpState) : null;
};

/**
 * Parses notify arguments, case-insensitively.
 * @throws FenceAgentError code `EUSAGE` (exit 2) naming what was wrong.
 */
export function parseNotifyArgs(args: readonly string[]): NotifyEvent {
  if (args.length === 1) {
    const vrrpState = stateOf(args[0] as string);
    if (vrrpState === null || vrrpState === 'DELETED') throw usageError(`notify: unknown state "${args[0]}"; ${NOTIFY_USAGE}`);
    return { vrrpState, type: null, name: null, priority: null };
  }
  if (args.length === 4) {
    const [type, name, state, priority] = args as [string, string, string, string];
    const upperType = type.toUpperCase();
    if (upperType !== 'INSTANCE' && upperType !== 'GROUP') throw usageError(`notify: expected INSTANCE or GROUP, got "${type}"; ${NOTIFY_USAGE}`);
    const vrrpState = stateOf(state);
    if (vrrpState === null) throw usageError(`notify: unknown state "${state}"; ${NOTIFY_USAGE}`);
    const prio = Number(priority);
    if (!/^\d{1,3}$/.test(priority) || prio > 255) throw usageError(`notify: expected a priority 0..255, got "${priority}"; ${NOTIFY_USAGE}`);
    if (name === '') throw usageError(`notify: empty instance name; ${NOTIFY_USAGE}`);
    return { vrrpState, type: upperType, name, priority: prio };
  }
  throw usageError(`notify: expected 1 or 4 arguments, got ${args.length}; ${NOTIFY_USAGE}`);
}

/**
 * Parses one notify_fifo line; null for lines that are not a VRRP state change of an instance or
 * group (e.g. `MASTER_RX_LOWER_PRI`, `*_PRIORITY` changes, virtual server lines).
 */
export function parseFifoLine(line: string): NotifyEvent | null {
  const match = /^(INSTANCE|GROUP) "([^"]*)" ([A-Z_]+) (\d+)\s*$/.exec(line.trim());
  if (match === null) return null;
  const vrrpState = stateOf(match[3] as string);
  if (vrrpState === null || match[3] !== vrrpState) return null;
  return { vrrpState, type: match[1] as 'INSTANCE' | 'GROUP', name: match[2] as string, priority: Number(match[4]) };
}

/** True when the event concerns the configured instance (or none is configured). */
export const isForInstance = (event: NotifyEvent, instance: string | null): boolean =>
  instance === null || event.name === null || event.name === instance;
