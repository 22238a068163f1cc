// The lease as a fence, end to end on the two-node lab (issue "Close the lease hole"): a MASTER
// that stops — frozen whole, its daemon killed, its lease storage hung — must be reset by its
// watchdog or fence itself before the peer mounts, and acknowledge nothing after the peer took
// over. Timers (lab/single-node.ts): S 6 s, M 1 s, W 2.5 s, R 0.5 s, T_io 1 s: the holder may
// write until t_g + 2.5 s, is fenced or dead by t_g + 5 s; the peer takes over after 7 s unchanged.
// Every scenario also passes runScenario's checks: no invariant violation at ≥ 20 Hz (S1: never
// two superblocks; S2: never mounted without the lease), no acknowledged row lost, fsck clean.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { serverIdOf } from '../../lab/ledger.ts';
import type { LabNode } from '../../lab/node.ts';
import { LAB_LEASE } from '../../lab/single-node.ts';
import { delay } from '../../lab/wait.ts';
import { monoNow } from '../../src/clock.ts';
import { daemonPids, waitHealthy } from '../helpers/agent.ts';
import { runScenario, waitMaster } from './harness.ts';

const S = LAB_LEASE.staleMs;
const M = LAB_LEASE.marginMs;

interface LogLine {
  msg: string;
  mono?: number;
  t_g?: number | null;
  [key: string]: unknown;
}

/** The agent log lines of `node` whose message matches `pattern`. */
function logLines(node: LabNode, pattern: RegExp): LogLine[] {
  let text: string;
  try {
    text = readFileSync(node.logFile, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine)
    .filter((line) => pattern.test(line.msg));
}

describe('the lease is a fence (watchdog, expiry, SIGKILL on loss)', () => {
  test('11. every process of the MASTER frozen for 15 s: its watchdog resets it before the peer mounts, nothing is acknowledged late, and it rejoins as a healthy BACKUP', async () => {
    await runScenario(
      async ({ lab, master, backup, ledger, monitor }) => {
        const frozenMono = monoNow();
        await lab.freeze(master);
        await waitMaster(lab, backup, 90_000);
        const peerMounted = monitor.firstMounted(backup, frozenMono);
        assert.ok(peerMounted !== null, 'the monitor saw the peer mount');
        const fires = lab.watchdogFires(master);
        assert.equal(fires.length, 1, `one reset of ${master.name}`);
        assert.ok((fires[0]?.mono ?? Infinity) < peerMounted.mono, `reset at ${fires[0]?.mono}, peer mounted at ${Math.round(peerMounted.mono)}: the reset came first`);
        assert.ok(peerMounted.mono - frozenMono >= S + M - 2000, `the peer mounted ${Math.round(peerMounted.mono - frozenMono)} ms after the freeze: it waited out the lease`);
        await delay(Math.max(0, 15_000 - (monoNow() - frozenMono)));
        lab.thaw(master);
        assert.deepEqual(ledger.acksFrom(serverIdOf(master), peerMounted.at), [], 'no row acknowledged by the old MASTER after the peer mounted');
        await waitHealthy(master, 'BACKUP', 90_000);
        return backup;
      },
      { watchdogMayFire: true },
    );
  });

  test('12. the daemon SIGKILLed on the MASTER: its watchdog resets the node before the peer mounts, and it rejoins as a healthy BACKUP', async () => {
    await runScenario(
      async ({ lab, master, backup, ledger, monitor }) => {
        const [daemon] = daemonPids(master);
        assert.ok(daemon !== undefined);
        const killedMono = monoNow();
        process.kill(daemon, 'SIGKILL');
        await waitMaster(lab, backup, 90_000);
        const peerMounted = monitor.firstMounted(backup, killedMono);
        assert.ok(peerMounted !== null);
        const fires = lab.watchdogFires(master);
        assert.equal(fires.length, 1, `one reset of ${master.name}`);
        assert.ok((fires[0]?.mono ?? Infinity) < peerMounted.mono, 'the reset came before the peer mounted');
        assert.deepEqual(ledger.acksFrom(serverIdOf(master), peerMounted.at), [], 'no row acknowledged by the old MASTER after the peer mounted');
        await waitHealthy(master, 'BACKUP', 90_000);
        return backup;
      },
      { watchdogMayFire: true },
    );
  });

  test('13. the lease storage hangs for the MASTER alone: it self-fences before t_g + S − M (no reset needed), the peer takes over only after S + M, and it rejoins once the storage answers', async () => {
    await runScenario(async ({ lab, master, backup, ledger, monitor }) => {
      const hungMono = monoNow();
      lab.freezeLeaseStorage(master);
      await waitMaster(lab, backup, 90_000);
      const [lost] = logLines(master, /^LEASE LOST/);
      const [complete] = logLines(master, /^self-fence complete/);
      assert.ok(lost !== undefined && typeof lost.t_g === 'number' && typeof lost.mono === 'number', 'the MASTER logged the loss with t_g');
      assert.ok(complete !== undefined && typeof complete.mono === 'number', 'the MASTER completed its self-fence');
      const tg = lost.t_g;
      assert.ok(tg <= hungMono + 100, 'no good refresh after the storage hung');
      assert.ok(complete.mono <= tg + S - M, `self-fence complete ${complete.mono - tg} ms after t_g (bound S − M = ${S - M} ms)`);
      const [taken] = logLines(backup, /^lease acquired \(taken over from/);
      assert.ok(taken !== undefined && typeof taken.mono === 'number', `the peer took the lease over: ${JSON.stringify(logLines(backup, /^lease acquired/))}`);
      assert.ok(taken.mono >= tg + S + M, `the peer took over ${taken.mono - tg} ms after t_g (bound S + M = ${S + M} ms)`);
      const peerMounted = monitor.firstMounted(backup, hungMono);
      assert.ok(peerMounted !== null && peerMounted.mono > complete.mono, 'the peer mounted after the self-fence was complete');
      assert.deepEqual(lab.watchdogFires(master), [], 'the verified self-fence disarmed the watchdog in time: no reset');
      assert.deepEqual(ledger.acksFrom(serverIdOf(master), peerMounted.at), []);
      lab.thawLeaseStorage(master);
      await waitHealthy(master, 'BACKUP', 90_000);
      return backup;
    });
  });
});
