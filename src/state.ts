// The daemon's state file (`<stateDir>/state.json`), written atomically (temp file + rename) after
// every step, read by `check` and `status`. Its JSON is part of the `status --json` output and is
// documented in README "State file".
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { issueOrderProblem, type IssueOrder } from './desire-order.ts';

/** The VRRP states keepalived reports (keepalived.conf(5), `notify`). */
export type VrrpState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP' | 'DELETED';

/** What the agent drives towards: MASTER promotes, everything else demotes. */
export type Role = 'MASTER' | 'BACKUP';

export const roleOf = (state: VrrpState): Role => (state === 'MASTER' ? 'MASTER' : 'BACKUP');

const VRRP_STATES: readonly string[] = ['MASTER', 'BACKUP', 'FAULT', 'STOP', 'DELETED'];

/** Why `value` is not a well-formed {@link Desire}, or null when it is one. */
export function desireProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return 'expected an object';
  const d = value as Record<string, unknown>;
  if (typeof d.vrrpState !== 'string' || !VRRP_STATES.includes(d.vrrpState)) return `vrrpState: expected one of ${VRRP_STATES.join('|')}, got ${JSON.stringify(d.vrrpState)}`;
  if (typeof d.source !== 'string' || d.source === '') return 'source: expected a non-empty string';
  if (typeof d.issuedAt !== 'number' || !Number.isFinite(d.issuedAt) || d.issuedAt < 0) return 'issuedAt: expected ms since the epoch';
  if (d.order !== undefined) {
    const problem = issueOrderProblem(d.order);
    if (problem !== null) return `order: ${problem}`;
  }
  if (d.detail !== undefined && typeof d.detail !== 'string') return 'detail: expected a string';
  return null;
}

/** A request for a role, from keepalived (notify, notify_fifo), an operator, or the daemon itself. */
export interface Desire {
  vrrpState: VrrpState;
  /** `notify`, `fifo`, `startup`, `manual` */
  source: string;
  /** When the request was issued, ms since the epoch: for the log; it orders only requests without a usable {@link order} */
  issuedAt: number;
  /**
   * Where the request sits on this boot's timeline (src/desire-order.ts): the latest wins, a
   * request issued before the one already applied is skipped. `notify` takes the kernel's fork
   * time and pid of its process, which follow the order in which keepalived forked the scripts;
   * no wall-clock step moves it. Absent in requests an older agent recorded.
   */
  order?: IssueOrder;
  /** free text for the log: keepalived instance, priority, pid of the notify process */
  detail?: string;
}

export type StepOutcome = 'running' | 'ok' | 'skipped' | 'failed';

export interface StepRecord {
  name: string;
  startedAt: string;
  deadlineMs: number;
  durationMs: number | null;
  outcome: StepOutcome;
  detail: string | null;
  /** a failed step's error `code` (FenceAgentError, e.g. `EHOLDERALIVE`), when it had one */
  code?: string;
}

export type TransitionKind = 'promote' | 'demote';

/**
 * ok: target reached; rolled-back: promotion failed and the node is a clean BACKUP again;
 * failed: could not reach a clean state (e.g. unmount not verified, fence kept: "fenced-in");
 * aborted: stopped at once because the fence was lost — the self-fence demotion follows.
 */
export type TransitionOutcome = 'ok' | 'rolled-back' | 'failed' | 'aborted';

export interface TransitionRecord {
  /** e.g. `t-1732233600123-3` */
  id: string;
  kind: TransitionKind;
  /** why it ran: the request's source, `self-fence`, `shutdown`, `mysqld-restart` */
  reason: string;
  /** the request it serves */
  desire: Desire;
  /** wall-clock start, ISO (for humans) */
  startedAt: string;
  /** monotonic start, ms (src/clock.ts; valid on the boot named by the state's `bootId`): ages are computed from this */
  startedMono: number;
  /** sum of the step deadlines: `check` counts the transition healthy until then */
  deadlineMs: number;
  endedAt: string | null;
  durationMs: number | null;
  outcome: TransitionOutcome | null;
  error: string | null;
  steps: StepRecord[];
  /**
   * written by a daemon that exits on a systemd restart and leaves VIP, mount, mysqld and the fence
   * to the next one (src/daemon/restart-job.ts): `check` counts it without a live daemon, until
   * its deadline (the watchdog's timeout plus the next daemon's fence retake)
   */
  handOff?: boolean;
}

/** See {@link AgentState.holdDown}. */
export interface HoldDown {
  at: string;
  /** monotonic ms (src/clock.ts) on the boot of {@link AgentState.bootId} */
  untilMono: number;
  untilAt: string;
  reason: string;
}

/** See {@link AgentState.deferredBackup}. */
export interface DeferredBackup {
  desire: Desire;
  at: string;
  /** monotonic ms (src/clock.ts) on the boot of {@link AgentState.bootId} */
  untilMono: number;
  reason: string;
}

/**
 * See {@link AgentState.switchover}. `running` until the daemon sees the peer holding the fence
 * (`done`), the demotion fail (`failed`), or `deadlineMono` pass (`aborted`). While running:
 * `demoting` (the node releases everything, keepalived still MASTER), then `handing-over` (the
 * node reports itself unhealthy so that keepalived moves the VIP to the peer).
 */
export interface Switchover {
  at: string;
  /** absent in records written before it existed: read as `handing-over` */
  phase?: 'demoting' | 'handing-over';
  /** monotonic ms (src/clock.ts) on the boot of {@link AgentState.bootId} */
  startedMono: number;
  deadlineMono: number;
  outcome: 'running' | 'done' | 'aborted' | 'failed';
  /** one line: what was seen at the end (who holds the fence, why it was aborted) */
  detail: string | null;
  endedAt: string | null;
}

/** See {@link AgentState.startHold}. */
export interface StartHold {
  at: string;
  reason: string;
  /** monotonic ms (this boot) when it ends by itself, or null: until `fence-agent rejoin` */
  untilMono: number | null;
}

/** See {@link AgentState.maintenance}. */
export interface Maintenance {
  at: string;
  /** the operator's words (`--reason`), or null */
  reason: string | null;
}

export interface AgentState {
  version: 1;
  node: string;
  /** the boot the monotonic times in this file belong to */
  bootId: string;
  daemon: { pid: number; startedAt: string } | null;
  /** the request being applied or last applied */
  desired: Desire | null;
  /**
   * the VRRP state keepalived (or an operator) asked for last — not the daemon's own start-up or
   * shutdown requests: the self-fence latch clears only once this is not MASTER (S6)
   */
  keepalivedState: VrrpState | null;
  /**
   * what the last finished transition left: MASTER, BACKUP, FENCED (the fence was lost; the
   * node self-fenced and stays out until keepalived leaves MASTER), or FENCED-IN (an unmount
   * could not be verified: the fence is kept and operator action is needed)
   */
  role: Role | 'FENCED' | 'FENCED-IN' | 'UNKNOWN';
  /** the transition running now, if any */
  transition: TransitionRecord | null;
  lastTransition: TransitionRecord | null;
  /** set when the fence was lost while MASTER; cleared once keepalived leaves MASTER and the node is a clean BACKUP */
  selfFence: { at: string; reason: string } | null;
  /**
   * issue 9 §2 (scsi-pr): a promotion the fence refused because the holder is alive (its MMP
   * heartbeat moves: a cluster-link partition). Until `untilMono` (this boot's monotonic clock, ms)
   * the node reports itself unhealthy (keepalived FAULT: it neither holds nor wins VRRP) and
   * promotes nothing. Absent in state files written before it existed.
   */
  holdDown?: HoldDown | null;
  /**
   * issue 9 §2 (scsi-pr): a keepalived BACKUP request to a MASTER that holds the fence with no
   * other node registered (a thawed zombie won VRRP back and cannot write), deferred until
   * `untilMono`; the node counts as healthy meanwhile. A newer request replaces it.
   */
  deferredBackup?: DeferredBackup | null;
  /**
   * A planned hand-over of the MASTER role (`fence-agent switchover`): while `running` the node
   * reports itself unhealthy to keepalived (FAULT: the VIP moves to the peer, the node demotes).
   * The last one stays here with its outcome. Absent in state files written before it existed.
   */
  switchover?: Switchover | null;
  /**
   * `fence-agent maintenance on`: the daemon takes no action — keepalived's requests are recorded,
   * not applied; no local mysqld restart, no fenced-in retry — until `maintenance off`; the fence
   * and its self-fence keep working. The node holds its role for keepalived: a MASTER counts as
   * healthy whatever its probes find, a BACKUP as unhealthy (it takes no role). Kept across daemon
   * restarts and reboots. Absent in state files written before it existed.
   */
  maintenance?: Maintenance | null;
  /**
   * `keepalived.startMode: clean`: the previous boot ended while this node held the disk, so it is
   * not a candidate (unhealthy for keepalived, no promotion) until `fence-agent rejoin` or the
   * configured time. Absent in state files written before it existed.
   */
  startHold?: StartHold | null;
  /** the watchdog the daemon pets (null: none configured) */
  watchdog: { device: string; kind: 'kernel' | 'simulated'; timeoutMs: number; armed: boolean; petting: boolean } | null;
  updatedAt: string;
}

export const stateFilePath = (stateDir: string): string => path.join(stateDir, 'state.json');

/** Reads the state file; null when missing or unreadable (no daemon has run yet). */
export function readState(stateDir: string): AgentState | null {
  try {
    const state = JSON.parse(readFileSync(stateFilePath(stateDir), 'utf8')) as AgentState;
    return state.version === 1 ? state : null;
  } catch {
    return null;
  }
}

/**
 * Writes `text` to `file` atomically (a temp file in the same directory, renamed over it): a
 * reader sees the old or the new file, never half; a watcher following the name (keepalived's
 * track_file) sees one change. The directory must exist.
 * @throws the fs error (ENOENT for a missing directory, ...)
 */
export function writeTextAtomic(file: string, text: string, mode = 0o644): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text, { mode });
  renameSync(temp, file);
}

/** Writes `value` as JSON to `file` atomically (see {@link writeTextAtomic}), making its directory if needed. */
export function writeJsonAtomic(file: string, value: unknown, mode = 0o644): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  writeTextAtomic(file, `${JSON.stringify(value, null, 2)}\n`, mode);
}

/** Writes the state file atomically. */
export function writeState(stateDir: string, state: AgentState): void {
  writeJsonAtomic(stateFilePath(stateDir), { ...state, updatedAt: new Date().toISOString() });
}

/**
 * Where `notify` leaves a request it could not hand over (no daemon, or none that answered in
 * time): the daemon takes it up at start-up and every `monitor.healthIntervalMs` (takePendingDesire).
 */
export const pendingDesirePath = (stateDir: string): string => path.join(stateDir, 'desired.json');

/**
 * Takes the pending request out of `<stateDir>/desired.json`: renamed away first, so that a
 * `notify` writing a newer one meanwhile leaves it for the next take. Null when there is none, or
 * it is malformed (removed all the same).
 */
export function takePendingDesire(stateDir: string): Desire | null {
  const taken = `${pendingDesirePath(stateDir)}.taken.${process.pid}`;
  try {
    renameSync(pendingDesirePath(stateDir), taken);
  } catch {
    return null;
  }
  try {
    return readDesireFile(taken);
  } finally {
    rmSync(taken, { force: true });
  }
}

export const readPendingDesire = (stateDir: string): Desire | null => readDesireFile(pendingDesirePath(stateDir));

/**
 * The format of `<stateDir>/desired.json`: `{ "version": 1, ...Desire }`. A file without `version`
 * (written before 2026-12-04) holds the bare {@link Desire} and is read the same; a later
 * version (a newer agent's file, after a downgrade) is not read.
 */
export const DESIRED_FILE_VERSION = 1;

/** Writes the pending request to `<stateDir>/desired.json` (atomically, 0600), in format {@link DESIRED_FILE_VERSION}. */
export function writePendingDesire(stateDir: string, desire: Desire): void {
  writeJsonAtomic(pendingDesirePath(stateDir), { version: DESIRED_FILE_VERSION, ...desire }, 0o600);
}

/** A well-formed {@link Desire} from `file`, or null (missing, unreadable, malformed, or of a later format). */
function readDesireFile(file: string): Desire | null {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as Desire & { version?: unknown };
    if (typeof value !== 'object' || value === null) return null;
    const { version, ...desire } = value;
    if (version !== undefined && version !== DESIRED_FILE_VERSION) return null;
    return desireProblem(desire) === null ? desire : null;
  } catch {
    return null;
  }
}
