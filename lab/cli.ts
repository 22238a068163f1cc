// `npm run lab -- up|status|down|demo` — the two-node lab by hand (state in /run/fence-agent-lab).
//   up      build both nodes, start keepalived and the daemons, wait for a healthy pair, show status
//   status  both nodes' `fence-agent status`, the VIP holder, the lease
//   down    remove everything (processes, namespaces, FUSE mounts, both loop devices, files); fsck -n the disk image
//   demo    the README's main demo: up → write through the VIP → crash the MASTER → takeover →
//           the rows that survived → the old MASTER back as BACKUP → down
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ledger } from './ledger.ts';
import { PairLab, VIP } from './pair.ts';
import { waitFor } from './wait.ts';

const LAB_DIR = process.env.FENCE_AGENT_LAB_DIR ?? '/run/fence-agent-lab';
const TAG = 'falab';
const USAGE = 'usage: npm run lab -- up|status|down|demo';

const bold = (text: string): string => (process.stdout.isTTY ? `\u001b[1m${text}\u001b[0m` : text);
const say = (text: string): void => console.log(`\n${bold(`== ${text}`)}`);
const show = (text: string): void => console.log(text.trimEnd().replace(/^/gm, '   '));

async function statusOf(lab: PairLab): Promise<void> {
  const holder = await lab.vipHolder().catch((error: Error) => error.message);
  show(`VIP ${VIP}: ${typeof holder === 'string' ? holder : (holder?.name ?? 'nobody')}`);
  show(`disk ${lab.disk?.image ?? '?'}: ${lab.nodes.map((n) => `${n.name} through ${n.device ?? '?'}`).join(', ')}`);
  try {
    show(`lease ${lab.leasePath}: ${readFileSync(lab.leasePath, 'utf8').trim()}`);
  } catch {
    show(`lease ${lab.leasePath}: none yet`);
  }
  for (const node of lab.nodes) {
    const ran = await node.agent(['status']);
    show(ran.stdout || ran.stderr);
  }
}

async function up(): Promise<PairLab> {
  if (existsSync(path.join(LAB_DIR, 'lab.json'))) throw new Error(`a lab is already up in ${LAB_DIR} (npm run lab -- down first)`);
  say('lab up: two nodes (netns + mount ns), a bridge, one disk image (a loop device per node), the lease store (a bindfs mount per node), keepalived and the fence-agent daemon on each');
  const started = Date.now();
  const lab = await PairLab.up({ dir: LAB_DIR, tag: TAG });
  show(`up in ${((Date.now() - started) / 1000).toFixed(1)} s; lab files in ${LAB_DIR}`);
  await statusOf(lab);
  return lab;
}

async function down(lab: PairLab): Promise<void> {
  say('lab down');
  const fsck = await lab.destroy();
  show(`fsck -n on the shared disk: ${fsck?.exitCode === 0 ? 'clean' : `exit ${fsck?.exitCode}\n${fsck?.stdout}`}`);
  show('namespaces, loop devices, mounts (FUSE too), processes and files removed');
}

async function demo(): Promise<void> {
  const lab = await up();
  try {
    const ledger = new Ledger(lab);
    say(`a client in the lan writes numbered rows through the VIP ${VIP}, one every 20 ms`);
    ledger.start();
    await waitFor('50 acknowledged rows', () => ledger.acks().length >= 50, 60_000);
    const master = (await lab.vipHolder()) ?? lab.node('db1');
    const backup = lab.other(master);
    show(`${ledger.acks().length} rows acknowledged so far by ${master.name}`);

    say(`crash ${master.name}: SIGKILL keepalived, the daemon and mysqld; its VIP, link and mount go with it`);
    const crashedAt = Date.now();
    await lab.crash(master);
    const lastBefore = ledger.acks().filter((a) => a.at < crashedAt).at(-1);
    const firstAfter = await waitFor('the first acknowledged row after the crash', () => ledger.firstAckAfter(crashedAt), 90_000);
    show(`${backup.name} took over: first acknowledged INSERT ${((firstAfter.at - crashedAt) / 1000).toFixed(2)} s after the crash`);
    show(`(last acknowledged before it: ${lastBefore?.id ?? 'none'}; first after: ${firstAfter.id})`);
    await waitFor('20 more rows', () => ledger.acks().filter((a) => a.at >= crashedAt).length >= 20, 30_000);
    show((await backup.agent(['status'])).stdout);

    say('the rows that survived');
    await ledger.stop();
    const { acked, missing } = await ledger.missingOn(backup);
    show(`${acked} INSERTs acknowledged to the client, ${acked - missing.length} present on ${backup.name}, ${missing.length} missing`);
    if (missing.length > 0) process.exitCode = 1;

    say(`${master.name} boots again: it rejoins as a healthy BACKUP (nopreempt: no ping-pong)`);
    await lab.revive(master);
    await waitFor(`${master.name} healthy BACKUP`, async () => (await master.agent(['check'])).stderr.includes('healthy BACKUP'), 60_000, 200);
    await statusOf(lab);
  } finally {
    await down(lab);
  }
}

async function main(command: string | undefined): Promise<void> {
  switch (command) {
    case 'up':
      await up();
      return;
    case 'status':
      await statusOf(await PairLab.load(LAB_DIR));
      return;
    case 'down':
      if (!existsSync(path.join(LAB_DIR, 'lab.json'))) {
        show(`no lab in ${LAB_DIR}`);
        return;
      }
      await down(await PairLab.load(LAB_DIR));
      return;
    case 'demo':
      await demo();
      return;
    default:
      console.error(USAGE);
      process.exitCode = 2;
  }
}

main(process.argv[2]).then(
  () => process.exit(),
  (error: unknown) => {
    console.error(`lab: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
