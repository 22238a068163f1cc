// The rule (DESIGN §1): healthy MASTER = VIP held ∧ device mounted read-write at the mountpoint ∧
// mysqld alive and answering SQL ∧ fence held; healthy BACKUP = no VIP ∧ no mount ∧ no mysqld ∧
// fence not held. Anything else is unhealthy, and the verdict names every part that is off.
// A transition the daemon is running, within its deadline, counts as healthy.
import type { Config } from './config/types.ts';
import type { Observation } from './probes/observe.ts';
import type { AgentState, DeferredBackup, HoldDown, StartHold, Switchover } from './state.ts';

export interface Verdict {
  healthy: boolean;
  /** false when a probe failed, so health could not be established (`status` exits 3) */
  known: boolean;
  /** the side the node is on: MASTER while it holds the VIP, BACKUP otherwise */
  role: 'MASTER' | 'BACKUP';
  /** a transition within its deadline made an otherwise unhealthy node count as healthy */
  inTransition: boolean;
  /** one line, e.g. `healthy BACKUP: no VIP, not mounted, no mysqld, fence not held` */
  line: string;
  /** each part that is off, worded for an operator; empty when healthy */
  problems: string[];
}

export interface VerdictInput {
  config: Config;
  observation: Observation;
  /** the daemon's state file, or null */
  state: AgentState | null;
  /** whether the daemon named in `state` is alive */
  daemonAlive: boolean;
  /** now on the monotonic clock (src/clock.ts), ms */
  nowMono: number;
  /** this boot's id: monotonic times in `state` count only when it was written on this boot */
  bootId: string;
  /**
   * `check` only (issue 11 §6): how long its fence reads have failed in a row and how long that is
   * tolerated (src/fence-read-streak.ts). A failing read younger than the tolerance is not a
   * problem — a lease outlives it — and the healthy line says so; an older one is.
   */
  fenceRead?: { failingForMs: number; toleranceMs: number };
}

/** Whether the fence probe's error is within `check`'s tolerance (see {@link VerdictInput.fenceRead}). */
const fenceErrorTolerated = ({ observation: o, fenceRead }: VerdictInput): boolean =>
  o.errors.fence !== undefined && fenceRead !== undefined && fenceRead.failingForMs < fenceRead.toleranceMs;

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function masterProblems({ config, observation: o }: VerdictInput): string[] {
  const problems: string[] = [];
  const { device, mountpoint } = config.disk;
  if (o.mount !== null) {
    if (o.mount.otherAtMountpoint !== null) problems.push(`${o.mount.otherAtMountpoint} (not ${device}) is mounted on ${mountpoint}`);
    else if (!o.mount.mounted) problems.push(`${device} not mounted on ${mountpoint}`);
    else if (o.mount.readOnly) problems.push(`${device} is mounted read-only on ${mountpoint}`);
  }
  if (o.mysqld !== null) {
    if (o.mysqld.pids.length === 0) {
      problems.push(
        o.mysqld.pidFilePid === null
          ? `mysqld not running (no pid in ${config.mysqld.pidFile})`
          : `mysqld not running (pid ${o.mysqld.pidFilePid} from ${config.mysqld.pidFile} is gone)`,
      );
    } else if (o.mysqld.sql !== null && !o.mysqld.sql.ok) {
      problems.push(`mysqld pid ${o.mysqld.pids[0]} not answering SQL (${o.mysqld.sql.error}${o.mysqld.sql.source === 'daemon' ? `; daemon's ping ${seconds(o.mysqld.sql.ageMs)} ago` : ''})`);
    }
  }
  if (o.fence !== null && o.fence.held === false) problems.push(`fence not held (${o.fence.detail})`);
  return problems;
}

function backupProblems({ config, observation: o }: VerdictInput): string[] {
  const problems: string[] = [];
  if (o.mount !== null && o.mount.mounted) problems.push(`${config.disk.device} mounted on ${config.disk.mountpoint} without the VIP`);
  if (o.mysqld !== null && o.mysqld.pids.length > 0) problems.push(`mysqld running (pid ${o.mysqld.pids.join(', ')}) without the VIP`);
  if (o.fence !== null && o.fence.held === true) problems.push(`fence held without the VIP, which blocks the peer (${o.fence.detail})`);
  return problems;
}

/** The node's hold-down (issue 9 §2) if it is still running: recorded on this boot, before its end. */
export function activeHoldDown(state: AgentState | null, nowMono: number, bootId: string): HoldDown | null {
  const hold = state?.holdDown;
  return hold && state.bootId === bootId && nowMono < hold.untilMono ? hold : null;
}

/**
 * The planned hand-over (`fence-agent switchover`) once it is handing over: the node has demoted
 * (fence released) and is unhealthy for keepalived — whatever else it finds — so that keepalived
 * stays in FAULT until the peer has the role. Recorded on this boot by a daemon still alive,
 * before its deadline. While the node still demotes (phase `demoting`) keepalived keeps it MASTER:
 * the peer then finds the fence free (scsi-pr: no live MMP holder, no hold-down).
 */
export function activeSwitchover(state: AgentState | null, daemonAlive: boolean, nowMono: number, bootId: string): Switchover | null {
  const handover = state?.switchover;
  return handover && handover.outcome === 'running' && handover.phase !== 'demoting' && daemonAlive && state.bootId === bootId && nowMono < handover.deadlineMono ? handover : null;
}

/** The start hold (`keepalived.startMode: clean`) if it is on: recorded on this boot, before its end (or until rejoin). */
export function activeStartHold(state: AgentState | null, nowMono: number, bootId: string): StartHold | null {
  const hold = state?.startHold;
  return hold && state.bootId === bootId && (hold.untilMono === null || nowMono < hold.untilMono) ? hold : null;
}

/** The deferred BACKUP request (issue 9 §2) if the daemon that deferred it is alive and its bound not reached. */
export function activeDeferredBackup(state: AgentState | null, daemonAlive: boolean, nowMono: number, bootId: string): DeferredBackup | null {
  const deferred = state?.deferredBackup;
  return deferred && daemonAlive && state.bootId === bootId && nowMono < deferred.untilMono ? deferred : null;
}

function commonProblems(input: VerdictInput): string[] {
  const { config, observation: o, state, nowMono, bootId } = input;
  const problems: string[] = [];
  const tolerated = fenceErrorTolerated(input);
  for (const [probe, error] of Object.entries(o.errors)) if (!(probe === 'fence' && tolerated)) problems.push(`${probe} probe failed: ${error}`);
  if (!o.vip.interfacePresent) problems.push(`interface ${config.vip.interface} not found (or down)`);
  if (o.vip.elsewhere.length > 0) problems.push(`VIP ${config.vip.address} is on ${o.vip.elsewhere.join(', ')}, not on ${config.vip.interface}`);
  if (o.mount !== null) {
    if (o.mount.deviceError !== null) problems.push(`device ${config.disk.device} unusable (${o.mount.deviceError})`);
    // `blocked` is an iSCSI session recovering (I/O waits, up to replacement_timeout): not yet a verdict
    if (o.mount.deviceState !== null && o.mount.deviceState !== 'running' && o.mount.deviceState !== 'blocked') {
      problems.push(`device ${config.disk.device} is ${o.mount.deviceState} (the storage path is gone: its I/O fails)`);
    }
    const elsewhere = o.mount.mountpoints.filter((m) => m !== config.disk.mountpoint);
    if (elsewhere.length > 0) problems.push(`${config.disk.device} also mounted on ${elsewhere.join(', ')}`);
  }
  if (o.mysqld !== null && o.mysqld.pids.length > 1) problems.push(`${o.mysqld.pids.length} mysqld processes (pids ${o.mysqld.pids.join(', ')})`);
  if (state?.role === 'FENCED-IN') problems.push(`fenced-in: the last demotion could not verify the unmount (the filesystem may still be written); the daemon demotes again every ${seconds(config.monitor.fencedInRetryMs)} once keepalived has left MASTER: find what holds the filesystem (its log names the step)`);
  const hold = activeHoldDown(state, nowMono, bootId);
  if (hold !== null) problems.push(`HOLD-DOWN: ${hold.reason}; no promotion for ${seconds(hold.untilMono - nowMono)} more (until ${hold.untilAt})`);
  const startHold = activeStartHold(state, nowMono, bootId);
  if (startHold !== null) {
    problems.push(`START HOLD: ${startHold.reason}; not a candidate ${startHold.untilMono === null ? 'until fence-agent rejoin' : `for ${seconds(startHold.untilMono - nowMono)} more, or until fence-agent rejoin`}`);
  }
  if (state?.selfFence) problems.push(`FENCED: the fence was lost at ${state.selfFence.at} (${state.selfFence.reason}); the node self-fenced and stays out until keepalived leaves MASTER`);
  return problems;
}

function describeHealthy(input: VerdictInput, role: 'MASTER' | 'BACKUP'): string {
  const { config, observation: o } = input;
  const fence = fenceErrorTolerated(input)
    ? `fence read failing for ${seconds(input.fenceRead?.failingForMs ?? 0)} (tolerated up to ${seconds(input.fenceRead?.toleranceMs ?? 0)}: ${o.errors.fence})`
    : o.fence === null || o.fence.held === null
      ? 'no fencing'
      : o.fence.held
        ? 'fence held'
        : 'fence not held';
  if (role === 'BACKUP') return `healthy BACKUP: no VIP, not mounted, no mysqld, ${fence}`;
  const ping = o.mysqld?.sql;
  const sql = ping ? ` answering SQL in ${ping.latencyMs} ms${ping.source === 'daemon' ? ` (daemon's ping, ${seconds(ping.ageMs)} ago)` : ''}` : '';
  return `healthy MASTER: VIP ${config.vip.address} held, ${config.disk.device} mounted on ${config.disk.mountpoint}, mysqld pid ${o.mysqld?.pids[0] ?? '?'}${sql}, ${fence}`;
}

/**
 * The transition that makes the node count as healthy whatever the probes find: one the daemon
 * runs (alive) or handed over to the next daemon (`handOff`), recorded on this boot, within its
 * deadline. Null when there is none. Its `line` reads `<kind> in progress (step S, E s of D s)`.
 */
export function transitionInProgress(state: AgentState | null, daemonAlive: boolean, nowMono: number, bootId: string): { line: string } | null {
  const transition = state?.transition;
  if (!transition || !(daemonAlive || transition.handOff === true) || state?.bootId !== bootId || typeof transition.startedMono !== 'number') return null;
  const elapsed = nowMono - transition.startedMono;
  if (elapsed < 0 || elapsed > transition.deadlineMs) return null;
  const step = transition.steps.at(-1)?.name ?? 'starting';
  return { line: `${transition.kind} in progress (step ${step}, ${seconds(elapsed)} of ${seconds(transition.deadlineMs)})` };
}

/** Applies the rule. Pure: all inputs are passed in. */
export function evaluate(input: VerdictInput): Verdict {
  const role = input.observation.vip.held ? 'MASTER' : 'BACKUP';
  const problems = [...commonProblems(input), ...(role === 'MASTER' ? masterProblems(input) : backupProblems(input))];
  const known = Object.keys(input.observation.errors).length === 0;
  const handover = activeSwitchover(input.state, input.daemonAlive, input.nowMono, input.bootId);
  if (handover !== null) {
    const line = `SWITCHOVER: handing the MASTER role to the peer (${seconds(handover.deadlineMono - input.nowMono)} left)`;
    return { healthy: false, known, role, inTransition: false, line: `UNHEALTHY ${role}: ${[line, ...problems].join('; ')}`, problems: [line, ...problems] };
  }
  const maintenance = input.state?.maintenance;
  if (maintenance) {
    const since = `MAINTENANCE since ${maintenance.at}${maintenance.reason ? ` (${maintenance.reason})` : ''}`;
    const seen = problems.length > 0 ? `; not acted on: ${problems.join('; ')}` : '';
    // the MASTER keeps its role whatever its probes say — unless it is fenced: the storage took
    // its right to write (the self-fence ran, maintenance or not), and a VIP kept on a node that
    // cannot serve only blackholes the clients: keepalived moves it to the peer; a BACKUP takes none
    const fenced = input.state?.selfFence != null || input.state?.role === 'FENCED-IN';
    if (role === 'MASTER' && fenced) {
      const line = `${since}, but this node is fenced: it cannot serve; keepalived should give the VIP to the peer`;
      return { healthy: false, known, role, inTransition: false, line: `UNHEALTHY MASTER: ${[line, ...problems].join('; ')}`, problems: [line, ...problems] };
    }
    if (role === 'MASTER') return { healthy: true, known, role, inTransition: false, line: `healthy MASTER: ${since}: no action taken${seen}`, problems };
    return { healthy: false, known, role, inTransition: false, line: `UNHEALTHY BACKUP: ${since}: this node takes no role until maintenance off${seen}`, problems: [`${since}: this node takes no role until maintenance off`, ...problems] };
  }
  const inProgress = problems.length > 0 ? transitionInProgress(input.state, input.daemonAlive, input.nowMono, input.bootId) : null;
  if (inProgress !== null) return { healthy: true, known, role, inTransition: true, line: `healthy ${role}: ${inProgress.line}`, problems };
  // a deferred BACKUP request: keepalived took the VIP off, the database stays until the bound
  const deferred = problems.length > 0 ? activeDeferredBackup(input.state, input.daemonAlive, input.nowMono, input.bootId) : null;
  if (deferred !== null) {
    return { healthy: true, known, role, inTransition: true, line: `healthy ${role}: keepalived's BACKUP request deferred ${seconds(deferred.untilMono - input.nowMono)} more (${deferred.reason})`, problems };
  }
  if (problems.length === 0) return { healthy: true, known, role, inTransition: false, line: describeHealthy(input, role), problems };
  return { healthy: false, known, role, inTransition: false, line: `UNHEALTHY ${role}: ${problems.join('; ')}`, problems };
}
