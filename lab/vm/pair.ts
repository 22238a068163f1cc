// The pair in the two-VM lab, set up as an operator would on two servers: the agent's
// configuration in /etc/fence-agent/config.json, keepalived.conf generated *in the guest* by the
// agent's own `fence-agent config keepalived`, keepalived and fence-agent as systemd services,
// MariaDB through Debian's stock mariadb.service (started only by the agent). Between scenarios
// the pair is stopped and cleaned the way an operator would take it down — keepalived first
// (its STOP notify demotes a MASTER), then the agent, then whatever a failed scenario left —
// so one booted lab serves every scenario (a fresh boot of both VMs costs minutes under TCG).
import { createHash } from 'node:crypto';
import { sh } from '../sh.ts';
import { GUEST_AGENT_DIR, GUEST_CONFIG_PATH, VM_CLUSTER_NAME, vmAgentConfig } from './agent.ts';
import { formatKey, reservationKey } from '../../fence/scsi-pr/key.ts';
import { vmAddresses, VIP } from './net.ts';
import { GUEST_SAMPLER_PATH, SAMPLER_SCRIPT } from './sampler.ts';
import type { VmNode } from './lab.ts';

/** keepalived's priority per VM id: node1 wins the first election. */
export const priorityOf = (id: number): number => (id === 1 ? 150 : 100);
/** The agent command keepalived runs (the image's node and the installed agent; root-owned paths). */
export const GUEST_AGENT_COMMAND = '/usr/local/bin/node /opt/fence-agent/dist/cli.cjs';
/** The agent's log in the guest (pino JSON lines). */
export const GUEST_AGENT_LOG = '/var/log/fence-agent.log';
/** The agent's state directory in the guest (defaults of the configuration). */
export const GUEST_STATE_DIR = '/var/lib/fence-agent';
export const GUEST_RUN_DIR = '/run/fence-agent';
/** The shared disk in the guests, and its LU (persistent reservations belong to the LU). */
export const GUEST_DEVICE = '/dev/sdb1';
/** The LUN's ext4 `mmp_update_interval` in the scsi-pr scenarios, s, unless one asks for another. */
export const MMP_UPDATE_INTERVAL_S = 5;
export const GUEST_LU = '/dev/sdb';
export const GUEST_MOUNTPOINT = '/data';

export interface VmPairOptions {
  /** `mysqld.restartAttempts` (default 0: a dead mysqld fails over) */
  mysqldRestartAttempts?: number;
  /** run with the guest's watchdog (default true); false = `fence.allowNoWatchdog` (lockfile only) */
  watchdog?: boolean;
  /** the fencing method (default lockfile on the NFS lease storage); scsi-pr needs MMP on the LUN */
  fence?: 'lockfile' | 'scsi-pr';
  /** scsi-pr: the LUN's ext4 `mmp_update_interval`, s (default {@link MMP_UPDATE_INTERVAL_S}) */
  mmpUpdateIntervalS?: number;
  /** `keepalived.startMode` (default the agent's, always) */
  startMode?: 'always' | 'clean';
  /** scsi-pr: `fence.aptpl` (default the agent's, false) */
  aptpl?: boolean | 'auto';
}

/** The agent configuration of VM `name` for a scenario. */
export function pairConfig(name: string, options: VmPairOptions = {}): Record<string, unknown> {
  const base = vmAgentConfig(name) as { fence: Record<string, unknown>; mysqld: Record<string, unknown>; keepalived: Record<string, unknown> } & Record<string, unknown>;
  // scsi-pr: the LU's persistent reservations, no watchdog; each command gets 5 s on the one
  // vCPU (relation (c): 11 s MMP wait + 5 s drain + 2·5 s ≤ fenceAcquireMs, 40 s here)
  const scsiPr = options.fence === 'scsi-pr';
  const fence: Record<string, unknown> = scsiPr ? { method: 'scsi-pr', commandTimeoutMs: 5000, ...(options.aptpl === undefined ? {} : { aptpl: options.aptpl }) } : { ...base.fence };
  if (options.watchdog === false && !scsiPr) {
    delete fence.watchdog;
    fence.allowNoWatchdog = true;
  }
  return {
    ...base,
    fence,
    mysqld: { ...base.mysqld, restartAttempts: options.mysqldRestartAttempts ?? 0 },
    // keepalived learns the node's health from the daemon's tracked file (no process per check);
    // `fence-agent check` is the slow second opinion: a Node start under TCG (~0.8 s of the guest's
    // one vCPU idle, over 4 s while mariadb recovers after a crash), so every 10 s with 8 s to
    // finish and 3 failures in a row. At 4 s/4 s/fall 3 it was what kept failing during promotions
    // (three checks starved by the mariadb start → FAULT → ping-pong: mysqld-crash in CI at c103e3e).
    // check's own deadline stays below keepalived's timeout (relation (e)).
    keepalived: { ...base.keepalived, notifyFifo: `${GUEST_RUN_DIR}/keepalived.fifo`, checkIntervalMs: 10_000, checkTimeoutMs: 8000, checkFall: 3, ...(options.startMode === undefined ? {} : { startMode: options.startMode }) },
    // the daemon's verdict every 2 s (twice the default), so fall 3 = 6 s: a SQL ping the mariadb
    // start starved (sqlPingMs below) in two verdicts in a row does not put a promoted node in FAULT
    monitor: { ...(base.monitor ?? {}), healthIntervalMs: 2000 },
    // the SQL ping (daemon and check) twice its default: mariadb.service's debian-start competes for the one vCPU after each start;
    // mysqld.start twice its default: `systemctl start mariadb` returns only after the stock unit's
    // ExecStartPre (galera_recovery, ~10 s here) and ExecStartPost (debian-start), and took over
    // 30 s after a crash with the ledger connecting (measured: master-frozen, a9249ef)
    deadlines: { ...((base.deadlines) ?? {}), checkMs: 3000, sqlPingMs: 2000, mysqldStartMs: 60_000, ...(scsiPr ? { fenceAcquireMs: 40_000 } : {}) },
  };
}

/** What keepalived.conf was last generated from (a hash of the configuration and the flags). */
const KEEPALIVED_STAMP = '/etc/keepalived/.fence-agent-generated-from';

/** A shell command writing `text` to `file` (mode 0600, root's; base64 on the command line). */
const writeFile = (file: string, text: string, mode = '0600'): string =>
  `install -d -m 0755 "$(dirname ${file})" && echo ${Buffer.from(text).toString('base64')} | base64 -d > ${file}.new && chmod ${mode} ${file}.new && mv ${file}.new ${file}`;

/**
 * Writes the node's configuration for a scenario, generates its keepalived.conf with the agent
 * (`fence-agent config keepalived`, which also validates the configuration: exit 6 on a bad one)
 * unless the configuration, flags and agent build are those it was last generated from,
 * installs the monitor's sampler, and enables both units if they are not (`systemctl enable` runs
 * Debian's update-rc.d, seconds of the one vCPU: only when needed). `fence-agent config check`
 * (lease placement, watchdog) runs once per lab, in the lab's own test.
 * @throws when a step fails in the guest (its output in the message)
 */
export async function configureNode(node: VmNode, peers: readonly VmNode[], options: VmPairOptions = {}): Promise<void> {
  const own = vmAddresses(node.id);
  const keepalivedFlags = [
    '--interface eth1',
    '--router-id 51',
    `--priority ${priorityOf(node.id)}`,
    '--advert-ms 1000',
    `--src ${own.cluster}`,
    ...peers.filter((peer) => peer.id !== node.id).map((peer) => `--peer ${vmAddresses(peer.id).cluster}`),
    '--garp-refresh 2',
    `--agent-command '${GUEST_AGENT_COMMAND}'`,
  ].join(' ');
  const configText = `${JSON.stringify(pairConfig(node.name, options), null, 2)}\n`;
  // keepalived.conf depends only on the configuration, the flags and the agent's build: regenerated
  // (a full CLI load, seconds of the one vCPU) only when one changed since it was last generated
  const stamp = createHash('sha256').update(configText).update(keepalivedFlags).digest('hex');
  const script = [
    'set -e',
    writeFile(GUEST_CONFIG_PATH, configText),
    writeFile(GUEST_SAMPLER_PATH, SAMPLER_SCRIPT, '0644'),
    `want="${stamp}-$(cat ${GUEST_AGENT_DIR}/.stamp 2>/dev/null || true)"`,
    `if [ "$(cat ${KEEPALIVED_STAMP} 2>/dev/null || true)" != "$want" ] || [ ! -s /etc/keepalived/keepalived.conf ]; then`,
    `  /usr/local/bin/fence-agent config keepalived ${keepalivedFlags} > /etc/keepalived/keepalived.conf.new`,
    '  mv /etc/keepalived/keepalived.conf.new /etc/keepalived/keepalived.conf',
    `  echo "$want" > ${KEEPALIVED_STAMP}`,
    'fi',
    // as on a real server: both start at boot (fence-agent first), so a node that was reset or
    // powered off rejoins on its own
    'systemctl is-enabled -q fence-agent.service keepalived.service || systemctl enable -q fence-agent.service keepalived.service',
  ].join('\n');
  await node.ok(script, { timeoutMs: 120_000 });
}

/**
 * Stops the pair's services on the node as an operator would and removes what a scenario left:
 * keepalived (a MASTER's STOP notify demotes it), the agent (a daemon still holding the disk
 * demotes on SIGTERM), then mariadb.service, any mysqld and mount left, the agent's state, run
 * files and log. The watchdog: a daemon that exits armed gets the VM reset — the caller waits for
 * the VM to answer again. Resolves with what had to be cleaned by force (empty = a clean stop).
 */
export async function stopNode(node: VmNode): Promise<string[]> {
  const script = [
    'forced=""',
    'systemctl stop keepalived.service 2>/dev/null || true',
    'timeout 150 systemctl stop fence-agent.service 2>/dev/null || forced="$forced fence-agent-stop"',
    'systemctl kill -s SIGKILL fence-agent.service 2>/dev/null || true',
    'if systemctl is-active -q mariadb.service; then forced="$forced mariadb.service"; fi',
    'systemctl stop mariadb.service 2>/dev/null || true',
    'if pgrep -x mariadbd >/dev/null; then forced="$forced mariadbd"; pkill -9 -x mariadbd; sleep 1; fi',
    'systemctl reset-failed mariadb.service fence-agent.service keepalived.service 2>/dev/null || true',
    `if grep -q ' ${GUEST_DEVICE} ' /proc/1/mountinfo; then forced="$forced mount"; umount -l ${GUEST_MOUNTPOINT} 2>/dev/null || true; fi`,
    `ip -4 addr del ${VIP}/24 dev eth1 2>/dev/null && forced="$forced vip" || true`,
    // scsi-pr: this node's key, if a scenario left it registered (a BACKUP is never a registrant)
    `if sg_persist --in --readonly --read-keys ${GUEST_LU} 2>/dev/null | grep -qE '^[[:space:]]+${formatKey(reservationKey(VM_CLUSTER_NAME, node.name))}$'; then forced="$forced pr-key"; sg_persist --out --register-ignore --param-sark=0 ${GUEST_LU} >/dev/null 2>&1 || true; fi`,
    `rm -rf ${GUEST_STATE_DIR} ${GUEST_RUN_DIR}`,
    `: > ${GUEST_AGENT_LOG}`,
    'echo "forced:$forced"',
  ].join('\n');
  const out = await node.ok(script, { timeoutMs: 240_000 });
  const forced = /forced:(.*)/.exec(out)?.[1]?.trim() ?? '';
  return forced === '' ? [] : forced.split(/\s+/);
}

/** Starts the agent on the node; returns once its daemon is ready (the unit's ExecStartPost waits for daemon.ready). */
export async function startAgent(node: VmNode): Promise<void> {
  await node.ok('systemctl start fence-agent.service', { timeoutMs: 120_000 });
}

/** Starts keepalived on the node (after {@link startAgent}, as systemd orders them at boot). */
export async function startKeepalived(node: VmNode): Promise<void> {
  await node.ok('systemctl start keepalived.service', { timeoutMs: 120_000 });
}

/**
 * `fsck -n` of partition 1 of the LUN file, through a read-only loop device over exactly that
 * partition (its offset and size from `sfdisk --json`: no partition scan, so no wait for a
 * `loopNp1` node that a host without udev may never get). Run only with the disk mounted nowhere.
 */
export async function fsckLun(lun: string): Promise<{ clean: boolean; output: string }> {
  const table = await sh(['sfdisk', '--json', lun]);
  if (table.exitCode !== 0) return { clean: false, output: `sfdisk --json ${lun}: ${table.stderr.trim()}` };
  const parsed = JSON.parse(table.stdout) as { partitiontable?: { sectorsize?: number; partitions?: { start: number; size: number }[] } };
  const part = parsed.partitiontable?.partitions?.[0];
  const sector = parsed.partitiontable?.sectorsize ?? 512;
  if (part === undefined) return { clean: false, output: `${lun}: no partition 1` };
  const attach = await sh(['losetup', '--find', '--show', '--read-only', '--offset', String(part.start * sector), '--sizelimit', String(part.size * sector), lun]);
  if (attach.exitCode !== 0) return { clean: false, output: `losetup: ${attach.stderr.trim()}` };
  const loop = attach.stdout.trim();
  try {
    const ran = await sh(['fsck.ext4', '-n', '-f', loop], { timeoutMs: 120_000 });
    return { clean: ran.exitCode === 0, output: `${ran.stdout}${ran.stderr}` };
  } finally {
    await sh(['losetup', '-d', loop]);
  }
}
