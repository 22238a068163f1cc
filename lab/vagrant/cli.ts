// `npm run vagrant -- prepare | up | status | ssh NAME [command…] | demo | down` — the Vagrant lab
// (vagrant/README.md).
//   prepare [--node-tarball FILE]  vagrant/.lab/: the provisioning and tarballs the Vagrantfile
//                                  uses (lab/vagrant/prepare.ts); enough for `vagrant up` on a
//                                  host with a libvirt or VirtualBox of its own
//   up      this machine's way: the QEMU lab's image as the box, libvirtd in a namespace of its
//           own (lab/vagrant/host.ts), `vagrant up` of san, node1, node2; prints each phase's time
//   status  `fence-agent status` of both nodes
//   ssh NAME [command…]  a shell on san, node1 or node2 (or runs the command, as root)
//   demo [--suspend-s N]  the failover with the ledger writing (lab/vagrant/demo.ts)
//   down    `vagrant destroy -f` and everything else the lab made, even after a failed up (idempotent)
// Exit codes: 0 done, 1 failed, 2 bad usage, 3 busy (a lab is up or left behind: `down` first).
import { spawnSync } from 'node:child_process';
import { demo } from './demo.ts';
import { hostDown } from './host.ts';
import { machineTargets, vagrantLabUp } from './lab.ts';
import { prepare } from './prepare.ts';
import { sshArgv } from '../vm/ssh.ts';

const USAGE = 'usage: npm run vagrant -- prepare [--node-tarball FILE] | up | status | ssh NAME [command…] | demo [--suspend-s N] | down';
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const log = (line: string): void => console.log(line);

/** One line — what was wrong, then the usage — and exit 2. */
function usage(message: string): never {
  console.error(`vagrant: ${message} (${USAGE})`);
  process.exit(2);
}

/** `--name VALUE` from args (removed), or undefined. */
function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  const value = args[at + 1];
  if (value === undefined || value.startsWith('--')) usage(`${name} needs a value`);
  args.splice(at, 2);
  return value;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'prepare': {
      const nodeTarball = option(args, '--node-tarball');
      if (args.length > 0) usage(`prepare: unexpected ${args.join(' ')}`);
      await prepare({ ...(nodeTarball === undefined ? {} : { nodeTarball }), log });
      log('ready: cd vagrant && vagrant up   (vagrant/README.md)');
      return 0;
    }
    case 'up': {
      if (args.length > 0) usage(`up: unexpected ${args.join(' ')}`);
      const t = await vagrantLabUp(log);
      log(`vagrant lab up in ${seconds(t.totalMs)}: image ${seconds(t.imageMs)}, prepare ${seconds(t.prepareMs)}, host side ${seconds(t.hostMs)}, box ${seconds(t.boxMs)}, vagrant up ${seconds(t.upMs)}`);
      log('next: npm run vagrant -- status | ssh node1 | demo | down');
      return 0;
    }
    case 'status': {
      if (args.length > 0) usage(`status: unexpected ${args.join(' ')}`);
      const machines = await machineTargets();
      let failed = 0;
      for (const name of ['node1', 'node2']) {
        const machine = machines[name];
        if (machine === undefined) {
          log(`== ${name}: not known to vagrant`);
          failed++;
          continue;
        }
        const ran = await machine.run('fence-agent status', 60_000);
        log(`== ${name}\n${`${ran.stdout}${ran.stderr}`.trimEnd()}`);
        if (ran.exitCode !== 0) failed++;
      }
      return failed === 0 ? 0 : 1;
    }
    case 'ssh': {
      const [name, ...rest] = args;
      if (name === undefined) usage('ssh: which machine? (san, node1, node2)');
      const machine = (await machineTargets())[name];
      if (machine === undefined) usage(`ssh: no machine ${name} (san, node1, node2)`);
      const remote = rest.join(' ');
      const line = remote === '' || machine.ssh.user === 'root' ? remote : `sudo -n ${remote}`;
      const ran = spawnSync(sshArgv(machine.ssh, line, { tty: remote === '' })[0] as string, sshArgv(machine.ssh, line, { tty: remote === '' }).slice(1), { stdio: 'inherit' });
      return ran.status ?? 1;
    }
    case 'demo': {
      const suspend = option(args, '--suspend-s');
      if (args.length > 0) usage(`demo: unexpected ${args.join(' ')}`);
      const suspendS = suspend === undefined ? 30 : Number(suspend);
      if (!Number.isInteger(suspendS) || suspendS < 5 || suspendS > 600) usage(`--suspend-s ${suspend}: expected whole seconds from 5 to 600`);
      const r = await demo({ log, suspendMs: suspendS * 1000 });
      log('');
      log(`| step | ${r.master} suspended (virsh suspend) for ${seconds(r.suspendedMs)} |`);
      log('|---|---|');
      log(`| ${r.peer} a healthy MASTER | ${seconds(r.takeoverMs)} after the suspend |`);
      log(`| first row ${r.peer} acknowledged | ${seconds(r.firstAckByPeerMs)} after the suspend |`);
      log(`| fence taken over by | ${r.takenOverBy} |`);
      log(`| keys on the LU after | ${r.keysAfter.join(', ')} (${r.peer}'s: ${r.peerKey}) |`);
      log(`| ${r.master} a healthy BACKUP | ${seconds(r.rejoinMs)} after the resume |`);
      log(`| rows acknowledged / missing / late | ${r.acks} / ${r.lost} / ${r.lateAcks} |`);
      return r.lost === 0 && r.lateAcks === 0 ? 0 : 1;
    }
    case 'down': {
      if (args.length > 0) usage(`down: unexpected ${args.join(' ')}`);
      return (await hostDown(log)).length === 0 ? 0 : 1;
    }
    case undefined:
      return usage('which command?');
    default:
      return usage(`unknown command ${command}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const code = (error as { code?: string }).code;
    console.error(`vagrant: ${(error as Error).message}`);
    process.exit(code === 'EVAGRANT_BUSY' ? 3 : 1);
  },
);
