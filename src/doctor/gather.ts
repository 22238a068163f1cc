// What `fence-agent doctor` reads on the node (every outside command bounded; off every hot path),
// judged by src/doctor/checks.ts. Findings that need the configuration come after it loaded.
import { readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/types.ts';
import { errorLine } from '../errors.ts';
import { majorMinorOf } from '../probes/mountinfo.ts';
import { findMysqld, mysqldSelector } from '../probes/mysqld.ts';
import { queryDurability } from '../probes/sql.ts';
import { healthFilePath } from '../daemon/health-file.ts';
import { inspectWatchdog, watchdogProblems } from '../watchdog/device.ts';
import { showFence } from '../../fence/admin.ts';
import { checkClock, checkDatabaseUnits, checkDurability, parseOptionFiles, checkFstab, checkKeepalivedConf, checkMmp, checkNodeVersion, checkWriteCache, type Finding, type NodeFacts } from './checks.ts';
import { machineId } from '../proc.ts';
import { formatKey, reservationKey } from '../../fence/scsi-pr/key.ts';

/** Bound on each outside command, ms. */
const COMMAND_MS = 5000;
/** Bound on the durability query (connect + SHOW GLOBAL VARIABLES), ms: 1 s was short under TCG. */
const DURABILITY_QUERY_MS = 10_000;

/** The units a distro's MariaDB/MySQL package installs. */
export const DATABASE_UNITS = ['mariadb.service', 'mariadb.socket', 'mysql.service', 'mysqld.service'];

export interface GatherOptions {
  /** keepalived.conf to read (default /etc/keepalived/keepalived.conf) */
  keepalivedConf: string;
}

async function run(file: string, args: string[]): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }> {
  const { execa } = await import('execa');
  const ran = await execa(file, args, { reject: false, timeout: COMMAND_MS, stdin: 'ignore' });
  return { exitCode: ran.exitCode, stdout: String(ran.stdout ?? ''), stderr: String(ran.stderr ?? '') };
}

const readOrNull = (file: string): string | null => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};

/** `systemctl is-enabled` of each unit: its state, null for a unit systemd does not have; throws when systemctl cannot answer at all. */
async function unitStates(): Promise<Record<string, string | null>> {
  const states: Record<string, string | null> = {};
  for (const unit of DATABASE_UNITS) {
    const ran = await run('systemctl', ['is-enabled', unit]);
    const state = ran.stdout.trim().split('\n')[0] ?? '';
    if (state !== '') states[unit] = state;
    else if (/No such file|not found|does not exist/i.test(ran.stderr)) states[unit] = null;
    else throw new Error(ran.stderr.trim().split('\n').at(-1) ?? `systemctl exited ${ran.exitCode ?? 'unknown'}`);
  }
  return states;
}

/**
 * `my_print_defaults --mysqld`: the options mysqld would read from its option files, with the
 * `--no-defaults`/`--defaults-file`/`--defaults-extra-file` that `mysqld.start` passes it (they must
 * come first there, and here). Null when it could not run (no MariaDB/MySQL client tools).
 */
async function optionFiles(config: Config): Promise<string | null> {
  const start = config.mysqld.start ?? [];
  if (start.slice(1).includes('--no-defaults')) return '';
  const defaults = start.slice(1).filter((arg) => /^--defaults(-extra)?-file=/.test(arg));
  const ran = await run('my_print_defaults', [...defaults, '--mysqld']).catch(() => null);
  return ran?.exitCode === 0 ? ran.stdout : null;
}

/** The whole disk the device is on (sdb for sdb1), from sysfs. */
function diskOf(device: string): string | null {
  try {
    const majorMinor = majorMinorOf(statSync(device, { bigint: true }).rdev);
    const dir = realpathSync(`/sys/dev/block/${majorMinor}`);
    return readOrNull(path.join(dir, 'partition')) === null ? dir : path.dirname(dir);
  } catch {
    return null;
  }
}

/** The LU's WWID (/sys/block/<disk>/device/wwid) of the disk `device` is on, or null (not SCSI, not present). */
function wwidOf(device: string): string | null {
  const disk = diskOf(device);
  return disk === null ? null : (readOrNull(path.join(disk, 'device', 'wwid'))?.trim() ?? null);
}

/** Every finding about the node and its configuration, and its facts for `--peer`. Never throws: a failed read is a finding. */
export async function gather(config: Config, options: GatherOptions): Promise<{ findings: Finding[]; facts: NodeFacts }> {
  const findings: Finding[] = [checkNodeVersion(process.version), { status: 'ok', check: 'config', detail: `${config.configPath} loads and is trusted (owner, mode, paths)` }];

  // fstab, under every name the device has
  const paths = [config.disk.device];
  try {
    paths.push(realpathSync(config.disk.device));
  } catch {
    // not present on this node: the fstab text is still compared by the configured path
  }
  const blkid = await run('blkid', ['-o', 'export', config.disk.device]).catch(() => null);
  const tag = (name: string): string | null => new RegExp(`^${name}=(.*)$`, 'm').exec(blkid?.stdout ?? '')?.[1] ?? null;
  findings.push(checkFstab(readOrNull('/etc/fstab'), { paths, uuid: tag('UUID'), label: tag('LABEL'), mountpoint: config.disk.mountpoint }));

  try {
    findings.push(...checkDatabaseUnits(await unitStates(), config.mysqld.systemdUnit));
  } catch (error) {
    findings.push({ status: 'warn', check: 'units', detail: `systemctl could not say which database units are enabled (${errorLine(error)})`, fix: 'check by hand: systemctl is-enabled mariadb.service' });
  }

  findings.push(...checkKeepalivedConf(readOrNull(options.keepalivedConf), options.keepalivedConf, healthFilePath(config.runDir)));

  // the fence: reachable, and the watchdog where the method needs one
  try {
    const view = await showFence(config);
    const detail =
      view.method === 'none'
        ? 'fence.method none: NO FENCING'
        : view.method === 'lockfile'
          ? `lease ${view.path} ${view.state}${view.record ? ` (${view.record.node}, counter ${view.record.counter})` : ''}`
          : `${view.device}: keys ${view.keys.map((k) => k.key).join(', ') || 'none'}; reservation ${view.reservation?.key ?? 'none'}; this node's key ${view.thisNodeKey}`;
    findings.push(view.method === 'none' ? { status: 'warn', check: 'fence', detail, fix: 'configure lockfile (with a watchdog) or scsi-pr: without a fence a frozen MASTER writes beside its successor' } : { status: 'ok', check: 'fence', detail });
  } catch (error) {
    findings.push({ status: 'fail', check: 'fence', detail: `the fence cannot be read: ${errorLine(error)}`, fix: 'check the lease storage (lockfile) or the LU path and sg3-utils (scsi-pr)' });
  }
  if (config.fence.method === 'lockfile' && config.fence.watchdog !== null) {
    try {
      const info = inspectWatchdog(config.fence.watchdog.device);
      const problem = watchdogProblems(config.fence.watchdog, info)[0];
      findings.push(problem === undefined ? { status: info.kind === 'simulated' ? 'warn' : 'ok', check: 'watchdog', detail: `${info.device}: ${info.kind}${info.identity ? ` (${info.identity})` : ''}`, ...(info.kind === 'simulated' ? { fix: 'the labs\' FIFO: use a kernel watchdog on a server' } : {}) } : { status: 'fail', check: 'watchdog', detail: problem, fix: 'see README "The watchdog"' });
    } catch (error) {
      findings.push({ status: 'fail', check: 'watchdog', detail: errorLine(error), fix: 'load a watchdog driver (softdog at least) or set fence.allowNoWatchdog (weaker)' });
    }
  }

  // the filesystem and the LU under it
  const dumpe2fs = config.disk.fstype === 'ext4' ? await run('dumpe2fs', ['-h', config.disk.device]).catch(() => null) : null;
  findings.push(checkMmp(dumpe2fs?.exitCode === 0 ? dumpe2fs.stdout : null, config.fence.method, config.disk.fstype));
  const disk = diskOf(config.disk.device);
  if (disk === null) findings.push({ status: 'warn', check: 'write-cache', detail: `${config.disk.device} is not present on this node`, fix: 'log in to the storage (iscsiadm) and run doctor again' });
  else findings.push(checkWriteCache(path.basename(disk), readOrNull(path.join(disk, 'queue', 'write_cache')), readOrNull(path.join(disk, 'queue', 'fua'))));

  // durability, from mysqld itself when it runs here
  const mysqld = await findMysqld(mysqldSelector(config)).catch(() => null);
  if (mysqld !== null && mysqld.pids.length > 0) {
    // not a hot path: a slow machine gets more than the health ping's bound
    const answer = await queryDurability(config.mysqld, Math.max(config.deadlines.sqlPingMs, DURABILITY_QUERY_MS));
    findings.push(...(answer.ok ? checkDurability(answer.vars) : [{ status: 'fail' as const, check: 'durability', detail: `mysqld runs but its settings could not be read: ${answer.error}`, fix: 'check mysqld.health credentials and mysqld.socket' }]));
  } else {
    // a BACKUP: the settings mysqld would start with, from its option files (never by running
    // the server binary: a mariadbd process here would look like a running mysqld to every probe)
    const files = await optionFiles(config);
    findings.push(...checkDurability(files === null ? null : parseOptionFiles(files), 'option files'));
  }

  const clock = await run('timedatectl', ['show', '-p', 'NTPSynchronized', '--value']).catch(() => null);
  findings.push(checkClock(clock?.exitCode === 0 ? clock.stdout : null));

  const { fence } = config;
  let ownMachine: string | null;
  try {
    ownMachine = machineId();
  } catch {
    ownMachine = null;
  }
  const facts: NodeFacts = {
    node: config.node,
    cluster: config.cluster,
    machineId: ownMachine,
    vip: `${config.vip.address}/${config.vip.prefix}`,
    disk: { device: config.disk.device, wwid: wwidOf(config.disk.device), uuid: tag('UUID') },
    fence:
      fence.method === 'scsi-pr'
        ? { method: 'scsi-pr', identity: formatKey(reservationKey(config.cluster, fence.nodeId)), target: wwidOf(fence.device) }
        : fence.method === 'lockfile'
          ? { method: 'lockfile', identity: config.node, target: fence.path }
          : { method: 'none', identity: config.node, target: null },
  };
  return { findings, facts };
}

/**
 * The peer's `doctor --json` over ssh (`$FENCE_AGENT_SSH`, default `ssh`, BatchMode), bounded
 * to `timeoutMs` (ms; `doctor --peer-timeout-ms`, default 30 s). @throws Error with a line saying why it could not be had
 */
export async function peerReport(host: string, timeoutMs: number): Promise<{ facts: NodeFacts; findings: Finding[] }> {
  const { execa } = await import('execa');
  const ssh = process.env.FENCE_AGENT_SSH ?? 'ssh';
  const ran = await execa(ssh, ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', host, 'fence-agent', 'doctor', '--json'], { reject: false, timeout: timeoutMs, stdin: 'ignore' });
  const stdout = String(ran.stdout ?? '');
  try {
    const report = JSON.parse(stdout) as { facts?: NodeFacts; findings?: Finding[] };
    if (report.facts === undefined) throw new Error('no facts in its report (an older fence-agent?)');
    return { facts: report.facts, findings: report.findings ?? [] };
  } catch (error) {
    const why = ran.timedOut ? `no answer within ${(timeoutMs / 1000).toFixed(0)} s (--peer-timeout-ms)` : String(ran.stderr ?? '').trim().split('\n').at(-1) || errorLine(error);
    throw new Error(`${ssh} ${host} fence-agent doctor --json: ${why}`, { cause: error });
  }
}
