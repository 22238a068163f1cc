// `npm run bench:freeze`: what a frozen MASTER does to the data, with and without a watchdog — the
// measurement behind the README's fencing table (issue "Close the lease hole now").
//
// Each run: a fresh pair lab, a client inserting through the VIP every 20 ms, the invariant monitor
// at 25 Hz; every process of the MASTER is SIGSTOPped for 15 s, then SIGCONTed; the pair is left to
// settle. Reported per run:
// - reset: when the MASTER's (simulated) watchdog reset it, ms after the freeze (none without one);
// - peer mount: when the peer first had the disk mounted, ms after the freeze;
// - double mount: how long both nodes had the filesystem alive (their own superblocks: S1), ms;
// - S2: samples with the disk mounted by a node the lease did not name;
// - late acks: INSERTs acknowledged by the frozen node's mysqld after the peer mounted;
// - lost: acknowledged rows missing from the table afterwards (S4);
// - fsck: `fsck -n` of the disk image after the lab is down.
// BENCH_RUNS (default 3) runs per variant. ~1 min per run.
import { Ledger, serverIdOf } from '../lab/ledger.ts';
import { InvariantMonitor } from '../lab/monitor.ts';
import { NetnsObserver } from '../lab/netns-observer.ts';
import { LEASE, PairLab, VIP } from '../lab/pair.ts';
import { LAB_WATCHDOG } from '../lab/single-node.ts';
import { delay, waitFor } from '../lab/wait.ts';
import { monoNow } from '../src/clock.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const FREEZE_MS = 15_000;
const log = (text: string): void => void process.stderr.write(`${text}\n`);

interface Run {
  watchdog: boolean;
  resetMs: number | null;
  peerMountMs: number | null;
  doubleMountMs: number;
  s2Samples: number;
  lateAcks: number;
  lost: number;
  acked: number;
  fsckClean: boolean;
}

/** Total time covered by samples flagged `invariant`: consecutive flagged samples count as one span. */
function flaggedMs(monitor: InvariantMonitor, invariant: 'S1' | 'S2'): number {
  const times = [...new Set(monitor.violations.filter((v) => v.invariant === invariant).map((v) => v.at))].sort((a, b) => a - b);
  if (times.length === 0) return 0;
  const interval = 1000 / Math.max(1, monitor.rate());
  let total = interval;
  for (let i = 1; i < times.length; i++) total += Math.min((times[i] as number) - (times[i - 1] as number), 2 * interval);
  return total;
}

async function once(watchdog: boolean): Promise<Run> {
  const lab = await PairLab.up({ watchdog });
  const monitor = new InvariantMonitor(new NetnsObserver(lab, VIP, LEASE.staleMs));
  const ledger = new Ledger(lab);
  let run: Run | null = null;
  try {
    const { master, backup } = await lab.waitConverged();
    await monitor.start();
    ledger.start();
    await waitFor('50 acknowledged rows', () => ledger.acks().length >= 50, 60_000);
    const frozenMono = monoNow();
    await lab.freeze(master);
    await delay(FREEZE_MS);
    lab.thaw(master);
    // settle: one healthy MASTER and one healthy BACKUP again (either may be MASTER now)
    const { master: final } = await lab.waitConverged(180_000);
    await waitFor('writes through the final MASTER', () => ledger.acksFrom(serverIdOf(final), Date.now() - 2000).length > 5, 60_000);
    await ledger.stop();
    monitor.stop();
    const peerMounted = monitor.firstMounted(backup, frozenMono);
    const fire = lab.watchdogFires(master)[0];
    const { acked, missing } = await ledger.missingOn(final);
    run = {
      watchdog,
      resetMs: fire === undefined ? null : fire.mono - frozenMono,
      peerMountMs: peerMounted === null ? null : peerMounted.mono - frozenMono,
      doubleMountMs: flaggedMs(monitor, 'S1'),
      s2Samples: monitor.violations.filter((v) => v.invariant === 'S2').length,
      lateAcks: peerMounted === null ? 0 : ledger.acksFrom(serverIdOf(master), peerMounted.at).length,
      lost: missing.length,
      acked,
      fsckClean: false,
    };
  } finally {
    monitor.stop();
    await ledger.stop();
    const fsck = await lab.destroy();
    if (run !== null) run.fsckClean = fsck?.exitCode === 0;
  }
  return run;
}

const ms = (value: number | null): string => (value === null ? '—' : `${Math.round(value)}`);

async function main(): Promise<void> {
  const runs: Run[] = [];
  for (const watchdog of [true, false]) {
    for (let i = 0; i < RUNS; i++) {
      log(`freeze ${watchdog ? 'with' : 'without'} the watchdog, run ${i + 1} of ${RUNS}`);
      try {
        const run = await once(watchdog);
        log(`  ${JSON.stringify(run)}`);
        runs.push(run);
      } catch (error) {
        log(`  run failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  const rows = runs.map(
    (r) =>
      `| ${r.watchdog ? `simulated, W ${LAB_WATCHDOG.timeoutMs / 1000} s` : 'none (allowNoWatchdog)'} | ${ms(r.resetMs)} | ${ms(r.peerMountMs)} | **${ms(r.doubleMountMs)}** | ${r.s2Samples} | **${r.lateAcks}** | ${r.lost} of ${r.acked} | ${r.fsckClean ? 'clean' : 'ERRORS'} |`,
  );
  process.stdout.write(
    [
      `MASTER frozen (SIGSTOP of every process) for ${FREEZE_MS / 1000} s, then thawed; ms after the freeze.`,
      '',
      '| watchdog | reset | peer mounted | double mount (ms) | S2 samples | late acks | lost | fsck |',
      '|---|---|---|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`bench-freeze: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
