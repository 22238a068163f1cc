// `npm run vagrant -- up` on this machine: the QEMU lab's image (built if needed), vagrant/.lab/
// (prepare), the host side (lab/vagrant/host.ts), the project box built and added, then
// `vagrant up` of san, node1 and node2 with their provisioning. And how the demo and the test
// reach the machines: `vagrant ssh-config`, then plain ssh (a `vagrant ssh` costs ~4 s of Ruby).
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { ClusterNode } from '../cluster.ts';
import { fenceShow as scenarioFenceShow } from '../scenario/probes.ts';
import { ensureImage } from '../vm/image.ts';
import { shellQuote, sshRun, type SshTarget } from '../vm/ssh.ts';
import type { Ran } from '../sh.ts';
import { buildBox } from './box.ts';
import { HOST_NETNS, hostUp, leftovers, vagrant, WORK_DIR } from './host.ts';
import { prepare } from './prepare.ts';
import { PROJECT_BOX } from './spec.ts';

export interface VagrantUpTimings {
  /** the guest image (0.1 s when cached) */
  imageMs: number;
  prepareMs: number;
  hostMs: number;
  /** building and adding the box */
  boxMs: number;
  /** `vagrant up`: three machines booted and provisioned */
  upMs: number;
  totalMs: number;
}

const fail = (code: string, message: string): never => {
  throw Object.assign(new Error(message), { code });
};

/**
 * Brings the lab up. A failure leaves what was made for a look (`npm run vagrant -- down` removes it).
 * @throws Error 'EVAGRANT_BUSY' when a lab (or a libvirt of the host's) is there, nothing changed;
 *   'EVAGRANT_UP' when `vagrant box add` or `vagrant up` fails (the log's tail in the message)
 */
export async function vagrantLabUp(log: (line: string) => void): Promise<VagrantUpTimings> {
  const left = await leftovers();
  if (left.length > 0) fail('EVAGRANT_BUSY', `vagrant lab: a lab is up or was left behind (${left.slice(0, 3).join('; ')}${left.length > 3 ? '; …' : ''}): \`npm run vagrant -- down\` first`);
  const started = Date.now();
  let mark = started;
  const lap = (): number => {
    const now = Date.now();
    const ms = now - mark;
    mark = now;
    return ms;
  };
  const image = await ensureImage({ log });
  const imageMs = lap();
  await prepare({ log });
  const prepareMs = lap();
  await hostUp(log);
  const hostMs = lap();
  const box = await buildBox(image, WORK_DIR);
  const logFile = path.join(WORK_DIR, 'vagrant.log');
  const added = await vagrant(['box', 'add', '--force', '--name', PROJECT_BOX, box], { logFile, timeoutMs: 10 * 60_000 });
  rmSync(box, { force: true });
  if (added !== 0) fail('EVAGRANT_UP', `vagrant box add exited ${added}:\n${tail(logFile)}`);
  const boxMs = lap();
  log(`vagrant lab: box ${PROJECT_BOX} added in ${(boxMs / 1000).toFixed(1)} s; vagrant up (san, node1, node2)`);
  const up = await vagrant(['up', '--provider', 'libvirt'], { logFile, log: (line) => log(`vagrant: ${line}`), timeoutMs: 40 * 60_000 });
  if (up !== 0) fail('EVAGRANT_UP', `vagrant up exited ${up}:\n${tail(logFile)}`);
  const upMs = lap();
  return { imageMs, prepareMs, hostMs, boxMs, upMs, totalMs: Date.now() - started };
}

/** The last `lines` lines of a file ('' when it is missing). */
export function tail(file: string, lines = 40): string {
  return existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '';
}

/** A machine of the lab as the demo reaches it. */
export interface VagrantMachineTarget {
  name: string;
  ssh: SshTarget;
  /** runs a shell command line as root (sudo when the box's user is not root) */
  run(command: string, timeoutMs?: number): Promise<Ran>;
}

/**
 * ssh targets of the machines from `vagrant ssh-config` (run in the lab's namespace when it
 * exists: a lab this machine's host side made; otherwise as is, for a host's own libvirt).
 * @throws Error 'EVAGRANT_DOWN' when vagrant knows no running machine
 */
export async function machineTargets(): Promise<Record<string, VagrantMachineTarget>> {
  const ours = existsSync(`/run/netns/${HOST_NETNS}`);
  const logFile = path.join(WORK_DIR, 'ssh-config.log');
  rmSync(logFile, { force: true });
  const code = await vagrant(['ssh-config'], { logFile, timeoutMs: 120_000, netns: ours ? HOST_NETNS : null });
  const text = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
  if (code !== 0) fail('EVAGRANT_DOWN', `vagrant ssh-config exited ${code}: is the lab up? (npm run vagrant -- up)\n${text.trim()}`);
  const targets: Record<string, VagrantMachineTarget> = {};
  for (const section of text.split(/^Host /m).slice(1)) {
    const name = section.split('\n')[0]?.trim() ?? '';
    const field = (key: string): string | undefined => new RegExp(`^\\s+${key}\\s+(.+)$`, 'm').exec(section)?.[1]?.trim().replace(/^"(.*)"$/, '$1');
    const host = field('HostName');
    const port = Number(field('Port') ?? 22);
    const user = field('User') ?? 'root';
    const key = field('IdentityFile');
    if (host === undefined || key === undefined) continue;
    const ssh: SshTarget = { ...(ours ? { netns: HOST_NETNS } : {}), host, port, user, key };
    targets[name] = {
      name,
      ssh,
      run: (command, timeoutMs = 60_000) => sshRun(ssh, user === 'root' ? command : `sudo -n sh -c ${shellQuote(command)}`, { timeoutMs }),
    };
  }
  return targets;
}

/** The machine as the scenario layer reaches a node: `fence-agent ARGS` as root over ssh, 120 s bound. */
export function asAgentNode(machine: VagrantMachineTarget): Pick<ClusterNode, 'agent' | 'name'> {
  return { name: machine.name, agent: (args) => machine.run(['fence-agent', ...args].map(shellQuote).join(' '), 120_000) };
}

/** What `fence-agent fence show --json` says of the LU, as the demo and the test read it. */
export interface FenceShown {
  /** the node's own reservation key (0x…) */
  thisNodeKey: string;
  /** the registered keys */
  keys: string[];
  /** the reservation's holder and type (5: Write Exclusive – Registrants Only), null when none */
  reservation: { key: string; type: number } | null;
}

/**
 * The scenario layer's `fenceShow` (lab/scenario/probes.ts: retried on "no answer within") on a
 * machine of the lab, the keys as strings.
 * @throws Error when `fence show` fails or the method is not scsi-pr
 */
export async function fenceShow(machine: VagrantMachineTarget): Promise<FenceShown> {
  const view = await scenarioFenceShow(asAgentNode(machine));
  return { thisNodeKey: view.thisNodeKey, keys: view.keys.map((k) => k.key), reservation: view.reservation === null ? null : { key: view.reservation.key, type: view.reservation.type } };
}
