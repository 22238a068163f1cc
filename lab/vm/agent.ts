// The agent in a lab VM, installed as a user installs it (README "Install"), from the working
// tree at `vmlab up`: dist/ (built first), package.json and the production packages of
// node_modules copied to /opt/fence-agent by tar over ssh, root-owned (keepalived's
// enable_script_security wants that), /usr/local/bin/fence-agent linked to dist/cli.cjs (run by
// the image's /usr/local/bin/node, the host's own binary), contrib/fence-agent.service installed
// but not enabled, and a generated configuration at /etc/fence-agent/config.json. Copied, not
// shared over 9p: the guest then runs files on its own disk like a real server, a host rebuild
// cannot change the agent under a running scenario, and ~10 MB take a few seconds.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sshPipe, sshRun, shellQuote, type SshTarget } from './ssh.ts';
import { VIP, PREFIX } from './net.ts';

/** Where the agent lives in the guest. */
export const GUEST_AGENT_DIR = '/opt/fence-agent';
/** The generated configuration in the guest (what contrib/fence-agent.service reads). */
export const GUEST_CONFIG_PATH = '/etc/fence-agent/config.json';
/** The lease file on the NFS lease storage, as the guests see it. */
export const GUEST_LEASE_PATH = '/mnt/lease/vmlab.lease';

/**
 * The top-level `node_modules/<name>` (or `node_modules/@scope/name`) entries of a v2/v3
 * package-lock that production code needs: everything not marked `dev`. Nested entries travel with
 * their top-level directory.
 * @throws when the lockfile has no `packages` map (lockfile v1)
 */
export function productionPackages(lockText: string): string[] {
  const lock = JSON.parse(lockText) as { packages?: Record<string, { dev?: boolean }> };
  if (lock.packages === undefined) throw new Error('package-lock.json has no "packages" (lockfileVersion 2 or 3 needed)');
  return Object.entries(lock.packages)
    .filter(([key, entry]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(key) && entry.dev !== true)
    .map(([key]) => key)
    .sort();
}

/** The pair's `cluster` name (with the node's name, it makes each node's scsi-pr reservation key). */
export const VM_CLUSTER_NAME = 'vmlab';

/** The agent configuration for lab VM `name` (production timers, the real watchdog, the stock mariadb.service). */
export function vmAgentConfig(name: string): Record<string, unknown> {
  return {
    node: name,
    cluster: VM_CLUSTER_NAME,
    vip: { address: VIP, prefix: PREFIX, interface: 'eth1' },
    disk: { device: '/dev/sdb1', mountpoint: '/data', fstype: 'ext4', options: 'noatime' },
    mysqld: { systemdUnit: 'mariadb.service', user: 'mysql', pidFile: '/run/mysqld/mysqld.pid', socket: '/run/mysqld/mysqld.sock' },
    fence: {
      method: 'lockfile',
      path: GUEST_LEASE_PATH,
      // softdog soft_margin=8 nowayout=0 (lab/vm/guest/rootfs/etc/modprobe.d/vmlab.conf): relation (a)'s
      // most with the default lease (2·updateMs + ioTimeoutMs = 6 s ≤ S − M − W = 15 − 1 − 8 s)
      watchdog: { device: '/dev/watchdog0', timeoutMs: 8000, nowayout: false, daemonRestartMs: 3000 },
    },
    keepalived: { instance: 'VI_1', notifyFifo: '/run/fence-agent/keepalived.fifo' },
    log: { destination: '/var/log/fence-agent.log', level: 'info' },
  };
}

/**
 * A shell command writing `text` to `file` with `mode`, its directory made with `dirMode` (base64
 * on the command line: no second ssh round trip).
 */
function writeFileCommand(file: string, text: string, mode: string, dirMode: string): string {
  const q = shellQuote(file);
  return `install -d -m ${dirMode} ${shellQuote(path.dirname(file))} && echo ${Buffer.from(text).toString('base64')} | base64 -d > ${q}.new && chmod ${mode} ${q}.new && mv ${q}.new ${q}`;
}

/**
 * Copies the built agent into the guest (gzip'd tar over ssh, one round trip), installs its
 * systemd unit and keepalived's drop-in from contrib/ (not enabled; systemd reloaded so `systemctl start` finds it) and writes its
 * configuration. `repo` must hold a built dist/ (npm run build). Run again to update the agent.
 * @throws when dist/ is missing or a step in the guest fails
 */
export async function installAgent(target: SshTarget, repo: string, name: string): Promise<void> {
  if (!existsSync(path.join(repo, 'dist', 'cli.cjs'))) throw new Error(`no ${path.join(repo, 'dist', 'cli.cjs')} (npm run build first)`);
  const packages = productionPackages(readFileSync(path.join(repo, 'package-lock.json'), 'utf8')).filter((entry) => existsSync(path.join(repo, entry)));
  const next = `${GUEST_AGENT_DIR}.new`;
  const unit = readFileSync(path.join(repo, 'contrib', 'fence-agent.service'), 'utf8');
  const keepalivedDropIn = readFileSync(path.join(repo, 'contrib', 'keepalived.service.d-fence-agent.conf'), 'utf8');
  const config = `${JSON.stringify(vmAgentConfig(name), null, 2)}\n`;
  const stamp = agentStamp(repo);
  const script = [
    'set -e',
    `rm -rf ${next}`,
    `mkdir -p ${next}`,
    `tar -xz -C ${next}`,
    `rm -rf ${GUEST_AGENT_DIR}`,
    `mv ${next} ${GUEST_AGENT_DIR}`,
    `ln -sfn ${GUEST_AGENT_DIR}/dist/cli.cjs /usr/local/bin/fence-agent`,
    writeFileCommand('/etc/systemd/system/fence-agent.service', unit, '0644', '0755'),
    writeFileCommand('/etc/systemd/system/keepalived.service.d/fence-agent.conf', keepalivedDropIn, '0644', '0755'),
    writeFileCommand(GUEST_CONFIG_PATH, config, '0600', '0700'),
    `echo ${stamp} > ${GUEST_AGENT_DIR}/.stamp`,
    'systemctl daemon-reload',
  ].join('\n');
  await sshPipe(target, ['tar', '-C', repo, '-cz', '--owner=0', '--group=0', '--exclude=*.map', 'package.json', 'dist', ...packages], script);
}

/** The files an installation copies from the working tree besides node_modules: dist/ (no maps) and contrib/. */
function stampedFiles(repo: string): string[] {
  const list = (dir: string): string[] =>
    readdirSync(path.join(repo, dir), { withFileTypes: true, recursive: true })
      .filter((entry) => entry.isFile() && !entry.name.endsWith('.map'))
      .map((entry) => path.relative(repo, path.join(entry.parentPath, entry.name)));
  return [...list('dist'), ...list('contrib'), 'package-lock.json'].sort();
}

/** A hash of what {@link installAgent} would copy (dist/, contrib/, the lockfile): the guest keeps it in /opt/fence-agent/.stamp. */
export function agentStamp(repo: string): string {
  const hash = createHash('sha256');
  for (const file of stampedFiles(repo)) hash.update(file).update('\0').update(readFileSync(path.join(repo, file))).update('\0');
  return hash.digest('hex').slice(0, 16);
}

/**
 * Installs the agent again when the guest's copy differs from the working tree's build (its
 * stamp); a no-op otherwise. Between scenarios only: never under a running pair.
 * @returns whether it installed
 */
export async function ensureAgent(target: SshTarget, repo: string, name: string): Promise<boolean> {
  const ran = await sshRun(target, ['cat', `${GUEST_AGENT_DIR}/.stamp`], { timeoutMs: 30_000 });
  if (ran.exitCode === 0 && ran.stdout.trim() === agentStamp(repo)) return false;
  await installAgent(target, repo, name);
  return true;
}
