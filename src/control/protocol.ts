// The daemon's control socket: `<runDir>/control.sock`, mode 0600 in a 0700 directory (root
// only). One request per connection, one JSON line each way.
import path from 'node:path';
import type { Desire, Maintenance, Role, Switchover, TransitionRecord } from '../state.ts';

export const controlSocketPath = (runDir: string): string => path.join(runDir, 'control.sock');

/** `switchover`: hand the MASTER role to the peer within `timeoutMs` (src/commands/switchover.ts). */
export type ControlRequest = { op: 'desire'; desire: Desire } | { op: 'status' } | { op: 'switchover'; timeoutMs: number } | { op: 'maintenance'; on: boolean; reason: string | null } | { op: 'rejoin' };

/** What the daemon says about itself (`status --json` → `daemon`). */
export interface DaemonStatus {
  pid: number;
  startedAt: string;
  /** true until the start-up reconciliation has run: `switchover` and `rejoin` are refused meanwhile */
  startingUp: boolean;
  /** the work loop is running (a transition, or a batch of requests being judged) */
  busy: boolean;
  /** requests received and not yet applied, oldest first */
  queue: Desire[];
  transition: TransitionRecord | null;
  role: Role | 'FENCED' | 'FENCED-IN' | 'UNKNOWN';
  /** notify_fifo being read, or null */
  notifyFifo: string | null;
}

export type ControlResponse =
  | { ok: true; op: 'desire'; queued: number }
  | { ok: true; op: 'status'; status: DaemonStatus }
  | { ok: true; op: 'switchover'; switchover: Switchover }
  | { ok: true; op: 'maintenance'; maintenance: Maintenance | null; changed: boolean }
  | { ok: true; op: 'rejoin'; cleared: string[] }
  | { ok: false; error: string };
