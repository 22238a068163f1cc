// `fence-agent doctor`'s rules (issue 11, "doctor"): each takes what was read on the node and
// returns findings — ok, warn or fail, with a fix. Pure: src/doctor/gather.ts reads the node,
// src/commands/doctor.ts prints. What each rule guards:
// - the shared device mounted at boot (fstab without `noauto`) is a second writer before any fence;
// - the distro's mariadb.service started at boot does the same with mysqld;
// - keepalived that does not call this binary, or without enable_script_security, never asks us;
// - S4 (no acknowledged write lost) rests on mysqld flushing its redo log and binlog on commit and
//   on the LU honouring flushes (FUA or a write-through cache).

import { nodeVersionProblem } from '../node-version.ts';

export type Status = 'ok' | 'warn' | 'fail';

export interface Finding {
  status: Status;
  /** short name of the check, e.g. `fstab` */
  check: string;
  detail: string;
  /** what to do about it (warn and fail) */
  fix?: string;
}

const ok = (check: string, detail: string): Finding => ({ status: 'ok', check, detail });
const warn = (check: string, detail: string, fix: string): Finding => ({ status: 'warn', check, detail, fix });
const fail = (check: string, detail: string, fix: string): Finding => ({ status: 'fail', check, detail, fix });

/** Node.js ≥ 20.19 (yargs 18, the engines field; src/node-version.ts). */
export function checkNodeVersion(version: string): Finding {
  const problem = nodeVersionProblem(version.replace(/^v/, ''));
  return problem === null ? ok('node', `Node.js ${version}`) : fail('node', problem, 'install Node.js 20.19 or later (README "Install")');
}

/** How the shared device may be named in fstab. */
export interface DeviceNames {
  /** the configured path (disk.device) and what it resolves to */
  paths: string[];
  uuid: string | null;
  label: string | null;
  mountpoint: string;
}

/**
 * fstab(5): a line for the shared device (by path, UUID=, LABEL=, /dev/disk/by-*) or for the
 * mountpoint must have `noauto` — or better not exist: mounted at boot it is written before any
 * fence is taken.
 */
export function checkFstab(text: string | null, names: DeviceNames): Finding {
  if (text === null) return ok('fstab', 'no /etc/fstab');
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [spec = '', file = '', , options = 'defaults'] = line.split(/\s+/);
    const named =
      names.paths.includes(spec) ||
      (names.uuid !== null && (spec === `UUID=${names.uuid}` || spec === `/dev/disk/by-uuid/${names.uuid}`)) ||
      (names.label !== null && (spec === `LABEL=${names.label}` || spec === `/dev/disk/by-label/${names.label}`)) ||
      file === names.mountpoint;
    if (!named) continue;
    if (options.split(',').includes('noauto')) return warn('fstab', `/etc/fstab has "${line}" with noauto`, 'remove the line: the agent mounts the shared disk itself');
    return fail('fstab', `/etc/fstab mounts the shared disk at boot: "${line}"`, 'remove the line (or add noauto): mounted at boot, the disk is written before any fence is taken');
  }
  return ok('fstab', 'the shared disk is not in /etc/fstab');
}

/**
 * The distro's database units (`systemctl is-enabled` of each, or null when systemctl has no such
 * unit). With `mysqld.systemdUnit` the agent starts that unit: it must be disabled (not started at
 * boot) and not masked (a masked unit cannot start); the others must be disabled or masked.
 */
export function checkDatabaseUnits(enabled: Record<string, string | null>, systemdUnit: string | null): Finding[] {
  const findings: Finding[] = [];
  for (const [unit, state] of Object.entries(enabled)) {
    if (state === null || state === 'not-found') continue;
    const ours = unit === systemdUnit;
    // an alias (Debian's mysql.service → mariadb.service) is judged by the unit it names
    if (state === 'alias') {
      findings.push(ok('units', `${unit} is an alias (judged by the unit it names)`));
      continue;
    }
    if (state === 'enabled' || state === 'enabled-runtime' || state === 'static' || state === 'indirect' || state === 'generated') {
      findings.push(fail('units', `${unit} is ${state}: systemd starts it at boot`, `systemctl disable${ours ? '' : ' --now'} ${unit}${ours ? ' (the agent starts it)' : ` && systemctl mask ${unit}`}`));
    } else if (ours && (state === 'masked' || state === 'masked-runtime')) {
      findings.push(fail('units', `${unit} is masked, but mysqld.systemdUnit names it: the agent cannot start it`, `systemctl unmask ${unit} && systemctl disable ${unit}`));
    } else findings.push(ok('units', `${unit} is ${state}`));
  }
  if (findings.length === 0) findings.push(ok('units', 'no distro database unit installed'));
  return findings;
}

/**
 * keepalived.conf(5) as the agent needs it: `enable_script_security`, a vrrp_script running
 * `<agent> check`, `notify` running `<agent> notify`, and the daemon's health file tracked.
 */
export function checkKeepalivedConf(text: string | null, path: string, healthFile: string): Finding[] {
  if (text === null) return [fail('keepalived', `${path} not found`, 'generate it: fence-agent config keepalived --interface IF --router-id N --priority N ...')];
  const body = text.replace(/#.*$/gm, '');
  const findings: Finding[] = [];
  findings.push(/^\s*enable_script_security\b/m.test(body) ? ok('keepalived', 'enable_script_security on') : fail('keepalived', `${path}: no enable_script_security`, 'add enable_script_security to global_defs (scripts root-owned, in root-owned paths)'));
  findings.push(/^\s*script\s+"?[^\n]*fence-agent[^\n]*\bcheck\b/m.test(body) ? ok('keepalived', 'vrrp_script runs fence-agent check') : fail('keepalived', `${path}: no vrrp_script running fence-agent check`, 'use fence-agent config keepalived to generate the vrrp_script'));
  findings.push(/^\s*notify\s+"?[^\n]*fence-agent[^\n]*\bnotify\b/m.test(body) ? ok('keepalived', 'notify runs fence-agent notify') : fail('keepalived', `${path}: no notify running fence-agent notify`, 'add notify "<fence-agent> notify" to the vrrp_instance (fence-agent config keepalived does)'));
  findings.push(body.includes(healthFile) ? ok('keepalived', `track_file ${healthFile}`) : warn('keepalived', `${path} does not track the daemon's health file ${healthFile}`, 'add the track_file block fence-agent config keepalived prints: keepalived then sees the daemon\'s verdict without a process per check'));
  if (/^\s*nopreempt\b/m.test(body)) findings.push(ok('keepalived', 'nopreempt'));
  else findings.push(warn('keepalived', `${path}: no nopreempt`, 'add nopreempt (and state BACKUP): a recovered node would take the role back, a second failover'));
  return findings;
}

/** MariaDB's compiled defaults of the durability variables (10.11; MySQL 8 turns the binlog on with sync_binlog=1). */
export const MARIADB_DURABILITY_DEFAULTS: Readonly<Record<string, string>> = { innodb_flush_log_at_trx_commit: '1', innodb_doublewrite: 'ON', log_bin: 'OFF', sync_binlog: '0' };

/**
 * The durability variables as mysqld would start with them, from `my_print_defaults --mysqld`
 * (one `--name[=value]` per line, the option files' [mysqld]/[server]/[mariadb]… groups in order:
 * the last wins) over {@link MARIADB_DURABILITY_DEFAULTS}, in SHOW GLOBAL VARIABLES' names:
 * `--log-bin[=name]` → log_bin ON, `--skip-log-bin` OFF; `--skip-innodb-doublewrite` OFF;
 * `loose-` prefixes and `_`/`-` spellings alike. Not the server binary's `--help`: a `mariadbd`
 * process on a BACKUP looks like a running mysqld to every probe (ours included).
 */
export function parseOptionFiles(text: string): Record<string, string> {
  const vars: Record<string, string> = { ...MARIADB_DURABILITY_DEFAULTS };
  const onOff = (value: string | undefined): string => (value === undefined || /^(1|on|true|yes)$/i.test(value) ? 'ON' : /^(0|off|false|no)$/i.test(value) ? 'OFF' : value.toUpperCase());
  for (const line of text.split('\n')) {
    const match = /^--(?:loose[-_])?([A-Za-z0-9_-]+)(?:=(.*))?$/.exec(line.trim());
    if (match === null) continue;
    let name = (match[1] as string).replace(/_/g, '-').toLowerCase();
    const value = match[2];
    let negated = false;
    const prefix = /^(skip|disable)-/.exec(name);
    if (prefix !== null) {
      negated = true;
      name = name.slice(prefix[0].length);
    } else if (name.startsWith('enable-')) name = name.slice('enable-'.length);
    if (name === 'innodb-flush-log-at-trx-commit' && value !== undefined && !negated) vars.innodb_flush_log_at_trx_commit = value.trim();
    else if (name === 'sync-binlog' && value !== undefined && !negated) vars.sync_binlog = value.trim();
    else if (name === 'log-bin') vars.log_bin = negated || (value !== undefined && /^(0|off)$/i.test(value)) ? 'OFF' : 'ON';
    else if (name === 'innodb-doublewrite') vars.innodb_doublewrite = negated ? 'OFF' : onOff(value);
  }
  return vars;
}

/**
 * Durability (S4): the server variables as mysqld reports them (SHOW GLOBAL VARIABLES), or, when
 * mysqld does not run here (a BACKUP), as it would start with them (`from: 'option files'`, see
 * {@link parseOptionFiles}); null when neither could be read.
 */
export function checkDurability(vars: Record<string, string> | null, from: 'server' | 'option files' = 'server'): Finding[] {
  if (vars === null) return [warn('durability', 'mysqld does not run on this node and its option files could not be read (my_print_defaults --mysqld)', 'run fence-agent doctor on the MASTER')];
  const findings: Finding[] = [];
  const trx = vars.innodb_flush_log_at_trx_commit;
  findings.push(trx === '1' ? ok('durability', 'innodb_flush_log_at_trx_commit=1') : fail('durability', `innodb_flush_log_at_trx_commit=${trx ?? '?'}: a commit acknowledged before its redo log is on disk is lost in a failover`, 'set innodb_flush_log_at_trx_commit=1'));
  if ((vars.log_bin ?? 'OFF').toUpperCase() === 'ON') {
    const sync = vars.sync_binlog;
    findings.push(sync === '1' ? ok('durability', 'sync_binlog=1') : fail('durability', `sync_binlog=${sync ?? '?'} with the binlog on: the binlog may miss acknowledged commits after a failover`, 'set sync_binlog=1'));
  }
  const doublewrite = (vars.innodb_doublewrite ?? '').toUpperCase();
  findings.push(doublewrite === 'ON' || doublewrite === '1' || doublewrite === 'FAST' ? ok('durability', `innodb_doublewrite=${vars.innodb_doublewrite}`) : fail('durability', `innodb_doublewrite=${vars.innodb_doublewrite ?? '?'}: a page torn by the failover cannot be repaired`, 'set innodb_doublewrite=ON'));
  return from === 'server' ? findings : findings.map((f) => ({ ...f, detail: `${f.detail} (option files: mysqld does not run here)` }));
}

/**
 * The LU's cache as the kernel reports it (/sys/block/<disk>/queue/write_cache and fua): a
 * write-back cache is safe only when the kernel can force writes through it (flush/FUA).
 */
export function checkWriteCache(disk: string, writeCache: string | null, fua: string | null): Finding {
  if (writeCache === null) return warn('write-cache', `${disk}: the kernel does not report its write cache`, 'check the array\'s cache policy: battery-backed or write-through');
  if (writeCache.trim() === 'write through') return ok('write-cache', `${disk}: write through`);
  if (fua?.trim() === '1') return ok('write-cache', `${disk}: write back, FUA supported (flushes reach stable storage)`);
  return warn('write-cache', `${disk}: write back without FUA: durability rests on the array honouring cache flushes`, 'confirm the array\'s cache is battery-backed or honours SYNCHRONIZE CACHE');
}

/** timedatectl's NTPSynchronized (yes/no), or null when it cannot be read. */
export function checkClock(synchronized: string | null): Finding {
  if (synchronized === null) return warn('clock', 'whether the clock is synchronised could not be read (timedatectl)', 'run chrony or systemd-timesyncd: logs of both nodes are compared by time');
  return synchronized.trim() === 'yes' ? ok('clock', 'synchronised (NTP)') : warn('clock', 'not synchronised', 'enable chrony or systemd-timesyncd; the agent orders events on the monotonic clock, people read logs by wall clock');
}

/**
 * ext4 multi-mount protection (`dumpe2fs -h`: "Filesystem features" with mmp): required with
 * scsi-pr (the holder's heartbeat), a second guard against a double mount otherwise.
 */
export function checkMmp(dumpe2fs: string | null, method: string, fstype: string): Finding {
  if (fstype !== 'ext4') return method === 'scsi-pr' ? fail('mmp', `${fstype}: scsi-pr needs ext4 with MMP (the holder's heartbeat)`, 'use ext4 with tune2fs -O mmp') : warn('mmp', `${fstype} has no multi-mount protection`, 'ext4 with MMP refuses a second mount itself');
  if (dumpe2fs === null) return warn('mmp', 'the superblock could not be read (dumpe2fs -h)', 'run dumpe2fs -h on the device');
  const features = /^Filesystem features:\s*(.*)$/m.exec(dumpe2fs)?.[1] ?? '';
  if (features.split(/\s+/).includes('mmp')) return ok('mmp', 'ext4 multi-mount protection on');
  return method === 'scsi-pr' ? fail('mmp', 'ext4 without MMP: scsi-pr cannot tell a live holder from a dead one', 'tune2fs -O mmp -E mmp_update_interval=5 <device> (unmounted)') : warn('mmp', 'ext4 without MMP', 'tune2fs -O mmp <device> (unmounted): the kernel then refuses a second mount');
}

/** What `doctor --json` says about the node, for the comparison with its peer (`--peer`). */
export interface NodeFacts {
  node: string;
  cluster: string;
  machineId: string | null;
  vip: string;
  /** the shared device: the configured path, the LU's WWID (/sys/block/<disk>/device/wwid), the filesystem UUID */
  disk: { device: string; wwid: string | null; uuid: string | null };
  /** the fence: method, this node's identity on it (name or reservation key), what it fences */
  fence: { method: string; identity: string; target: string | null };
}

/**
 * The two nodes of a pair against each other: the same cluster, VIP, LU (WWID), filesystem and
 * fence target; different node names, machines and fence identities (a duplicated key or name
 * makes each node take the other for itself).
 */
export function comparePeer(own: NodeFacts, peer: NodeFacts): Finding[] {
  const findings: Finding[] = [];
  const same = (check: string, what: string, a: string | null, b: string | null, fix: string): void => {
    if (a === null || b === null) findings.push(warn(check, `${what}: not known on ${a === null ? own.node : peer.node}`, fix));
    else findings.push(a === b ? ok(check, `${what} the same on both: ${a}`) : fail(check, `${what} differs: ${own.node} ${a}, ${peer.node} ${b}`, fix));
  };
  const differ = (check: string, what: string, a: string | null, b: string | null, fix: string): void => {
    if (a === null || b === null) return;
    findings.push(a !== b ? ok(check, `${what} unique: ${own.node} ${a}, ${peer.node} ${b}`) : fail(check, `${what} the same on both nodes: ${a}`, fix));
  };
  same('peer', 'cluster', own.cluster, peer.cluster, 'set the same cluster name in both configurations');
  same('peer', 'VIP', own.vip, peer.vip, 'set the same vip in both configurations');
  same('peer', 'LU (WWID)', own.disk.wwid, peer.disk.wwid, 'disk.device must name the same LU on both nodes: compare /sys/block/*/device/wwid');
  same('peer', 'filesystem UUID', own.disk.uuid, peer.disk.uuid, 'disk.device must be the same filesystem on both nodes (blkid)');
  same('peer', 'fence method', own.fence.method, peer.fence.method, 'use the same fence.method on both nodes');
  same('peer', 'fence target', own.fence.target, peer.fence.target, 'the fence (lease path or LU) must be the same on both nodes');
  differ('peer', 'node name', own.node, peer.node, 'give each node its own name (node)');
  differ('peer', 'machine id', own.machineId, peer.machineId, 'a cloned machine keeps /etc/machine-id: regenerate it (systemd-machine-id-setup)');
  differ('peer', 'fence identity', own.fence.identity, peer.fence.identity, 'scsi-pr: give each node its own fence.nodeId; lockfile: its own node name');
  return findings;
}
