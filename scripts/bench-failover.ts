// `npm run bench:failover`: how long a MASTER crash interrupts writes, beside its floor measured in
// the same run. With the lockfile lease the failover is bounded below by the lease itself: the
// peer takes over after S + M unchanged and reads back after 2·T_io (README "Failover").
//
// - failover: the MASTER node crashes (every process SIGKILLed, its VIP, link and mount gone);
//   time from the crash to the first INSERT acknowledged through the VIP. ≥ 10 runs, the crashed
//   node revived as BACKUP between runs (so the runs alternate between the nodes).
// - floor: VRRP takeover alone (the same keepalived settings, track_script /bin/true, no notify,
//   no agent: crash → VIP up on the peer) plus MariaDB's bare start on the same datadir after a
//   SIGKILL (spawn → first INSERT acknowledged over its socket).
// - overhead = failover − floor (per run, against the floor medians): median and max. VRRP's own
//   takeover differs by a few hundred ms between the two labs (see README), so the agent's part
//   is also shown directly: VIP up on the new MASTER → first INSERT, minus MariaDB's bare start.
// - planned switchover: keepalived stopped on the MASTER → first INSERT taken by the other node.
import path from 'node:path';
import mysql from 'mysql2/promise';
import { Ledger } from '../lab/ledger.ts';
import type { LabNode } from '../lab/node.ts';
import { LEASE, PairLab } from '../lab/pair.ts';
import { shOk } from '../lab/sh.ts';
import { delay, waitFor } from '../lab/wait.ts';
import { fmt, median, steadyPair, vipOn } from './bench-lib.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const SETTLE_MS = 5000;
const SWITCHOVERS = Number(process.env.BENCH_SWITCHOVERS ?? 5);

const log = (text: string): void => void process.stderr.write(`${text}\n`);

/**
 * Waits until exactly one node holds the VIP and the other runs keepalived, unchanged for 5 s —
 * longer than VRRP's master-down interval (3 × advert + skew), so a node that has just booted and
 * not yet heard an advert cannot still be counting down when we crash the MASTER.
 */
async function settledVrrpMaster(lab: PairLab): Promise<LabNode> {
  let since = 0;
  let holder: LabNode | null = null;
  return waitFor(
    'one VRRP MASTER, one BACKUP, settled for 5 s',
    () => {
      const holders = lab.nodes.filter(vipOn);
      const now = holders.length === 1 && lab.nodes.every((n) => lab.keepalivedPid(n) !== null) ? (holders[0] as LabNode) : null;
      if (now === null || now !== holder) {
        holder = now;
        since = Date.now();
        return null;
      }
      return Date.now() - since >= SETTLE_MS ? now : null;
    },
    60_000,
    50,
  );
}

/** Floor, part 1: VRRP takeover with the agent taken out (keepalived only, check /bin/true). */
async function vrrpTakeover(): Promise<number[]> {
  const lab = await PairLab.up({ agent: false });
  const times: number[] = [];
  try {
    for (let run = 0; run < RUNS; run++) {
      const master = await settledVrrpMaster(lab);
      const peer = lab.other(master);
      const crashedAt = Date.now();
      await lab.crash(master);
      await waitFor('the VIP on the peer', () => vipOn(peer), 30_000, 5);
      times.push(Date.now() - crashedAt);
      log(`  vrrp takeover ${run + 1}/${RUNS}: ${fmt(times.at(-1) as number)}`);
      await lab.revive(master);
    }
  } finally {
    await lab.destroy();
  }
  return times;
}

/** Floor, part 2: MariaDB's bare start on the shared datadir after a SIGKILL (crash recovery included). */
async function mariadbStart(): Promise<number[]> {
  const lab = await PairLab.create({ agent: false });
  const node = lab.node('db1');
  const socket = path.join(node.mysqlRunDir, 'mysqld.sock');
  const times: number[] = [];
  try {
    await node.exec(['mount', '-o', 'noatime', node.device ?? '', lab.mountpoint]);
    await shOk(['install', '-d', '-o', 'mysql', '-g', 'mysql', node.mysqlRunDir]);
    for (let run = 0; run <= RUNS; run++) {
      const started = Date.now();
      const child = node.spawn(['/usr/sbin/mariadbd', `--defaults-file=${node.myCnf}`], { logFile: path.join(node.dir, 'mysqld.out') });
      await waitFor(
        'an INSERT acknowledged over the socket',
        async () => {
          const connection = await mysql.createConnection({ socketPath: socket, user: 'root', connectTimeout: 1000 }).catch(() => null);
          if (connection === null) return false;
          try {
            await connection.query('CREATE DATABASE IF NOT EXISTS lab');
            await connection.query('CREATE TABLE IF NOT EXISTS lab.floor (id INT AUTO_INCREMENT PRIMARY KEY)');
            await connection.query('INSERT INTO lab.floor VALUES ()');
            return true;
          } catch {
            return false;
          } finally {
            connection.destroy();
          }
        },
        60_000,
        5,
      );
      if (run > 0) times.push(Date.now() - started); // run 0 only makes the first crash
      if (run > 0) log(`  mariadb bare start ${run}/${RUNS}: ${fmt(times.at(-1) as number)}`);
      child.kill('SIGKILL');
      await waitFor('mariadbd gone', () => node.pidsNamed('mariadbd').length === 0, 10_000, 10);
    }
  } finally {
    await node.killAll();
    await lab.destroy();
  }
  return times;
}

/** The agent: MASTER crash → first acknowledged INSERT; and planned switchover. */
async function agentRuns(): Promise<{ failover: number[]; afterVip: number[]; switchover: number[] }> {
  const lab = await PairLab.up();
  const ledger = new Ledger(lab, 'bench');
  const failover: number[] = [];
  const afterVip: number[] = [];
  const switchover: number[] = [];
  try {
    ledger.start(5, 300);
    for (let run = 0; run < RUNS; run++) {
      const { master, backup } = await steadyPair(lab, ledger, SETTLE_MS);
      const crashedAt = Date.now();
      const vipUp = waitFor('the VIP on the new MASTER', () => (vipOn(backup) ? Date.now() : null), 60_000, 5);
      await lab.crash(master);
      const at = await ledger.firstAckTakenBy(backup, crashedAt);
      const vipAt = await vipUp;
      failover.push(at - crashedAt);
      afterVip.push(at - vipAt);
      log(`  failover ${run + 1}/${RUNS} (${master.name} crashed): ${fmt(failover.at(-1) as number)} (VIP after ${fmt(vipAt - crashedAt)}, first INSERT ${fmt(at - vipAt)} later)`);
      await lab.revive(master);
    }
    for (let run = 0; run < SWITCHOVERS; run++) {
      const { master, backup } = await lab.waitConverged();
      await delay(SETTLE_MS);
      const stoppedAt = Date.now();
      await lab.stopKeepalived(master);
      const at = await ledger.firstAckTakenBy(backup, stoppedAt);
      switchover.push(at - stoppedAt);
      log(`  switchover ${run + 1}/${SWITCHOVERS} (${master.name} → ${backup.name}): ${fmt(switchover.at(-1) as number)}`);
      lab.startKeepalived(master);
    }
    await ledger.stop();
    const { master } = await lab.waitConverged();
    const { acked, missing } = await ledger.missingOn(master);
    log(`  ledger: ${acked} INSERTs acknowledged, ${missing.length} missing`);
    if (missing.length > 0) throw new Error(`acknowledged rows lost: ${missing.length}`);
  } finally {
    await ledger.stop();
    await lab.destroy();
  }
  return { failover, afterVip, switchover };
}

log(`fence-agent failover benchmark: ${RUNS} crash runs, ${SWITCHOVERS} switchovers`);
log('floor: VRRP takeover alone');
const vrrp = await vrrpTakeover();
log('floor: MariaDB bare start on the same datadir after SIGKILL');
const mariadb = await mariadbStart();
log('agent: crash of the MASTER, planned switchover');
const { failover, afterVip, switchover } = await agentRuns();

const floor = median(vrrp) + median(mariadb);
const overhead = failover.map((t) => t - floor);
const row = (name: string, xs: number[]): string => `  ${name.padEnd(44)} ${fmt(median(xs)).padStart(9)} ${fmt(Math.min(...xs)).padStart(9)} ${fmt(Math.max(...xs)).padStart(9)}`;
console.log(`\nfence-agent bench:failover — ${new Date().toISOString()}, ${RUNS} runs`);
console.log(`  ${''.padEnd(44)} ${'median'.padStart(9)} ${'min'.padStart(9)} ${'max'.padStart(9)}`);
console.log(row('VRRP takeover alone (keepalived, no agent)', vrrp));
console.log(row('MariaDB bare start + first INSERT', mariadb));
console.log(`  ${'floor = VRRP median + MariaDB median'.padEnd(44)} ${fmt(floor).padStart(9)}`);
console.log(row('failover: crash → first acknowledged INSERT', failover));
console.log(row('agent overhead (failover − floor)', overhead));
console.log(row('VIP up on the new MASTER → first INSERT', afterVip));
console.log(row('  minus MariaDB bare start (median)', afterVip.map((t) => t - median(mariadb))));
console.log(row('planned switchover: stop → first INSERT', switchover));
console.log(`  the lease: takeover after ${LEASE.staleMs + LEASE.marginMs} ms unchanged + ${2 * LEASE.ioTimeoutMs} ms read-back, counted from the last refresh`);
