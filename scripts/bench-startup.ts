// `npm run bench` (or `npm run bench -- startup`): start-up cost of the hot paths, as ratios
// against `node -e 0` measured in the same run. Builds a single-node lab (real MariaDB, loop disk,
// namespaces), runs every command inside the node, interleaved round by round (so machine noise
// hits all of them alike), and prints medians, minimums and ratios. Targets (not asserted
// anywhere): check ≤ 1.3× on a healthy BACKUP, ≤ 1.6× on a healthy MASTER, notify hand-off ≤ 1.2×.
import { spawnSync } from 'node:child_process';
import { CLI } from '../lab/node.ts';
import { createSingleNodeLab, type SingleNodeLab } from '../lab/single-node.ts';
import { waitHealthy, waitIdle } from '../test/helpers/agent.ts';
import { median } from './bench-lib.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 40);
const WARMUP = 5;

interface Case {
  name: string;
  argv: string[];
  /** ratio to the floor that the benchmark aims at; null for the floor and references */
  target: number | null;
}

function measure(lab: SingleNodeLab, cases: Case[]): Map<string, number[]> {
  const enter = ['nsenter', `--net=/run/netns/${lab.node.netns}`, `--mount=${lab.node.mntnsFile}`, '--'];
  const env = { ...process.env, FENCE_AGENT_CONFIG: lab.node.configPath };
  const times = new Map(cases.map((c) => [c.name, [] as number[]]));
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    for (const c of cases) {
      const started = process.hrtime.bigint();
      const ran = spawnSync(enter[0] as string, [...enter.slice(1), ...c.argv], { env, stdio: 'ignore' });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (ran.error) throw ran.error;
      if (round >= WARMUP) times.get(c.name)?.push(ms);
    }
  }
  return times;
}

function report(title: string, cases: Case[], times: Map<string, number[]>, floorName: string): string[] {
  const floor = median(times.get(floorName) ?? []);
  const lines = [`\n${title} (${ROUNDS} interleaved rounds after ${WARMUP} warm-up)`, `  ${'command'.padEnd(34)} ${'median'.padStart(9)} ${'min'.padStart(8)} ${'ratio'.padStart(7)}  target`];
  for (const c of cases) {
    const xs = times.get(c.name) ?? [];
    const m = median(xs);
    const ratio = m / floor;
    const verdict = c.target === null ? '' : `≤ ${c.target.toFixed(1)}×  ${ratio <= c.target ? 'met' : 'NOT met'}`;
    lines.push(`  ${c.name.padEnd(34)} ${m.toFixed(1).padStart(6)} ms ${Math.min(...xs).toFixed(1).padStart(5)} ms ${ratio.toFixed(2).padStart(6)}×  ${verdict}`);
  }
  return lines;
}

const lab = await createSingleNodeLab();
const out: string[] = [`fence-agent bench — ${new Date().toISOString()}, node ${process.version}`];
try {
  const node = process.execPath;
  const device = lab.disk.device;
  const seed = ['bash', '-c', `df -h | grep -q ${device} && killall -0 mysqld 2>/dev/null`];
  const floor: Case = { name: 'node -e 0 (floor)', argv: [node, '-e', '0'], target: null };
  const daemon = lab.node.startDaemon();
  await waitIdle(lab.node);

  const backup: Case[] = [
    floor,
    { name: 'check, healthy BACKUP', argv: [node, CLI, 'check'], target: 1.3 },
    { name: 'seed shell check (df|grep; killall)', argv: seed, target: null },
  ];
  out.push(...report('healthy BACKUP', backup, measure(lab, backup), floor.name));

  // Each hand-off makes the daemon run an (idempotent, no-op) demotion after answering: measured
  // on its own so that work does not weigh on the check figures.
  const notify: Case[] = [floor, { name: 'notify hand-off to the daemon', argv: [node, CLI, 'notify', 'INSTANCE', 'VI_1', 'BACKUP', '100'], target: 1.2 }];
  out.push(...report('notify (daemon running, node BACKUP)', notify, measure(lab, notify), floor.name));

  await lab.addVip();
  spawnSync('nsenter', [`--net=/run/netns/${lab.node.netns}`, `--mount=${lab.node.mntnsFile}`, '--', node, CLI, 'notify', 'master'], { env: { ...process.env, FENCE_AGENT_CONFIG: lab.node.configPath } });
  await waitHealthy(lab.node, 'MASTER');
  await waitIdle(lab.node);
  const master: Case[] = [
    floor,
    { name: 'check, healthy MASTER (SQL ping)', argv: [node, CLI, 'check'], target: 1.6 },
    { name: 'seed shell check (df|grep; killall)', argv: seed, target: null },
  ];
  out.push(...report('healthy MASTER', master, measure(lab, master), floor.name));
  daemon.kill('SIGTERM');
} finally {
  await lab.destroy();
}
console.log(out.join('\n'));
