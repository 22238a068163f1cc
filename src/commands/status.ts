// `fence-agent status` — one screen for people (`--json` for machines): node, role, VIP, mount,
// mysqld (pid, SQL ping and latency), fence (method, holder), daemon (alive, queue), desired state,
// last transition. Exit 0 healthy MASTER/BACKUP, 1 unhealthy, 3 cannot tell (a probe failed).
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/types.ts';
import { askDaemon } from '../control/client.ts';
import type { DaemonStatus } from '../control/protocol.ts';
import { ExitCode, errorLine } from '../errors.ts';
import { evaluate } from '../health.ts';
import { monoNow } from '../clock.ts';
import { bootId, isAlive } from '../proc.ts';
import { readTenureFile } from '../../fence/lease/tenure-file.ts';
import { observe } from '../probes/observe.ts';
import { readState, type AgentState, type Desire, type Maintenance, type StartHold, type Switchover, type TransitionRecord } from '../state.ts';
import { createFence } from '../../fence/index.ts';
import { healthFilePath } from '../daemon/health-file.ts';
import { readFileSync } from 'node:fs';

/** The `status --json` document (stable; README "status --json" documents every field). */
export interface StatusReport {
  version: 1;
  node: string;
  cluster: string;
  checkedAt: string;
  /** ms from the command's start (configuration loaded) to the finished report: the probes' own waits, bounded by their deadlines */
  durationMs: number;
  /** null when a probe failed and health cannot be told */
  healthy: boolean | null;
  role: 'MASTER' | 'BACKUP';
  inTransition: boolean;
  summary: string;
  problems: string[];
  vip: { address: string; prefix: number; interface: string; held: boolean; interfacePresent: boolean; elsewhere: string[] };
  mount: {
    device: string;
    mountpoint: string;
    fstype: string;
    mounted: boolean | null;
    readOnly: boolean | null;
    mountpoints: string[];
    error: string | null;
  };
  mysqld: {
    running: boolean | null;
    pid: number | null;
    pids: number[];
    sql: { ok: boolean; latencyMs: number; error: string | null; source: 'own' | 'daemon'; ageMs: number } | null;
    error: string | null;
  };
  fence: {
    method: string;
    target: string | null;
    identity: string;
    held: boolean | null;
    holder: string | null;
    registrants: string[];
    detail: string | null;
    error: string | null;
    /** the lease as the daemon publishes it (lockfile only): its tenure, or its observation of the peer's */
    lease: {
      /** refresh counter of this node's tenure, or null when it holds none */
      counter: number | null;
      /** ms of right to write left (negative: ended that long ago), or null */
      rightLeftMs: number | null;
      /** ms since the last good refresh started (t_g), or null */
      lastGoodAgoMs: number | null;
      /** the peer's record as observed while not holding: who, unchanged for how long, takeover after */
      observing: { holder: string | null; unchangedForMs: number; takeoverAfterMs: number } | null;
      /** the last loss of a tenure */
      lost: { reason: string; agoMs: number } | null;
    } | null;
  };
  /** the watchdog the daemon pets (from the state file), or null when none is configured */
  watchdog: { device: string; kind: 'kernel' | 'simulated'; timeoutMs: number; armed: boolean; petting: boolean } | null;
  /**
   * keepalived's tracked file, `<runDir>/health`, as the daemon last wrote it
   * (src/daemon/health-file.ts): 0 healthy, 1 FAULT; null when missing or unreadable (keepalived
   * counts a missing file as healthy)
   */
  healthFile: { path: string; value: 0 | 1 | null };
  /** what weakens the protection right now, one line each (fence overrides, placement, a simulated watchdog) */
  warnings: string[];
  daemon: {
    alive: boolean;
    pid: number | null;
    startedAt: string | null;
    role: DaemonStatus['role'] | null;
    /** the daemon's start-up reconciliation has not run yet (false when no daemon answered) */
    startingUp: boolean;
    /** the daemon's work loop is running (false when no daemon answered) */
    busy: boolean;
    queue: Desire[];
    transition: TransitionRecord | null;
    notifyFifo: string | null;
    error: string | null;
  };
  desired: Desire | null;
  lastTransition: TransitionRecord | null;
  selfFence: AgentState['selfFence'];
  /** the running or last planned hand-over (`fence-agent switchover`), or null */
  switchover: Switchover | null;
  /** `fence-agent maintenance on` (the daemon takes no action), or null */
  maintenance: Maintenance | null;
  /** `keepalived.startMode: clean`: not a candidate after a boot that ended with the disk held, or null */
  startHold: StartHold | null;
}

async function daemonView(config: Config, state: AgentState | null): Promise<StatusReport['daemon']> {
  try {
    const s = (await askDaemon(config.runDir, { op: 'status' }, 1000)).status;
    return { alive: true, pid: s.pid, startedAt: s.startedAt, role: s.role, startingUp: s.startingUp, busy: s.busy, queue: s.queue, transition: s.transition, notifyFifo: s.notifyFifo, error: null };
  } catch (error) {
    const pid = state?.daemon?.pid ?? null;
    const alive = pid !== null && (isAlive(pid));
    return { alive, pid, startedAt: state?.daemon?.startedAt ?? null, role: state?.role ?? null, startingUp: false, busy: false, queue: [], transition: state?.transition ?? null, notifyFifo: null, error: errorLine(error) };
  }
}

/** The daemon's health file for keepalived: its value, or null when missing or not 0/1. */
function readHealthFile(runDir: string): StatusReport['healthFile'] {
  const file = healthFilePath(runDir);
  let text: string | null = null;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    // missing: no daemon has run on this boot's /run
  }
  return { path: file, value: text === '0' ? 0 : text === '1' ? 1 : null };
}

/** Gathers the whole report. Never throws for probe failures (they land in `error` fields). */
export async function collectStatus(config: Config, options: { live?: boolean } = {}): Promise<StatusReport> {
  const startedMono = monoNow();
  const fence = await createFence(config, { role: 'reader', live: options.live === true });
  const state = readState(config.stateDir);
  const boot = bootId();
  const tenure = config.fence.method === 'lockfile' ? readTenureFile(config.runDir, boot) : null;
  const [observation, daemon] = await Promise.all([
    observe(config, fence, { probeTimeoutMs: config.deadlines.checkMs, sql: 'own' }),
    daemonView(config, state),
  ]);
  const nowMono = monoNow();
  const verdict = evaluate({ config, observation, state, daemonAlive: daemon.alive, nowMono, bootId: boot });
  const watchdog = state?.bootId === boot ? state.watchdog : null;
  const warnings = [...new Set([...fence.describe().warnings, ...(tenure?.warnings ?? [])])];
  if (watchdog?.kind === 'simulated') warnings.push(`watchdog ${watchdog.device} is SIMULATED (the lab's FIFO), not a kernel watchdog`);
  if (watchdog !== null && watchdog !== undefined && watchdog.armed && !watchdog.petting) warnings.push(`watchdog ${watchdog.device} armed but NOT PETTED: the node resets within ${watchdog.timeoutMs} ms unless the self-fence completes`);
  const { vip, mount, mysqld, fence: f, errors } = observation;
  return {
    version: 1,
    node: config.node,
    cluster: config.cluster,
    checkedAt: new Date().toISOString(),
    durationMs: Math.round(monoNow() - startedMono),
    healthy: verdict.known ? verdict.healthy : null,
    role: verdict.role,
    inTransition: verdict.inTransition,
    summary: verdict.line,
    problems: verdict.problems,
    vip: { ...config.vip, held: vip.held, interfacePresent: vip.interfacePresent, elsewhere: vip.elsewhere },
    mount: {
      device: config.disk.device,
      mountpoint: config.disk.mountpoint,
      fstype: config.disk.fstype,
      mounted: mount?.mounted ?? null,
      readOnly: mount?.readOnly ?? null,
      mountpoints: mount?.mountpoints ?? [],
      error: errors.mount ?? mount?.deviceError ?? null,
    },
    mysqld: {
      running: mysqld === null ? null : mysqld.pids.length > 0,
      pid: mysqld?.pids[0] ?? null,
      pids: mysqld?.pids ?? [],
      sql: mysqld?.sql ?? null,
      error: errors.mysqld ?? null,
    },
    fence: {
      ...fence.describe(),
      held: f?.held ?? null,
      holder: f?.holder ?? null,
      registrants: f?.registrants ?? [],
      detail: f?.detail ?? null,
      error: errors.fence ?? null,
      lease:
        tenure === null
          ? null
          : {
              counter: tenure.tenure?.counter ?? null,
              rightLeftMs: tenure.tenure ? Math.round(tenure.tenure.rightEndsAtMs - nowMono) : null,
              lastGoodAgoMs: tenure.tenure ? Math.round(nowMono - tenure.tenure.lastGoodStartMs) : null,
              observing: tenure.observing ? { holder: tenure.observing.holder, unchangedForMs: Math.round(nowMono - tenure.observing.sinceMs), takeoverAfterMs: tenure.observing.takeoverAfterMs } : null,
              lost: tenure.lost ? { reason: tenure.lost.reason, agoMs: Math.round(nowMono - tenure.lost.atMs) } : null,
            },
    },
    watchdog: watchdog ?? null,
    healthFile: readHealthFile(config.runDir),
    warnings,
    daemon,
    desired: state?.desired ?? null,
    lastTransition: state?.lastTransition ?? null,
    selfFence: state?.selfFence ?? null,
    switchover: state?.switchover ?? null,
    maintenance: state?.maintenance ?? null,
    startHold: state?.startHold ?? null,
  };
}

const ago = (iso: string | null | undefined, now = Date.now()): string => {
  if (!iso) return '';
  const s = Math.max(0, (now - Date.parse(iso)) / 1000);
  return s < 120 ? `${s.toFixed(1)} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${(s / 3600).toFixed(1)} h ago`;
};

const ms = (value: number | null | undefined): string =>
  value === null || value === undefined ? '?' : value < 1000 ? `${value} ms` : `${(value / 1000).toFixed(1)} s`;

/** The human table: one row per part, a verdict on each. */
export function renderTable(report: StatusReport, colour: boolean): string {
  const paint = (code: number) => (text: string) => (colour ? `\u001b[${code}m${text}\u001b[0m` : text);
  const green = paint(32);
  const red = paint(31);
  const yellow = paint(33);
  const bold = paint(1);
  const mark = (ok: boolean | null, text: string): string => (ok === null ? yellow(text) : ok ? green(text) : red(text));
  const rows: [string, string, string][] = [];
  const head = report.healthy === null ? yellow('CANNOT TELL') : report.healthy ? green('healthy') : red('UNHEALTHY');
  rows.push(['role', `${bold(report.role)} ${head}`, report.inTransition ? 'transition in progress' : '']);
  rows.push(['VIP', `${report.vip.address}/${report.vip.prefix} on ${report.vip.interface}`, report.vip.held ? 'held' : 'not held']);
  const m = report.mount;
  rows.push([
    'mount',
    `${m.device} on ${m.mountpoint} (${m.fstype})`,
    m.error ?? (m.mounted === null ? '?' : m.mounted ? (m.readOnly ? 'mounted READ-ONLY' : 'mounted rw') : m.mountpoints.length > 0 ? `mounted on ${m.mountpoints.join(', ')}` : 'not mounted'),
  ]);
  const d = report.mysqld;
  rows.push([
    'mysqld',
    d.pid === null ? 'not running' : `pid ${d.pids.join(', ')}`,
    d.error ?? (d.sql === null ? '' : d.sql.ok ? `answers SQL in ${d.sql.latencyMs} ms` : `SQL ping failed: ${d.sql.error}`),
  ]);
  const f = report.fence;
  rows.push(['fence', `${f.method}${f.target ? ` ${f.target}` : ''} as ${f.identity}`, f.error ?? mark(f.held === null ? true : f.held === (report.role === 'MASTER'), f.detail ?? '?')]);
  const lease = f.lease;
  if (lease !== null) {
    const note =
      lease.rightLeftMs !== null
        ? `tenure counter ${lease.counter ?? '?'}, last good refresh ${ms(lease.lastGoodAgoMs)} ago, right to write ${lease.rightLeftMs >= 0 ? `${ms(lease.rightLeftMs)} more` : `ENDED ${ms(-lease.rightLeftMs)} ago`}`
        : lease.observing !== null
          ? `not held; ${lease.observing.holder ?? 'nobody'}'s record unchanged for ${ms(lease.observing.unchangedForMs)} (takeover after ${ms(lease.observing.takeoverAfterMs)})`
          : 'not held';
    rows.push(['lease', note, lease.lost !== null ? `lost ${ms(lease.lost.agoMs)} ago: ${lease.lost.reason}` : '']);
  }
  const w = report.watchdog;
  if (w !== null) {
    rows.push(['watchdog', `${w.device} (${w.kind}, ${ms(w.timeoutMs)})`, w.armed ? (w.petting ? green('armed, petted') : red('armed, NOT petted')) : 'disarmed']);
  }
  const h = report.healthFile;
  rows.push(['health file', h.path, h.value === null ? 'missing (keepalived counts it healthy)' : h.value === 0 ? green('0: healthy for keepalived') : red('1: FAULT for keepalived')]);
  const dm = report.daemon;
  rows.push([
    'daemon',
    dm.alive ? `pid ${dm.pid}, up since ${dm.startedAt ?? '?'}` : 'not running',
    dm.alive ? (dm.transition ? `running ${dm.transition.kind} (${dm.transition.steps.at(-1)?.name ?? 'starting'})` : dm.startingUp ? `starting up, queue ${dm.queue.length}` : `idle, queue ${dm.queue.length}`) : (dm.error ?? ''),
  ]);
  if (report.desired) rows.push(['desired', `${report.desired.vrrpState} from ${report.desired.source}`, report.desired.detail ?? '']);
  const t = report.lastTransition;
  if (t) {
    const steps = t.steps.map((s) => `${s.name} ${ms(s.durationMs)}${s.outcome === 'ok' ? '' : ` ${s.outcome}`}`).join(', ');
    rows.push(['last', `${t.kind} ${ago(t.endedAt ?? t.startedAt)}, ${ms(t.durationMs)}, ${mark(t.outcome === 'ok', t.outcome ?? 'running')}`, steps]);
  }
  if (report.selfFence) rows.push(['self-fence', red(report.selfFence.at), report.selfFence.reason]);
  if (report.startHold) rows.push(['start hold', red(`since ${report.startHold.at}`), `${report.startHold.reason}; fence-agent rejoin after a look`]);
  if (report.maintenance) rows.push(['maintenance', red(`ON since ${report.maintenance.at}`), `${report.maintenance.reason ?? ''}${report.maintenance.reason ? '; ' : ''}no action taken until fence-agent maintenance off`]);
  const handover = report.switchover;
  if (handover) rows.push(['switchover', handover.outcome === 'running' ? red(`RUNNING since ${handover.at}`) : `${mark(handover.outcome === 'done', handover.outcome)} ${ago(handover.endedAt ?? handover.at)}`, handover.detail ?? '']);
  const width = Math.max(...rows.map((r) => r[0].length));
  // eslint-disable-next-line no-control-regex
  const visible = (s: string): number => s.replace(/\u001b\[\d+m/g, '').length;
  const middle = Math.max(...rows.map((r) => visible(r[1])));
  const lines = [`fence-agent status: node ${bold(report.node)} (cluster ${report.cluster})${report.maintenance ? ` ${red('MAINTENANCE ON: the agent takes no action')}` : ''}`];
  for (const [label, value, note] of rows) lines.push(`  ${label.padEnd(width)}  ${value}${' '.repeat(middle - visible(value))}  ${note}`.trimEnd());
  if (report.problems.length > 0) {
    lines.push('  problems:');
    for (const p of report.problems) lines.push(`    - ${red(p)}`);
  }
  if (report.warnings.length > 0) {
    lines.push('  warnings:');
    for (const w of report.warnings) lines.push(`    - ${yellow(w)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** `status [--json] [--live]`: `live` reads the fence from storage instead of the daemon's published state (scsi-pr). */
export async function main(configPath: string, json: boolean, live = false): Promise<number> {
  const config = loadConfig(configPath);
  const report = await collectStatus(config, { live });
  process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : renderTable(report, process.stdout.isTTY === true && !process.env.NO_COLOR));
  return report.healthy === null ? ExitCode.UNKNOWN : report.healthy ? ExitCode.OK : ExitCode.FAILURE;
}
