// `npm run bench -- health-failover` (issue 12 §1: "failover figures must not get worse than with
// the 1 s check, measured both in one run"): a failover that keepalived starts because a node's
// health went bad — mysqld SIGKILLed on the MASTER, no local restart (`mysqld.restartAttempts`
// 0), so the MASTER goes FAULT and the peer takes over — in the two-node netns lab, with each
// way keepalived can learn the health, one pair after the other in the same run:
//   check-1s     the layout before the health file: `fence-agent check` every 1 s (timeout 1 s,
//                deadlines.checkMs 900), no track_file (lab/pair.ts withoutTrackFile)
//   health-file  the daemon's track_file (its verdict every monitor.healthIntervalMs, 1 s, and
//                checkFall 2 in a row), `fence-agent check` every 2 s beside it (the netns lab's)
// Per run: mysqld killed → the VIP up on the peer, and → the first INSERT through the VIP
// acknowledged and kept by the peer (lab/ledger.ts firstAckTakenBy); then the old MASTER back
// as a healthy BACKUP before the next run. BENCH_RUNS runs per layout (default 5). Printed, not
// asserted; the ledger's acknowledged rows are checked for losses at the end of each pair.
import { Ledger } from '../lab/ledger.ts';
import { PairLab } from '../lab/pair.ts';
import { waitFor } from '../lab/wait.ts';
import { fmt, median, steadyPair, vipOn } from './bench-lib.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SETTLE_MS = 5000;
const LAYOUTS = ['check-1s', 'health-file'] as const;
type Layout = (typeof LAYOUTS)[number];

const log = (text: string): void => void process.stderr.write(`# ${text}\n`);
interface Runs {
  vip: number[];
  ack: number[];
}

async function runLayout(layout: Layout): Promise<Runs> {
  log(`${layout}: building the pair`);
  const lab = await PairLab.up({ healthLayout: layout, mysqldRestartAttempts: 0 });
  const ledger = new Ledger(lab, `bench-${layout}`);
  const runs: Runs = { vip: [], ack: [] };
  try {
    ledger.start(5, 300);
    for (let run = 0; run < RUNS; run++) {
      const { master, backup } = await steadyPair(lab, ledger, SETTLE_MS);
      const pids = master.pidsNamed('mariadbd');
      if (pids.length === 0) throw new Error(`no mariadbd on the MASTER ${master.name}`);
      const vipUp = waitFor('the VIP on the peer', () => (vipOn(backup) ? Date.now() : null), 90_000, 5);
      const killedAt = Date.now();
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      const vipAt = await vipUp;
      const ackAt = await ledger.firstAckTakenBy(backup, killedAt, 90_000);
      runs.vip.push(vipAt - killedAt);
      runs.ack.push(ackAt - killedAt);
      log(`${layout} ${run + 1}/${RUNS} (${master.name}'s mysqld killed): VIP on ${backup.name} after ${fmt(vipAt - killedAt)}, first INSERT it took after ${fmt(ackAt - killedAt)}`);
    }
    await ledger.stop();
    const { master } = await lab.waitConverged();
    const { acked, missing } = await ledger.missingOn(master);
    log(`${layout}: ${acked} INSERTs acknowledged, ${missing.length} missing`);
    if (missing.length > 0) throw new Error(`${layout}: acknowledged rows lost: ${missing.length}`);
  } finally {
    await ledger.stop();
    await lab.destroy();
  }
  return runs;
}

const results = new Map<Layout, Runs>();
for (const layout of LAYOUTS) results.set(layout, await runLayout(layout));

const row = (name: string, xs: number[]): string => `| ${name} | ${fmt(median(xs))} | ${fmt(Math.min(...xs))} | ${fmt(Math.max(...xs))} |`;
const out = [`\nhealth-driven failover — netns lab, ${RUNS} runs per layout, ${new Date().toISOString()}: mysqld SIGKILLed on the MASTER (no local restart)`, '', '| layout: mysqld killed → | median | min | max |', '|---|---|---|---|'];
for (const [layout, runs] of results) {
  out.push(row(`${layout}: VIP up on the peer`, runs.vip), row(`${layout}: **first INSERT acknowledged by the peer**`, runs.ack));
}
const [before, after] = LAYOUTS.map((layout) => median(results.get(layout)?.ack ?? []));
out.push('', `health-file against check-1s (first INSERT, medians): ${((after as number) / (before as number)).toFixed(2)}×`);
console.log(out.join('\n'));
