// `npm run bench:restart`: how long a MASTER's daemon is away from its watchdog when it crashes and
// is started again — the "cold start" in timer relation (d), W > daemonRestartMs (systemd
// `RestartSec=` + this). Measured on the one-node lab: the daemon of a MASTER is SIGKILLed and at
// once started again (as systemd would after RestartSec); the simulated watchdog records the last
// keepalive of the old daemon and the first of the new one. Also reported: spawn → the new daemon
// has its lease back ("fence taken back" in its log). BENCH_RUNS (default 5).
import { readFileSync } from 'node:fs';
import { createSingleNodeLab } from '../lab/single-node.ts';
import { waitFor } from '../lab/wait.ts';
import { monoNow } from '../src/clock.ts';
import { median } from './bench-lib.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const log = (text: string): void => void process.stderr.write(`${text}\n`);
const daemonPid = (pids: number[]): number | undefined =>
  pids.find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('daemon');
    } catch {
      return false;
    }
  });

async function main(): Promise<void> {
  const lab = await createSingleNodeLab();
  const gaps: number[] = [];
  const retakes: number[] = [];
  try {
    await lab.addVip();
    await lab.node.agent(['notify', 'INSTANCE', 'VI_1', 'MASTER', '100']);
    await waitFor('healthy MASTER', async () => (await lab.node.agent(['check'])).stderr.includes('healthy MASTER: VIP'), 90_000, 200);
    const watchdog = lab.watchdog;
    if (watchdog === null) throw new Error('the lab has no simulated watchdog');
    for (let i = 0; i < RUNS; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const pid = daemonPid(lab.node.pidsNamed('node'));
      if (pid === undefined) throw new Error('no daemon');
      const lastBefore = watchdog.lastKeepaliveMs ?? monoNow();
      const logBefore = readFileSync(lab.node.logFile, 'utf8').length;
      process.kill(pid, 'SIGKILL');
      const spawned = monoNow();
      lab.node.startDaemon();
      await waitFor('the new daemon pets the watchdog', () => (watchdog.lastKeepaliveMs ?? 0) > spawned, 10_000, 5);
      gaps.push((watchdog.lastKeepaliveMs ?? 0) - lastBefore);
      await waitFor('fence taken back', () => readFileSync(lab.node.logFile, 'utf8').slice(logBefore).includes('fence taken back'), 20_000, 20);
      retakes.push(monoNow() - spawned);
      log(`run ${i + 1}: no keepalive for ${Math.round(gaps.at(-1) ?? 0)} ms; lease back ${Math.round(retakes.at(-1) ?? 0)} ms after the spawn`);
      if (lab.watchdogFires.length > 0) throw new Error(`the watchdog fired: ${lab.watchdogFires.join('; ')}`);
    }
  } catch (error) {
    log(readFileSync(lab.node.logFile, 'utf8').split('\n').slice(-25).join('\n'));
    log(`watchdog events: ${JSON.stringify(lab.watchdog?.events.slice(-10))}`);
    throw error;
  } finally {
    await lab.destroy();
  }
  process.stdout.write(
    [
      `daemon SIGKILLed on a MASTER and started again at once, ${RUNS} runs (this machine, ${new Date().toISOString().slice(0, 10)}):`,
      `- watchdog without keepalive (old daemon's last → new daemon's first): median ${Math.round(median(gaps))} ms, max ${Math.round(Math.max(...gaps))} ms`,
      `- spawn → lease taken back (includes the 2·ioTimeoutMs read-back): median ${Math.round(median(retakes))} ms, max ${Math.round(Math.max(...retakes))} ms`,
      '',
    ].join('\n'),
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`bench-restart: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
