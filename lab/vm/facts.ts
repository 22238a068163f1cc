// What a lab VM sees, read in one ssh round trip: identity (hostname, machine id, iSCSI initiator
// name), the shared LUN (lsblk, partition and filesystem UUIDs, whether sg_persist can read its
// PR keys), the lease storage mount, the watchdog device, which of the pair's units are enabled or
// active, the node runtime, and the agent's `config check`. Printed by `vmlab up`, asserted by
// the VM tests.
import { sshRun, type SshTarget } from './ssh.ts';

/** The units whose boot state matters: the pair's software must not start at boot. */
export const WATCHED_UNITS = ['mariadb.service', 'mariadb.socket', 'keepalived.service', 'fence-agent.service', 'watchdog.service', 'vmlab-iscsi.service', 'vmlab-lease.service'] as const;

export interface GuestFacts {
  hostname: string;
  machineId: string;
  /** `InitiatorName=` value of /etc/iscsi/initiatorname.iscsi */
  initiator: string;
  /** `lsblk` of /dev/sdb: name, size, type, transport, fstype, label */
  lsblk: string;
  /** PARTUUID and UUID of /dev/sdb1 (blkid) */
  partUuid: string;
  fsUuid: string;
  /** `sg_persist --in --read-keys /dev/sdb`: exit code and output */
  readKeys: { exitCode: number; output: string };
  /** `findmnt` of /mnt/lease: source, fstype, options ('' when not mounted) */
  leaseMount: string;
  /** /dev/watchdog0: driver identity and timeout (s) */
  watchdog: { identity: string; timeoutS: number | null };
  /** `systemctl is-enabled` / `is-active` of {@link WATCHED_UNITS} */
  enabled: Record<string, string>;
  active: Record<string, string>;
  /** `node --version` in the guest */
  node: string;
  /** `fence-agent config check`: exit code and its verdict (stderr; the resolved configuration on stdout is dropped); exit -1 when the agent is not installed */
  configCheck: { exitCode: number; output: string };
}

const UNITS = WATCHED_UNITS.join(' ');

/** The script run in the guest: sections introduced by `@@name` lines. */
export const FACTS_SCRIPT = `
echo @@hostname; hostname
echo @@machine-id; cat /etc/machine-id
echo @@initiator; sed -n 's/^InitiatorName=//p' /etc/iscsi/initiatorname.iscsi
echo @@lsblk; lsblk -o NAME,SIZE,TYPE,TRAN,FSTYPE,LABEL /dev/sdb 2>&1
echo @@partuuid; blkid -s PARTUUID -o value /dev/sdb1
echo @@uuid; blkid -s UUID -o value /dev/sdb1
echo @@read-keys; sg_persist --in --read-keys /dev/sdb 2>&1; echo "exit=$?"
echo @@lease-mount; findmnt -n -o SOURCE,FSTYPE,OPTIONS /mnt/lease
echo @@watchdog-identity; cat /sys/class/watchdog/watchdog0/identity 2>/dev/null
echo @@watchdog-timeout; cat /sys/class/watchdog/watchdog0/timeout 2>/dev/null
echo @@enabled; for u in ${UNITS}; do echo "$u $(systemctl is-enabled $u 2>/dev/null || true)"; done
echo @@active; for u in ${UNITS}; do echo "$u $(systemctl is-active $u 2>/dev/null || true)"; done
echo @@node; /usr/local/bin/node --version
echo @@config-check; if command -v fence-agent >/dev/null; then fence-agent config check 2>&1 >/dev/null; echo "exit=$?"; else echo "exit=-1"; fi
`;

/** Splits `@@name` sections into a map of name → trimmed text. */
export function parseSections(text: string): Map<string, string> {
  const sections = new Map<string, string>();
  let name: string | null = null;
  let lines: string[] = [];
  const flush = (): void => {
    if (name !== null) sections.set(name, lines.join('\n').trim());
  };
  for (const line of text.split('\n')) {
    const header = /^@@([a-z-]+)$/.exec(line);
    if (header !== null) {
      flush();
      name = header[1] as string;
      lines = [];
    } else {
      lines.push(line);
    }
  }
  flush();
  return sections;
}

/** A section ending in an `exit=N` line: its exit code and the text before. */
export function withExit(text: string): { exitCode: number; output: string } {
  const match = /(?:^|\n)exit=(-?\d+)\s*$/.exec(text);
  if (match === null) return { exitCode: -1, output: text };
  return { exitCode: Number(match[1]), output: text.slice(0, match.index).trim() };
}

/** `unit state` lines → a record. */
function unitStates(text: string): Record<string, string> {
  const states: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const [unit, ...state] = line.trim().split(/\s+/);
    if (unit !== undefined && unit !== '') states[unit] = state.join(' ') || 'unknown';
  }
  return states;
}

/** Parses the output of {@link FACTS_SCRIPT}. */
export function parseFacts(text: string): GuestFacts {
  const s = parseSections(text);
  const get = (name: string): string => s.get(name) ?? '';
  const timeout = Number(get('watchdog-timeout'));
  return {
    hostname: get('hostname'),
    machineId: get('machine-id'),
    initiator: get('initiator'),
    lsblk: get('lsblk'),
    partUuid: get('partuuid'),
    fsUuid: get('uuid'),
    readKeys: withExit(get('read-keys')),
    leaseMount: get('lease-mount'),
    watchdog: { identity: get('watchdog-identity'), timeoutS: get('watchdog-timeout') === '' || Number.isNaN(timeout) ? null : timeout },
    enabled: unitStates(get('enabled')),
    active: unitStates(get('active')),
    node: get('node'),
    configCheck: withExit(get('config-check')),
  };
}

/**
 * Reads the facts of one guest.
 * @throws when ssh itself fails (exit 255)
 */
export async function guestFacts(target: SshTarget): Promise<GuestFacts> {
  const ran = await sshRun(target, FACTS_SCRIPT, { timeoutMs: 60_000 });
  if (ran.exitCode === 255) throw new Error(`ssh ${target.port}: ${ran.stderr.trim()}`);
  return parseFacts(ran.stdout);
}

/** The facts as indented report lines. */
export function formatFacts(facts: GuestFacts): string[] {
  const keys = facts.readKeys.exitCode === 0 ? facts.readKeys.output.split('\n').map((l) => l.trim()).join('; ') : `FAILED (exit ${facts.readKeys.exitCode}): ${facts.readKeys.output}`;
  return [
    `hostname ${facts.hostname}, machine-id ${facts.machineId}, initiator ${facts.initiator}`,
    ...facts.lsblk.split('\n').map((line) => `lsblk: ${line}`),
    `/dev/sdb1 PARTUUID ${facts.partUuid}, UUID ${facts.fsUuid}`,
    `sg_persist --read-keys: ${keys}`,
    `lease storage: ${facts.leaseMount === '' ? 'NOT mounted on /mnt/lease' : `/mnt/lease ← ${facts.leaseMount}`}`,
    `watchdog0: ${facts.watchdog.identity || 'none'}${facts.watchdog.timeoutS === null ? '' : `, timeout ${facts.watchdog.timeoutS} s`}`,
    `enabled: ${Object.entries(facts.enabled).map(([unit, state]) => `${unit}=${state}`).join(' ')}`,
    `active: ${Object.entries(facts.active).map(([unit, state]) => `${unit}=${state}`).join(' ')}`,
    `node ${facts.node}; fence-agent config check: exit ${facts.configCheck.exitCode}${facts.configCheck.output === '' ? '' : `: ${facts.configCheck.output.split('\n').join(' / ')}`}`,
  ];
}
