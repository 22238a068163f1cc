// `npm run vmlab -- up | status | ssh N [command…] | down` — the two-VM lab by hand.
//   up      build (or reuse) the guest image, bring up the host side (namespace, bridges, tgtd,
//           nfs-ganesha) and both VMs, copy the agent in; prints each phase's duration and what
//           each VM sees (identity, the LUN, PR keys, the lease mount, the watchdog, units);
//           `up --lio`: the LUN from LIO in a third VM instead of tgtd (lab/vm/lio.ts)
//   status  what is up: namespaces, tgtd, ganesha, each VM (QEMU, ssh, systemd, fence-agent status)
//   ssh N   a root shell in VM N (or runs the command given after N)
//   demo    on a lab that is up: the pair started fresh (keepalived, fence-agent, mariadb.service),
//           the ledger writing through the VIP from the client namespace, the MASTER powered off
//           (QEMU quit); prints the failover: power-off → first acknowledged INSERT, rows lost,
//           invariant violations, fsck (lab/scenario/catalog.ts `master-crash` through the harness);
//           `demo --floor` first measures the floor on the same lab (lab/vm/floor.ts: bare VRRP
//           takeover + mariadb.service's start after a crash) and prints the figure beside it;
//           `demo --timeline PATH` writes the failover's timeline picture to PATH (SVG) and its
//           data beside it (PATH with .json; lab/timeline/), pass or fail
//   down    remove everything the lab made, even after a failed or killed up (idempotent)
// `--tag T` (or FENCE_AGENT_VMLAB_TAG) picks another lab than the default `lab`.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { scenarioById } from '../scenario/catalog.ts';
import { runScenario } from '../scenario/harness.ts';
import { VmCluster } from './vm-cluster.ts';
import { measureFloor, type FloorResult } from './floor.ts';
import { formatFacts, type GuestFacts } from './facts.ts';
import { DEFAULT_TAG, VmLab } from './lab.ts';
import { netnsExists } from './net.ts';
import { sshArgv } from './ssh.ts';

const USAGE = 'usage: npm run vmlab -- [--tag T] up [--lio] | status | ssh N [command…] | demo [--floor] [--timeline PATH.svg] | down';

const bold = (text: string): string => (process.stdout.isTTY ? `\u001b[1m${text}\u001b[0m` : text);
const say = (text: string): void => console.log(`\n${bold(`== ${text}`)}`);
const show = (text: string): void => console.log(text.trimEnd().replace(/^/gm, '   '));
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

async function up(tag: string, lio: boolean): Promise<void> {
  say(`vmlab up (${tag}): guest image, host side (netns, bridges, ${lio ? 'LIO in a storage VM' : 'tgtd'}, nfs-ganesha), two VMs, the agent copied in`);
  const { lab, timings } = await VmLab.up({ tag, log: show, storage: lio ? 'lio' : 'tgtd' });
  say('timings');
  show(`image ${seconds(timings.image)}, host side ${seconds(timings.hostSide)}`);
  for (const node of lab.nodes) {
    show(`${node.name}: ssh ${seconds(timings.ssh[node.name] ?? 0)}, LUN + lease storage ${seconds(timings.storage[node.name] ?? 0)} after QEMU start`);
  }
  show(`agent copy ${seconds(timings.agent)}; total ${seconds(timings.total)}`);
  const facts = await Promise.all(lab.nodes.map((node) => node.facts()));
  for (const [i, node] of lab.nodes.entries()) {
    say(`what ${node.name} sees`);
    show(formatFacts(facts[i] as GuestFacts).join('\n'));
  }
  say(`ready: npm run vmlab -- ssh 1 | status | down`);
}

async function status(tag: string): Promise<void> {
  const lab = VmLab.load(tag);
  const { state } = lab;
  say(`vmlab "${tag}" (${state.ready ? 'up' : 'NOT ready: up did not finish'}) since ${state.createdAt}`);
  const alive = lab.hostSideAlive();
  show(`netns ${state.netns.lab}: ${netnsExists(state.netns.lab) ? 'present' : 'MISSING'}; client netns ${state.netns.client}: ${netnsExists(state.netns.client) ? 'present' : 'MISSING'}`);
  const storage =
    lab.storageVm !== null
      ? `LIO in ${lab.storageVm.name} on ${lab.portal.host}:${lab.portal.port}: ${lab.storageVm.running ? `QEMU pid ${lab.storageVm.vm.pid}` : 'NOT running'}`
      : `tgtd: ${alive.tgtd ? `pid ${state.tgtd?.pid}, control port ${state.tgtd?.controlPort}` : 'NOT running'}`;
  show(`${storage}; nfs-ganesha: ${alive.ganesha ? `pid ${state.ganesha?.pid}` : 'NOT running'}`);
  show(`image ${state.image.hash} (${state.image.dir}); LUN ${state.lun}; lease export ${state.leaseDir}`);
  // both guests at once (each answer takes seconds under TCG), printed in order
  const reports = await Promise.all(
    lab.nodes.map(async (node): Promise<string> => {
      if (!node.running) return `QEMU not running (pid ${node.vm.pid ?? 'none'})`;
      const vmStatus = (await node.monitor('info status').catch((error: Error) => error.message)).replace(/^VM status: /, '');
      const ran = await node.run('echo "systemd: $(systemctl is-system-running)"; uptime -p; fence-agent status 2>&1 || true', { timeoutMs: 30_000 });
      const head = `QEMU pid ${node.vm.pid} (${vmStatus}), ssh 127.0.0.1:${node.vm.sshPort} in ${state.netns.lab}`;
      return `${head}\n${ran.exitCode === 255 ? `ssh failed: ${ran.stderr.trim()}` : ran.stdout}`;
    }),
  );
  for (const [i, node] of lab.nodes.entries()) {
    say(node.name);
    show(reports[i] ?? '');
  }
}

async function ssh(tag: string, args: string[]): Promise<number> {
  const [id, ...command] = args;
  if (id === undefined || !/^\d+$/.test(id)) throw new Error(USAGE);
  const node = VmLab.load(tag).node(Number(id));
  const interactive = command.length === 0;
  const [file, ...rest] = sshArgv(node.ssh, command.join(' '), { tty: interactive && process.stdin.isTTY });
  return new Promise((resolve, reject) => {
    const child = spawn(file as string, rest, { stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

/** demo's arguments: `--floor`, `--timeline PATH`. @throws Error (the usage) on anything else */
function demoArgs(args: readonly string[]): { floor: boolean; timelinePath: string | null } {
  let floor = false;
  let timelinePath: string | null = null;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--floor') floor = true;
    else if (args[i] === '--timeline' && (args[i + 1] ?? '') !== '') timelinePath = args[++i] as string;
    else throw new Error(USAGE);
  }
  return { floor, timelinePath };
}

async function demo(tag: string, args: string[]): Promise<number> {
  const { floor: withFloor, timelinePath } = demoArgs(args);
  const lab = VmLab.load(tag);
  let floor: FloorResult | null = null;
  if (withFloor) {
    say(`floor (${tag}): bare VRRP takeover + mariadb.service's start after a crash, no agent`);
    floor = await measureFloor(lab, show);
  }
  say(`vmlab demo (${tag}): the pair started fresh, the ledger writing through the VIP, then the MASTER powered off`);
  const scenario = scenarioById('master-crash');
  const started = Date.now();
  // relative to where `npm run` was typed (npm runs the script in the package's directory)
  const timeline = timelinePath === null ? {} : { timelinePath: path.resolve(process.env.INIT_CWD ?? process.cwd(), timelinePath) };
  const result = await runScenario(scenario, (options) => VmCluster.fresh(lab, { ...options, dir: mkdtempSync(path.join(os.tmpdir(), 'fa-vm-demo-')), log: show }), 'vm', { ...timeline, log: show });
  say(result.passed ? 'failover done' : 'failover FAILED');
  const figure = result.timings['crash → first ack'];
  show(`power-off → first acknowledged INSERT through the VIP: ${figure === undefined ? 'none' : seconds(figure)}`);
  if (floor !== null) {
    show(`floor: ${seconds(floor.floorMs)} = VRRP takeover ${seconds(floor.vrrpTakeoverMs)} + mariadb.service start after a crash ${seconds(floor.mariadbStartMs)}${figure === undefined ? '' : `; the agent's failover is ${(figure / floor.floorMs).toFixed(2)}× the floor`}`);
  }
  show(`rows acknowledged ${result.acked}, lost ${result.lost}; invariant violations ${result.violations} (monitor at ${result.monitorHz} Hz); fsck -n ${result.fsckClean === null ? 'not run' : result.fsckClean ? 'clean' : 'NOT clean'}`);
  if (!result.passed) show(result.error ?? '');
  show(`demo in ${seconds(Date.now() - started)}; the powered-off node was started again and the lab is up: npm run vmlab -- status`);
  return result.passed ? 0 : 1;
}

async function down(tag: string): Promise<void> {
  say(`vmlab down (${tag})`);
  const started = Date.now();
  const removed = await VmLab.down(tag, show);
  show(removed.length === 0 ? 'nothing to remove' : removed.map((line) => `removed ${line}`).join('\n'));
  show(`down in ${seconds(Date.now() - started)}`);
}

async function main(argv: string[]): Promise<number> {
  let tag = process.env.FENCE_AGENT_VMLAB_TAG ?? DEFAULT_TAG;
  const args = [...argv];
  if (args[0] === '--tag') {
    tag = args[1] ?? '';
    args.splice(0, 2);
  }
  const [command, ...rest] = args;
  switch (command) {
    case 'up':
      if (rest.some((arg) => arg !== '--lio')) {
        console.error(`vmlab up: unknown argument ${rest.find((arg) => arg !== '--lio')}; ${USAGE}`);
        return 2;
      }
      await up(tag, rest.includes('--lio'));
      return 0;
    case 'status':
      await status(tag);
      return 0;
    case 'ssh':
      return ssh(tag, rest);
    case 'demo':
      return demo(tag, rest);
    case 'down':
      await down(tag);
      return 0;
    default:
      console.error(USAGE);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`vmlab: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
