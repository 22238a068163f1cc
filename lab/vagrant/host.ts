// The Vagrant lab's host side on a machine without a libvirt service of its own (this one: no
// systemd, no /dev/kvm), as ../shared/reference/vm-lab.md §6 measured it: a network namespace
// `fence-vagrant` holding virtlogd, libvirtd (nice 10; /dev/kvm hidden from it when present, or
// it re-probes QEMU on every call) and everything libvirt makes — its bridges, dnsmasq, iptables
// chains — and vagrant run inside it, so that its ssh reaches the machines. The box is built from
// the QEMU lab's cached image (lab/vagrant/box.ts) and lives in a VAGRANT_HOME of its own.
// `down` is idempotent: it removes every domain, volume, network, pool, process, the namespace
// and the work directory, also after a failed or killed `up`; `leftovers` lists what remains.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sh, shOk } from '../sh.ts';
import { waitFor } from '../wait.ts';
import { VAGRANT_DIR } from './prepare.ts';
import { DOMAIN_PREFIX, PROJECT_BOX } from './spec.ts';

/** The network namespace the lab's libvirt and vagrant run in. */
export const HOST_NETNS = 'fence-vagrant';
/** The lab's work directory: VAGRANT_HOME (the box store), the box file, logs, state. */
export const WORK_DIR = process.env.FENCE_AGENT_VAGRANT_WORK ?? '/var/tmp/fence-agent-vagrant';
/** Where vagrant keeps the machines' state (the Vagrantfile's directory). */
export const DOTFILE_DIR = path.join(VAGRANT_DIR, '.vagrant');
const STATE_FILE = path.join(WORK_DIR, 'host.json');
const LIBVIRTD_PID = '/run/libvirtd.pid';
const VIRTLOGD_PID = '/run/virtlogd.pid';
const VIRSH = ['virsh', '-c', 'qemu:///system'];

interface HostState {
  libvirtd: number | null;
  virtlogd: number | null;
}

/** The environment vagrant runs with: the lab's box store, the project box, the libvirt provider. */
export function vagrantEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    VAGRANT_HOME: path.join(WORK_DIR, 'home'),
    VAGRANT_CWD: VAGRANT_DIR,
    VAGRANT_DEFAULT_PROVIDER: 'libvirt',
    FENCE_AGENT_BOX: PROJECT_BOX,
    VAGRANT_CHECKPOINT_DISABLE: '1',
    VAGRANT_NO_COLOR: '1',
  };
}

const alive = (pid: number | null): boolean => {
  if (pid === null) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
/** Sends `sig` to `pid`; a process already gone is not an error. */
const signal = (pid: number, sig: NodeJS.Signals): void => {
  try {
    process.kill(pid, sig);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
};
const pidIn = (file: string): number | null => {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
};
const netnsExists = (): boolean => existsSync(`/run/netns/${HOST_NETNS}`);

/**
 * Starts the host side: the namespace, virtlogd, libvirtd; waits until libvirt answers.
 * @throws Error with `code` 'EVAGRANT_BUSY' when a libvirtd runs already or the namespace exists
 *   (`npm run vagrant -- down` clears a lab's), nothing changed; other errors after a partial
 *   start (the caller runs {@link hostDown})
 */
export async function hostUp(log: (line: string) => void): Promise<void> {
  const busy = (message: string): never => {
    throw Object.assign(new Error(`vagrant lab: ${message}`), { code: 'EVAGRANT_BUSY' });
  };
  const running = pidIn(LIBVIRTD_PID);
  if (alive(running)) busy(`a libvirtd runs already (pid ${running}): \`npm run vagrant -- down\` if it is this lab's; with a libvirt service of the host's own, run vagrant in vagrant/ directly (vagrant/README.md)`);
  if (netnsExists()) busy(`network namespace ${HOST_NETNS} exists: a lab is up or was left behind (\`npm run vagrant -- down\`)`);
  // down removes every pool and network but libvirt's `default` network: none may be the host's
  const own = libvirtDefinitions();
  if (own.length > 0) busy(`libvirt has definitions this lab did not make (${own.join(', ')}): with a libvirt of the host's own, run vagrant in vagrant/ directly (vagrant/README.md)`);
  for (const bin of ['vagrant', 'libvirtd', 'virtlogd', 'virsh', 'dnsmasq']) {
    if ((await sh(['sh', '-c', `command -v ${bin}`])).exitCode !== 0) throw new Error(`vagrant lab: no ${bin} on PATH (bash scripts/setup-vm.sh installs the host's packages)`);
  }
  mkdirSync(WORK_DIR, { recursive: true });
  await shOk(['ip', 'netns', 'add', HOST_NETNS]);
  await shOk(['ip', '-n', HOST_NETNS, 'link', 'set', 'lo', 'up']);
  await shOk(['ip', 'netns', 'exec', HOST_NETNS, 'virtlogd', '-d']);
  // /dev/kvm hidden from libvirtd: the capability probe (as root) would see it, the validity
  // check (as the qemu user) not, and libvirt re-probed QEMU on every call (vm-lab.md §6, fix 2)
  const hideKvm = existsSync('/dev/kvm') ? 'mount --bind /dev/null /dev/kvm && ' : '';
  await shOk(['ip', 'netns', 'exec', HOST_NETNS, 'unshare', '-m', 'sh', '-c', `${hideKvm}exec nice -n 10 libvirtd -d`]);
  const state: HostState = { libvirtd: null, virtlogd: pidIn(VIRTLOGD_PID) };
  await waitFor('libvirtd answering', async () => (await sh([...VIRSH, 'version'], { timeoutMs: 30_000 })).exitCode === 0, 90_000, 500);
  state.libvirtd = pidIn(LIBVIRTD_PID);
  writeFileSync(STATE_FILE, `${JSON.stringify(state)}\n`);
  log(`vagrant lab: host side up (netns ${HOST_NETNS}, libvirtd pid ${state.libvirtd}, virtlogd pid ${state.virtlogd})`);
}

/**
 * Runs vagrant in vagrant/: in the lab's namespace with {@link vagrantEnv} — or, with `netns:
 * null`, as the user would (a lab on a host's own libvirt: only VAGRANT_CWD set). Its output goes
 * to `logFile` and, line by line, to `log`. Resolves with the exit code (137 when killed at
 * `timeoutMs`).
 */
export function vagrant(args: readonly string[], options: { logFile: string; log?: (line: string) => void; timeoutMs: number; netns?: string | null }): Promise<number> {
  const netns = options.netns === undefined ? HOST_NETNS : options.netns;
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const fd = openSync(options.logFile, 'a');
  return new Promise((resolve, reject) => {
    const child =
      netns === null
        ? spawn('vagrant', args, { env: { ...process.env, VAGRANT_CWD: VAGRANT_DIR }, stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn('ip', ['netns', 'exec', netns, 'vagrant', ...args], { env: vagrantEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let rest = '';
    const take = (chunk: Buffer): void => {
      const text = rest + chunk.toString();
      // progress meters redraw one line with \r and ESC[K: kept out of the log
      const lines = text.split(/\r|\n/);
      rest = lines.pop() ?? '';
      for (const line of lines.map((l) => l.replaceAll('\u001b[K', ''))) {
        if (line === '' || /^\s*Progress: /.test(line)) continue;
        writeFileSync(fd, `${line}\n`);
        options.log?.(line);
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      closeSync(fd);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (rest !== '') writeFileSync(fd, `${rest}\n`);
      closeSync(fd);
      resolve(code ?? (signal === 'SIGKILL' ? 137 : 1));
    });
  });
}

/** Names libvirt lists (`virsh <listCommand> --name`), or [] when it does not answer. */
async function virshNames(args: readonly string[]): Promise<string[]> {
  const ran = await sh([...VIRSH, ...args], { timeoutMs: 30_000 });
  return ran.exitCode === 0 ? ran.stdout.split('\n').map((line) => line.trim()).filter((line) => line !== '') : [];
}

/**
 * Takes the lab down: `vagrant destroy -f` (bounded), then by hand whatever it left — domains named
 * `fence-agent-*`, every volume and pool vagrant-libvirt made, networks other than libvirt's own
 * `default` — then libvirtd, virtlogd, whatever else runs in the namespace (dnsmasq), the
 * namespace, the work directory and vagrant/.vagrant. Idempotent; never throws for what is
 * already gone. Resolves with {@link leftovers} (empty = clean).
 */
export async function hostDown(log: (line: string) => void): Promise<string[]> {
  const state: HostState = existsSync(STATE_FILE) ? (JSON.parse(readFileSync(STATE_FILE, 'utf8')) as HostState) : { libvirtd: null, virtlogd: null };
  const libvirtd = alive(state.libvirtd) ? state.libvirtd : alive(pidIn(LIBVIRTD_PID)) && netnsExists() ? pidIn(LIBVIRTD_PID) : null;
  if (libvirtd !== null) {
    if (existsSync(DOTFILE_DIR)) {
      const code = await vagrant(['destroy', '-f'], { logFile: path.join(WORK_DIR, 'destroy.log'), timeoutMs: 5 * 60_000 });
      log(`vagrant lab: vagrant destroy -f exited ${code}`);
    }
    for (const domain of (await virshNames(['list', '--all', '--name'])).filter((name) => name.startsWith(DOMAIN_PREFIX))) {
      await sh([...VIRSH, 'destroy', domain]);
      await sh([...VIRSH, 'undefine', domain, '--remove-all-storage']);
      log(`vagrant lab: removed domain ${domain}`);
    }
    for (const pool of await virshNames(['pool-list', '--all', '--name'])) {
      // vol-list has no --name: the first column of the rows after the dashes
      const table = await virshNames(['vol-list', pool]);
      for (const volume of table.slice(table.findIndex((line) => /^-+$/.test(line)) + 1).map((line) => line.split(/\s+/)[0] as string)) {
        await sh([...VIRSH, 'vol-delete', '--pool', pool, volume]);
        log(`vagrant lab: removed volume ${pool}/${volume}`);
      }
      await sh([...VIRSH, 'pool-destroy', pool]);
      await sh([...VIRSH, 'pool-undefine', pool]);
    }
    for (const network of (await virshNames(['net-list', '--all', '--name'])).filter((name) => name !== 'default')) {
      await sh([...VIRSH, 'net-destroy', network]);
      await sh([...VIRSH, 'net-undefine', network]);
      log(`vagrant lab: removed network ${network}`);
    }
  }
  for (const pid of [libvirtd, alive(state.virtlogd) ? state.virtlogd : null]) if (pid !== null) signal(pid, 'SIGTERM');
  if (netnsExists()) {
    // dnsmasq and anything else libvirt left in the namespace
    const pids = (await sh(['ip', 'netns', 'pids', HOST_NETNS])).stdout.split('\n').map(Number).filter((pid) => pid > 0);
    for (const pid of pids) signal(pid, 'SIGTERM');
    await waitFor('the lab namespace empty', async () => (await sh(['ip', 'netns', 'pids', HOST_NETNS])).stdout.trim() === '', 20_000, 200).catch(async () => {
      for (const pid of (await sh(['ip', 'netns', 'pids', HOST_NETNS])).stdout.split('\n').map(Number).filter((p) => p > 0)) signal(pid, 'SIGKILL');
    });
    await sh(['ip', 'netns', 'del', HOST_NETNS]);
  }
  await waitFor('libvirtd and virtlogd gone', () => !alive(libvirtd) && !alive(state.virtlogd), 20_000, 200).catch(() => {
    for (const pid of [libvirtd, state.virtlogd]) if (pid !== null && alive(pid)) signal(pid, 'SIGKILL');
  });
  rmSync(WORK_DIR, { recursive: true, force: true });
  rmSync(DOTFILE_DIR, { recursive: true, force: true });
  const left = await leftovers();
  log(left.length === 0 ? 'vagrant lab: down, nothing left' : `vagrant lab: down, but left: ${left.join('; ')}`);
  return left;
}

/** libvirt's pool and network definitions on disk, but its packaged `default` network. */
function libvirtDefinitions(): string[] {
  const xml = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.xml')).map((name) => path.join(dir, name)) : []);
  return [...xml('/etc/libvirt/qemu/networks').filter((file) => path.basename(file) !== 'default.xml'), ...xml('/etc/libvirt/storage')];
}

/**
 * What of a lab is still on the host: the namespace, a libvirtd or virtlogd, QEMU or dnsmasq
 * processes of the lab, libvirt's definitions of its domains, networks and pools, volumes, the
 * work directory, vagrant/.vagrant. Empty when nothing is.
 */
export async function leftovers(): Promise<string[]> {
  const left: string[] = [];
  if (netnsExists()) left.push(`network namespace ${HOST_NETNS}`);
  for (const [name, file] of [['libvirtd', LIBVIRTD_PID], ['virtlogd', VIRTLOGD_PID]] as const) if (alive(pidIn(file))) left.push(`${name} pid ${pidIn(file)}`);
  const ps = (await sh(['ps', '-eo', 'pid=,args='])).stdout.split('\n');
  for (const line of ps) {
    if (/qemu-system/.test(line) && line.includes(`guest=${DOMAIN_PREFIX}`)) left.push(`QEMU: ${line.trim().slice(0, 80)}`);
    if (/dnsmasq/.test(line) && /\/var\/lib\/libvirt\/dnsmasq\//.test(line) && !/default\.conf/.test(line)) left.push(`dnsmasq: ${line.trim().slice(0, 80)}`);
  }
  if (existsSync('/etc/libvirt/qemu')) left.push(...readdirSync('/etc/libvirt/qemu').filter((name) => name.startsWith(DOMAIN_PREFIX)).map((name) => `domain definition /etc/libvirt/qemu/${name}`));
  left.push(...libvirtDefinitions().map((file) => `libvirt definition ${file}`));
  if (existsSync('/var/lib/libvirt/images')) left.push(...readdirSync('/var/lib/libvirt/images').map((name) => `volume /var/lib/libvirt/images/${name}`));
  if (existsSync(WORK_DIR)) left.push(`work directory ${WORK_DIR}`);
  if (existsSync(DOTFILE_DIR)) left.push(`${DOTFILE_DIR}`);
  return left;
}
