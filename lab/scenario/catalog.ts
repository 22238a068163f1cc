// Every scenario of the two-node labs, written once against lab/cluster.ts: the behaviours of the
// pair (issue 3) and the fence under failure (issue 7). test/e2e runs them on the netns lab; the
// soak runner (scripts/soak.ts) repeats them; the VM lab runs the same ones. Each body drives one
// situation and returns the node that must end as the healthy MASTER; the harness
// (lab/scenario/harness.ts) checks the invariants, the ledger and fsck around it.
//
// Lease timers come from cluster.lease. The netns lab's (lab/single-node.ts LAB_LEASE): S 6 s, M 1 s,
// W 2.5 s — the holder may write until t_g + 2.5 s, is fenced or dead by t_g + 5 s; the peer takes
// over after 7 s unchanged. The VM lab's: the defaults, S 15 s, M 1 s, with softdog's W 8 s.
import assert from 'node:assert/strict';
import { monoNow } from '../../src/clock.ts';
import { delay, waitFor } from '../wait.ts';
import type { Cluster, ClusterNode, LogLine } from '../cluster.ts';
import type { Scenario, ScenarioContext } from './harness.ts';
import { check, fenceShow, isHealthy, lastTransitionId, waitAcks, waitAloneRegistered, waitHealthy, waitMaster } from './probes.ts';

/**
 * Counts (`late acks`, summed by the soak report) and asserts none: rows `oldMaster` acknowledged
 * after `since` (epoch ms: its successor mounted, or acknowledged its first row — `after` says which).
 */
function noLateAcks(ledger: ScenarioContext['ledger'], count: ScenarioContext['count'], oldMaster: ClusterNode, since: number, after = 'the peer mounted'): void {
  const late = ledger.acksFrom(oldMaster.serverId, since);
  count('late acks', late.length);
  assert.deepEqual(late, [], `no row acknowledged by the old MASTER after ${after}`);
}

/**
 * How `survivor` took the fence over, from its log's last `fence held` line, counted for the soak
 * table and the LIO run (test/vm/lio.vmsmoke.ts): PREEMPT AND ABORT, or plain PREEMPT where the
 * target refused it (tgtd). Its `status` must say it too.
 */
async function countTakeOver(survivor: ClusterNode, count: ScenarioContext['count']): Promise<void> {
  const how = (await survivor.logLines(/^fence held: .*; taken over by/)).at(-1)?.msg ?? '';
  count('take-overs by PREEMPT AND ABORT', /taken over by PREEMPT AND ABORT$/.test(how) ? 1 : 0);
  count('take-overs by plain PREEMPT', /taken over by plain PREEMPT/.test(how) ? 1 : 0);
  assert.match(how, /taken over by/, `${survivor.name} logged how it took the fence over`);
  // status takes the daemon's published reservation state only while fresh (else it reads the LU,
  // which cannot say how it was taken): a TCG guest under load may need a second try
  const details: string[] = [];
  for (let attempt = 1; attempt <= 5 && !/taken over by/.test(details.at(-1) ?? ''); attempt++) {
    const status = JSON.parse((await survivor.agent(['status', '--json'])).stdout) as { fence: { detail: string | null } };
    details.push(status.fence.detail ?? '');
  }
  assert.match(details.at(-1) ?? '', /taken over by/, `${survivor.name}'s status says how it took the fence over (${details.join(' | ')})`);
}

/**
 * The node's log lines from now on, matching `pattern`: a mark is the count of its lines so far.
 * Not by time: a guest's clock is not the host's (TCG drift, a resume, a power-on), and a cut
 * judged by `line.time >= Date.now()` on the host missed a promotion that began 5 s "before" it
 * (a soak run of pr-cluster-link-cut).
 */
async function logMark(node: ClusterNode): Promise<(pattern: RegExp) => Promise<LogLine[]>> {
  const mark = (await node.logLines()).length;
  return async (pattern) => (await node.logLines()).slice(mark).filter((line) => pattern.test(line.msg));
}

/** Both nodes healthy in their roles, by `check` run on each at once. */
async function assertBothHealthy(master: ClusterNode, backup: ClusterNode): Promise<void> {
  const [m, b] = await Promise.all([check(master), check(backup)]);
  assert.ok(isHealthy(m, 'MASTER'), m.line);
  assert.ok(isHealthy(b, 'BACKUP'), b.line);
}

/** The MASTER crashed; the BACKUP becomes MASTER and writes resume through the VIP within `ackMs` (timing "crash → first ack"). */
async function crashAndTakeOver({ cluster, master, backup, ledger, timing }: ScenarioContext, ackMs: number): Promise<void> {
  await cluster.crash(master);
  const crashedAt = Date.now();
  await waitMaster(cluster, backup);
  const first = await waitFor('writes resume through the VIP', () => ledger.firstAckAfter(crashedAt), ackMs);
  timing('crash → first ack', first.at - crashedAt);
}

/** The notify arguments keepalived passes (`INSTANCE VI_1 STATE PRIORITY`). */
const notifyArgs = (state: string): string[] => ['notify', 'INSTANCE', 'VI_1', state, '100'];

/**
 * The MASTER's daemon stops — SIGKILLed (in a lab without systemd to restart it) or frozen — so
 * nobody feeds its watchdog or refreshes its lease: the watchdog must reset the node before the
 * peer mounts, nothing is acknowledged by the old MASTER after that, and it rejoins as a healthy
 * BACKUP. Timings are named after `what` ("kill → reset", "freeze → peer mounted").
 */
async function daemonStoppedResetsNode({ cluster, master, backup, ledger, monitor, timing, count }: ScenarioContext, signal: NodeJS.Signals, what: string): Promise<ClusterNode> {
  const [daemon] = await master.daemonPids();
  assert.ok(daemon !== undefined);
  const stoppedMono = monoNow();
  await master.signal(daemon, signal);
  await waitMaster(cluster, backup, 90_000);
  const peerMounted = monitor.firstMounted(backup, stoppedMono);
  assert.ok(peerMounted !== null, 'the monitor saw the peer mount');
  const fires = await cluster.watchdogFires(master);
  assert.equal(fires.length, 1, `one reset of ${master.name}`);
  timing(`${what} → reset`, (fires[0]?.mono ?? 0) - stoppedMono);
  timing(`${what} → peer mounted`, peerMounted.mono - stoppedMono);
  assert.ok((fires[0]?.mono ?? Infinity) < peerMounted.mono, 'the reset came before the peer mounted');
  noLateAcks(ledger, count, master, peerMounted.at);
  await waitHealthy(master, 'BACKUP', 90_000);
  return backup;
}

/**
 * `fence-agent switchover` on the MASTER (4b): exit 0 within `timeoutMs`, the peer the MASTER,
 * the old one a healthy BACKUP that stays one (nopreempt). Returns the new MASTER.
 */
async function switchoverCommand({ cluster, master, backup, timing }: ScenarioContext, timeoutMs: number): Promise<ClusterNode> {
  const started = monoNow();
  const ran = await master.agent(['switchover', '--timeout-ms', String(timeoutMs)]);
  assert.equal(ran.exitCode, 0, `switchover: ${ran.stderr.trim()}`);
  timing('switchover command → done', monoNow() - started);
  assert.match(ran.stdout, /^switchover done in \d+\.\d s: demoted to a clean BACKUP; the peer holds the fence/);
  await waitMaster(cluster, backup);
  await waitHealthy(master, 'BACKUP', 30_000);
  const last = (await master.state())?.lastTransition;
  assert.equal(last?.kind, 'demote');
  assert.equal(last?.outcome, 'ok');
  await delay(5000);
  assert.equal((await cluster.vipHolder())?.name, backup.name, 'the VIP stayed on the new MASTER');
  await cluster.waitConverged();
  return backup;
}

/**
 * Every process of the MASTER frozen for 15 s (11): the peer takes over after waiting out the
 * lease, the frozen node's watchdog resets it before the peer mounts, nothing is acknowledged late;
 * returns once the node is thawed (it is booting again). The caller sets expectSingleVip back.
 */
async function frozenUntilReset({ cluster, master, backup, ledger, monitor, timing, count }: ScenarioContext): Promise<void> {
  // A frozen node's kernel keeps its addresses (here: the lab's one kernel keeps answering for
  // the frozen namespace) until the watchdog resets it, while the peer's keepalived takes the
  // VIP after 3 adverts: two VIPs for a moment is the partition VRRP cannot tell apart.
  monitor.expectSingleVip = false;
  const frozenMono = monoNow();
  await cluster.freeze(master);
  await waitMaster(cluster, backup, 90_000);
  const peerMounted = monitor.firstMounted(backup, frozenMono);
  assert.ok(peerMounted !== null, 'the monitor saw the peer mount');
  const fires = await cluster.watchdogFires(master);
  assert.equal(fires.length, 1, `one reset of ${master.name}`);
  const reset = fires[0]?.mono ?? Infinity;
  timing('freeze → reset', reset - frozenMono);
  timing('freeze → peer mounted', peerMounted.mono - frozenMono);
  assert.ok(reset < peerMounted.mono, `reset at ${reset}, peer mounted at ${Math.round(peerMounted.mono)}: the reset came first`);
  const { staleMs: S, marginMs: M } = cluster.lease;
  assert.ok(peerMounted.mono - frozenMono >= S + M - 2000, `the peer mounted ${Math.round(peerMounted.mono - frozenMono)} ms after the freeze: it waited out the lease`);
  await delay(Math.max(0, 15_000 - (monoNow() - frozenMono)));
  await cluster.thaw(master);
  noLateAcks(ledger, count, master, peerMounted.at);
}

/**
 * The VRRP link cut while both nodes see the disk (issue 3's scenario 10; issue 9 §2 for scsi-pr):
 * both become VRRP MASTER, only the fence keeps the disk single-writer: the BACKUP's promotion is
 * refused and rolled back, and it keeps refusing for the whole cut (60 s in the VM lab); after the
 * link returns, at most one role change per node. Returns the MASTER after convergence, and when
 * the cut started and the link came back (host monotonic ms).
 */
async function clusterLinkCut(
  { cluster, master, backup, monitor, timing }: ScenarioContext,
  convergeMs?: number,
): Promise<{ after: ClusterNode; backupSince: (pattern: RegExp) => Promise<LogLine[]>; cutMono: number; restoredMono: number }> {
  // The MASTER's link stays up but VRRP adverts stop both ways: both consider themselves MASTER.
  // Only the fence keeps the disk single-writer.
  monitor.expectSingleVip = false;
  const since = await logMark(backup);
  // in the peer's journal, beside keepalived's own lines: how long VRRP took to notice
  await backup.shell?.(`logger -t fence-lab 'cutting the cluster link of ${master.name}'`);
  const cutMono = monoNow();
  await cluster.cutClusterLink(master);
  // from the agent's log, not the state file: the promotion is in the state file for ~10 s under
  // TCG, and one slow poll (an ssh into a busy guest) missed that window twice in the soak
  await waitFor('the BACKUP tries to promote', async () => (await since(/^promote: start/)).length > 0, cluster.kind === 'vm' ? 60_000 : 30_000, 250);
  timing('link cut → BACKUP promotion attempt (seen)', monoNow() - cutMono);
  // from the log: the FAULT demotion that follows (at once with scsi-pr's hold-down) replaces the
  // refused promotion as the state's last transition within a few hundred ms
  await waitFor('its promotion is refused by the fence and rolled back', async () => (await since(/^promote: rolled-back/)).length > 0, 120_000, 500);
  assert.equal(await backup.mountCount(), 0);
  assert.ok((await since(/^fence\.acquire: failed/)).length > 0, 'the fence step failed');
  // the cut lasts (issue 8: 60 s in the VM lab): the BACKUP keeps trying, the fence keeps refusing
  await delay(Math.max(0, (cluster.kind === 'vm' ? 60_000 : 20_000) - (monoNow() - cutMono)));
  timing('link cut', monoNow() - cutMono);
  const restoreMarks = new Map(await Promise.all(cluster.nodes.map(async (node) => [node.name, (await node.logLines()).length] as const)));
  await cluster.restoreClusterLink(master);
  const restoredMono = monoNow();
  const { master: after } = await cluster.waitConverged(convergeMs);
  monitor.expectSingleVip = true;
  // after the link returns: no ping-pong, at most one role change per node. A role change
  // moves the database: a promotion that completed, or a demotion of a node that held it. A
  // node whose promotions were all rolled back during the cut (the fence refused) holds
  // nothing, and its FAULT → BACKUP demotions change nothing (one came 2 s before the link
  // returned in a CI rehearsal, another after, and failed the count of every "demote: ok")
  for (const node of cluster.nodes) {
    let holding = false;
    const changes: string[] = [];
    for (const [i, line] of (await node.logLines()).entries()) {
      if (!/^(promote|demote): ok/.test(line.msg)) continue;
      const promote = line.msg.startsWith('promote');
      if (promote === holding) continue; // a demotion of a node holding nothing (or a repeated promotion)
      holding = promote;
      if (i >= (restoreMarks.get(node.name) ?? 0)) changes.push(line.msg);
    }
    assert.ok(changes.length <= 1, `${node.name} changed role ${changes.length} times after the link returned: ${changes.join('; ')}`);
  }
  return { after, backupSince: since, cutMono, restoredMono };
}

/**
 * The MASTER's iSCSI path hangs past replacement_timeout (20 s here): `check` and `status` stay
 * bounded, the device goes transport-offline, the node gives the role up, the peer takes over;
 * the path back → a healthy BACKUP. (scsi-pr: the holder's MMP heartbeat stops with its writes,
 * so the peer preempts its key.)
 */
async function storageHang({ cluster, master, backup, ledger, monitor, timing, count }: ScenarioContext): Promise<ClusterNode> {
  const cutMono = monoNow();
  await cluster.cutStoragePath(master, 'hang', 20);
  // bounded while the I/O hangs: check and status answer within their deadlines. The agent's own
  // part is status's durationMs (its probes' waits: checkMs, then sqlPingMs; 3 s + 2 s in the VM
  // lab). The wall time adds the CLI's start-up, which a guest under TCG with every core busy
  // stretched to 25 s in a CI rehearsal (the node process runnable, not blocked: measured with
  // its threads' states), so the wall bound here only catches a command that hangs; one waiting in
  // exit for a stuck read is caught by test/cli/exit-codes.test.ts (it must end by SIGKILL).
  await delay(5000);
  for (const args of [['check'], ['status', '--json']]) {
    const started = monoNow();
    const ran = await master.agent(args);
    const wallMs = monoNow() - started;
    timing(`${args[0]} during the hang`, wallMs);
    assert.ok(wallMs < 60_000, `${args.join(' ')} returned in ${Math.round(wallMs)} ms`);
    if (args[0] !== 'status') continue;
    const { durationMs } = JSON.parse(ran.stdout) as { durationMs: number };
    timing('status durationMs during the hang', durationMs);
    assert.ok(durationMs < 10_000 * master.timeScale, `status took ${durationMs} ms of its own (its probes' deadlines: ${3000 + 2000} ms in the VM lab)`);
  }
  await waitMaster(cluster, backup, 180_000);
  const peerMounted = monitor.firstMounted(backup, cutMono);
  assert.ok(peerMounted !== null, 'the monitor saw the peer mount');
  timing('hang → peer mounted', peerMounted.mono - cutMono);
  noLateAcks(ledger, count, master, peerMounted.at);
  await cluster.restoreStoragePath(master);
  await waitHealthy(master, 'BACKUP', 120_000);
  return backup;
}

/** One line of `fence-agent doctor --json`. */
type DoctorFinding = { status: string; check: string; detail: string };

/**
 * `fence-agent doctor --json ARGS` on the node, bounded by `timeoutMs` (3 min: one took over the
 * 60 s of node.agent under TCG); a run that gives no report fails with the end of what it said.
 */
async function doctor(node: ClusterNode, args: string[] = [], timeoutMs = 180_000): Promise<DoctorFinding[]> {
  const ran = await node.shell?.(['fence-agent doctor --json', ...args].join(' '), timeoutMs);
  try {
    return (JSON.parse(ran?.stdout ?? '') as { findings: DoctorFinding[] }).findings;
  } catch {
    throw new Error(`doctor on ${node.name} gave no report (exit ${ran?.exitCode ?? '?'}): ${ran?.stderr.trim().split('\n').slice(-3).join(' | ') ?? 'no shell'}`);
  }
}

/** The FAIL lines of a doctor report, as `check: detail`. */
const failsOf = (findings: DoctorFinding[]): string[] => findings.filter((f) => f.status === 'fail').map((f) => `${f.check}: ${f.detail}`);

/** Runs a shell script on the node (a lab with shell access) and asserts it exited 0. */
async function shellOk(node: ClusterNode, script: string): Promise<void> {
  const ran = await node.shell?.(script);
  assert.equal(ran?.exitCode, 0, `${script}: ${ran?.stderr ?? 'no shell on this lab'}`);
}

const AGENT_CONFIG = '/etc/fence-agent/config.json';

/**
 * Applies `change` (JavaScript on `c`, the parsed config) to the node's agent config, keeping a
 * copy of it as it was before the first change (a second change keeps that copy).
 */
const editAgentConfig = (node: ClusterNode, change: string): Promise<void> =>
  shellOk(node, `{ [ -e ${AGENT_CONFIG}.doctor ] || cp -p ${AGENT_CONFIG} ${AGENT_CONFIG}.doctor; } && node -e "const f='${AGENT_CONFIG}';const c=JSON.parse(require('fs').readFileSync(f));${change};require('fs').writeFileSync(f,JSON.stringify(c))"`);

/** Puts back the copy editAgentConfig kept (nothing to do once put back). */
const restoreAgentConfig = (node: ClusterNode): Promise<void> => shellOk(node, `if [ -e ${AGENT_CONFIG}.doctor ]; then mv ${AGENT_CONFIG}.doctor ${AGENT_CONFIG}; fi`);

/** A mistake seeded on purpose, the doctor FAIL line it must cause, and how to undo it. */
interface SeededMistake {
  expected: RegExp;
  mistake: () => Promise<void>;
  undo: () => Promise<void>;
}

/**
 * Seeded mistakes, all at once (doctor's checks are independent, and each doctor run costs
 * 15–50 s under TCG): after every `mistake`, `fails()` (doctor's FAIL lines) has one line
 * matching each `expected`; every `undo` runs whatever happened, in reverse order, and then no
 * FAIL is left at all (with `recheck`; the --peer runs, two doctors each, check once at their end
 * instead).
 */
async function seededFails(node: ClusterNode, fails: () => Promise<string[]>, mistakes: SeededMistake[], recheck = true): Promise<void> {
  const seeded: SeededMistake[] = [];
  try {
    for (const m of mistakes) {
      seeded.push(m);
      await m.mistake();
    }
    const found = await fails();
    const missing = mistakes.filter((m) => !found.some((f) => m.expected.test(f))).map((m) => String(m.expected));
    assert.deepEqual(missing, [], `${node.name}: a FAIL for each seeded mistake; got ${JSON.stringify(found)}`);
  } finally {
    for (const m of seeded.reverse()) await m.undo();
  }
  if (recheck) assert.deepEqual(await fails(), [], `${node.name}: no FAIL once undone (${mistakes.map((m) => String(m.expected)).join(', ')})`);
}

export const SCENARIOS: readonly Scenario[] = [
  {
    id: 'clean-start',
    group: 'pair',
    title: '1. clean start: one healthy MASTER and one healthy BACKUP',
    async body({ cluster, master, backup }) {
      assert.equal(master.name, cluster.nodes[0]?.name, 'the higher priority node started first wins');
      await assertBothHealthy(master, backup);
      return master;
    },
  },
  {
    id: 'pr-clean-start',
    group: 'scsi-pr',
    title: 'PR-1. scsi-pr clean start: the MASTER alone registered, holding the reservation WERO (read by a third initiator); both healthy',
    labs: ['vm'],
    options: { fence: 'scsi-pr' },
    async body({ cluster, master, backup }) {
      await assertBothHealthy(master, backup);
      assert.deepEqual(cluster.prState?.(), { registered: [master.name], holder: master.name, type: 5 }, 'registered ⟺ MASTER');
      return master;
    },
  },
  {
    id: 'pr-backup-stray-key',
    group: 'scsi-pr',
    title: "PR-1b. scsi-pr: the BACKUP's own key registered by hand (as a crash between REGISTER and the read-back leaves it): its idle daemon unregisters it within a sweep (30 s), the MASTER undisturbed, alone registered again",
    labs: ['vm'],
    options: { fence: 'scsi-pr' },
    async body({ cluster, master, backup, timing }) {
      const ours = (await fenceShow(backup)).thisNodeKey;
      const lu = (await fenceShow(backup)).device;
      const since = await logMark(backup);
      const before = await lastTransitionId(master);
      const ran = await backup.shell?.(`sg_persist --out --register-ignore --param-sark=${ours} ${lu}`, 30_000);
      assert.equal(ran?.exitCode, 0, `sg_persist on ${backup.name}: ${ran?.stderr ?? 'no shell'}`);
      const registeredMono = monoNow();
      await waitFor('the BACKUP registered too (third initiator)', () => cluster.prState?.()?.registered.includes(backup.name) === true, 10_000, 200);
      await waitFor("the BACKUP's daemon unregisters its stray key", async () => (await since(/^unregistered this node's stray key/)).length > 0, 90_000, 500);
      timing('registered by hand → unregistered by the daemon', monoNow() - registeredMono);
      await waitAloneRegistered(cluster, master);
      await assertBothHealthy(master, backup);
      assert.equal(await lastTransitionId(master), before, 'nothing moved on the MASTER');
      return master;
    },
  },
  {
    id: 'pr-master-crash',
    group: 'scsi-pr',
    title: "PR-2. scsi-pr: the MASTER powered off: the BACKUP waits out its silent MMP heartbeat, preempts its key and takes over; the old node rejoins unregistered",
    labs: ['vm'],
    options: { fence: 'scsi-pr' },
    async body(ctx) {
      const { cluster, master, backup, count } = ctx;
      await crashAndTakeOver(ctx, 120_000);
      assert.deepEqual(cluster.prState?.(), { registered: [backup.name], holder: backup.name, type: 5 }, 'the new MASTER alone registered');
      await countTakeOver(backup, count);
      await cluster.revive(master);
      await waitHealthy(master, 'BACKUP', 120_000);
      assert.deepEqual(cluster.prState?.()?.registered, [backup.name], 'the old MASTER rejoined unregistered');
      return backup;
    },
  },
  {
    id: 'pr-long-mmp-wait',
    group: 'scsi-pr',
    title: "PR-2b. scsi-pr with a slow MMP heartbeat (mmp_update_interval 30 s): the MASTER powered off; proving its holder silent takes longer than one promotion's deadlines.fenceAcquireMs, so a later attempt carries the watch on (HolderMemory) instead of starting it over, and the BACKUP takes over",
    labs: ['vm'],
    options: { fence: 'scsi-pr', mmpUpdateIntervalS: 30 },
    async body({ cluster, master, backup, ledger, timing, count }) {
      const survivorSince = await logMark(backup);
      await cluster.crash(master);
      const crashedAt = Date.now();
      // the MMP wait alone is about twice the holder's check interval (≥ 61 s here), over attempts of 40 s
      await waitMaster(cluster, backup, 240_000);
      const first = await waitFor('writes resume through the VIP', () => ledger.firstAckAfter(crashedAt), 120_000);
      timing('crash → first ack', first.at - crashedAt);
      const waits = await survivorSince(/has the filesystem by its MMP block/);
      const carried = await survivorSince(/a later attempt carries the watch on/);
      count('MMP watches logged by the survivor', waits.length);
      count('attempts whose MMP wait outlasted them', carried.length);
      assert.ok(carried.length >= 1, `${backup.name}: an MMP wait longer than one attempt was logged as carried on (${waits.map((w) => w.msg).join(' | ') || 'no MMP watch logged'})`);
      assert.ok(waits.length >= 2, `${backup.name}: the watch went on in a later attempt (${waits.map((w) => w.msg).join(' | ')})`);
      const watched = waits.map((w) => Number(/, ([0-9.]+) s of them watched already/.exec(w.msg)?.[1] ?? Number.NaN));
      assert.ok((watched.at(-1) ?? 0) > 0, `the last attempt started from what earlier ones had watched, not from 0 s: ${JSON.stringify(watched)}`);
      assert.deepEqual(cluster.prState?.(), { registered: [backup.name], holder: backup.name, type: 5 }, 'the new MASTER alone registered');
      await countTakeOver(backup, count);
      await cluster.revive(master);
      await waitHealthy(master, 'BACKUP', 120_000);
      return backup;
    },
  },
  {
    id: 'pr-master-paused',
    group: 'scsi-pr',
    title: "PR-3 (a). scsi-pr: the MASTER's VM paused (QEMU stop: clocks and watchdog stop too) until the BACKUP has taken over, then resumed: the zombie's writes are refused by the storage, it acknowledges nothing after the survivor's first ack, sees its key gone, self-fences and rejoins as a healthy BACKUP, unregistered; the survivor promoted once and never demoted",
    labs: ['vm'],
    options: { fence: 'scsi-pr' },
    async body({ cluster, master, backup, ledger, monitor, timing, count }) {
      assert.ok(cluster.pause !== undefined && cluster.resume !== undefined && cluster.kernelLogCount !== undefined, 'a lab that can pause a machine and read its kernel log');
      const pause = (node: ClusterNode): Promise<void> => cluster.pause?.(node) ?? Promise.resolve();
      const resume = (node: ClusterNode): Promise<void> => cluster.resume?.(node) ?? Promise.resolve();
      const conflicts = async (node: ClusterNode): Promise<number> => (await cluster.kernelLogCount?.(node, 'reservation conflict')) ?? 0;
      // the paused guest keeps the VIP on its interface: two VIPs until it is resumed and fenced
      monitor.expectSingleVip = false;
      const pausedAt = Date.now();
      const survivorSince = await logMark(backup);
      const refusedBefore = await conflicts(master);
      await pause(master);
      let first: { at: number };
      try {
        await waitMaster(cluster, backup, 240_000);
        // the survivor's first: acks the MASTER sent as QEMU was stopping it come after pausedAt too
        first = await waitFor('writes resume through the VIP', () => ledger.acksFrom(backup.serverId, pausedAt)[0], 120_000);
        timing('pause → first ack', first.at - pausedAt);
      } finally {
        await resume(master);
      }
      const resumedMono = monoNow();
      await waitHealthy(master, 'BACKUP', 180_000);
      timing('resume → old MASTER healthy BACKUP', monoNow() - resumedMono);
      const [fenced] = await master.logLines(/^FENCE LOST/);
      assert.ok(fenced !== undefined, 'the resumed MASTER saw its key gone (FENCE LOST)');
      await waitMaster(cluster, backup, 60_000);
      monitor.expectSingleVip = true;
      noLateAcks(ledger, count, master, first.at, "the survivor's first");
      count('writes refused by the storage (reservation conflicts in its kernel log)', (await conflicts(master)) - refusedBefore);
      const roleChanges = (await survivorSince(/^(promote|demote): ok/)).map((line) => line.msg.split(':')[0]);
      assert.deepEqual(roleChanges, ['promote'], 'the survivor promoted once and never demoted');
      assert.deepEqual(cluster.prState?.(), { registered: [backup.name], holder: backup.name, type: 5 }, 'the survivor alone registered');
      await countTakeOver(backup, count);
      return backup;
    },
  },
  {
    id: 'pr-master-processes-frozen',
    group: 'scsi-pr',
    title: "PR-4 (b). scsi-pr: keepalived, the agent and mysqld SIGSTOPped on the MASTER for 15 s, its kernel alive: the BACKUP reads the MMP heartbeat moving and preempts nothing; thawed, the MASTER carries on; nothing moves",
    labs: ['vm'],
    options: { fence: 'scsi-pr' },
    async body({ cluster, master, backup, monitor, timing }) {
      // the BACKUP's keepalived takes the VIP while the MASTER's is stopped: two VIPs for a moment
      monitor.expectSingleVip = false;
      const backupSince = await logMark(backup);
      const frozenMono = monoNow();
      const before = await lastTransitionId(master);
      await cluster.freeze(master);
      try {
        // from the agent's log (see clusterLinkCut): a state-file poll can miss the attempt
        await waitFor('the BACKUP tries to promote', async () => (await backupSince(/^promote: start/)).length > 0, 30_000, 250);
        await delay(Math.max(0, 15_000 - (monoNow() - frozenMono)));
      } finally {
        await cluster.thaw(master);
      }
      timing('frozen', monoNow() - frozenMono);
      const { master: after } = await cluster.waitConverged(240_000);
      monitor.expectSingleVip = true;
      assert.equal(after.name, master.name, 'the MASTER kept the database');
      assert.equal(await lastTransitionId(master), before, 'the MASTER ran no transition');
      const verdicts = cluster.prVerdicts?.(frozenMono, monoNow());
      assert.equal(verdicts?.[backup.name]?.registered, false, 'the BACKUP never registered: nothing preempted');
      const promotions = (await backupSince(/^promote: /)).filter((line) => !/start/.test(line.msg));
      assert.ok(promotions.every((line) => !line.msg.startsWith('promote: ok')), `the BACKUP completed no promotion: ${promotions.map((l) => l.msg).join('; ')}`);
      assert.deepEqual(cluster.prState?.(), { registered: [master.name], holder: master.name, type: 5 });
      return master;
    },
  },
  {
    id: 'pr-cluster-link-cut',
    group: 'scsi-pr',
    title: "PR-5 (c). scsi-pr: the VRRP link cut for 60 s while clients write: the BACKUP reads the MMP heartbeat moving, preempts nothing and holds down (FAULT) instead of retrying; one writer; after the link returns no role change",
    labs: ['vm'],
    options: { fence: 'scsi-pr' },
    async body(ctx) {
      const { cluster, master, backup } = ctx;
      const { after, backupSince, cutMono } = await clusterLinkCut(ctx, 240_000);
      assert.equal(after.name, master.name, 'the MASTER kept the database');
      const verdicts = cluster.prVerdicts?.(cutMono, monoNow());
      assert.equal(verdicts?.[backup.name]?.registered, false, 'the BACKUP never registered: 0 preempts');
      assert.equal(verdicts?.[master.name]?.registered, true);
      assert.deepEqual(cluster.prState?.(), { registered: [master.name], holder: master.name, type: 5 });
      const holds = await backupSince(/^HOLD-DOWN for/);
      assert.ok(holds.length >= 1, 'the BACKUP held down after the refusal');
      // each promotion attempt is a VRRP MASTER (keepalived adds the VIP first): one, not one every few seconds
      const attempts = await backupSince(/^promote: start/);
      assert.equal(attempts.length, 1, `promotion attempts on the BACKUP during the cut and after: ${attempts.length}`);
      return after;
    },
  },
  {
    id: 'pr-storage-hang',
    group: 'scsi-pr',
    title: "PR-6 (e). scsi-pr: the MASTER's iSCSI path hangs past replacement_timeout: its MMP heartbeat stops with its writes, the BACKUP preempts its key and takes over; the path back → a healthy BACKUP, unregistered",
    labs: ['vm'],
    options: { fence: 'scsi-pr' },
    async body(ctx) {
      const { cluster, backup } = ctx;
      const survivor = await storageHang(ctx);
      assert.deepEqual(cluster.prState?.(), { registered: [backup.name], holder: backup.name, type: 5 }, 'the survivor alone registered');
      return survivor;
    },
  },
  {
    id: 'pr-fence-show-clear',
    group: 'scsi-pr',
    title: "PR-7. fence show and fence clear against the real target: show names the MASTER's key holding WERO (with READ FULL STATUS's transport IDs, or why the target gave none); clear is refused on the MASTER and on the BACKUP while the holder's MMP heartbeat moves; with the MASTER powered off and the BACKUP's keepalived stopped, clear on the BACKUP removes the dead node's registration; the BACKUP then takes over and the old MASTER rejoins unregistered",
    labs: ['vm'],
    options: { fence: 'scsi-pr' },
    async body({ cluster, master, backup, count }) {
      const clear = (node: ClusterNode) => node.agent(['fence', 'clear', '--yes-i-have-checked-the-peer']);
      const [fromMaster, fromBackup] = [await fenceShow(master), await fenceShow(backup)];
      assert.equal(fromMaster.method, 'scsi-pr');
      assert.deepEqual(fromMaster.keys, [{ key: fromMaster.thisNodeKey, thisNode: true }], 'the MASTER alone registered');
      const held = fromMaster.reservation;
      assert.deepEqual(held === null ? null : { key: held.key, type: held.type, thisNode: held.thisNode }, { key: fromMaster.thisNodeKey, type: 5, thisNode: true }, 'the MASTER holds WERO');
      assert.deepEqual(fromBackup.keys, [{ key: fromMaster.thisNodeKey, thisNode: false }], "the BACKUP sees the MASTER's key, not its own");
      assert.notEqual(fromBackup.thisNodeKey, fromMaster.thisNodeKey);
      // READ FULL STATUS: the registrant with its transport ID where the target answers it
      if (fromBackup.fullStatus !== null) {
        count('READ FULL STATUS answered', 1);
        assert.ok(fromBackup.fullStatus.some((line) => line.includes(fromMaster.thisNodeKey.replace(/^0x/, ''))), `full status names the key: ${fromBackup.fullStatus.join(' | ')}`);
      } else {
        count('READ FULL STATUS refused', 1);
        assert.ok(fromBackup.fullStatusError !== null && fromBackup.fullStatusError !== '', 'the view says why it has no full status');
      }
      const before = cluster.prState?.();
      const onMaster = await clear(master);
      assert.equal(onMaster.exitCode, 1, `clear on the MASTER: ${onMaster.stdout}${onMaster.stderr}`);
      assert.match(onMaster.stderr, /fence clear refused: /);
      const onBackup = await clear(backup);
      assert.equal(onBackup.exitCode, 1, `clear on the BACKUP while the MASTER lives: ${onBackup.stdout}${onBackup.stderr}`);
      assert.match(onBackup.stderr, /fence clear refused: \S+ is in use by a live kernel \(MMP sequence moved/);
      assert.deepEqual(cluster.prState?.(), before, 'the refused clears changed nothing on the LU');
      // the dead node's registration, cleared by hand: the BACKUP must not take over meanwhile
      await cluster.stopKeepalived(backup);
      await cluster.crash(master);
      const cleared = await clear(backup);
      assert.equal(cleared.exitCode, 0, `clear on the BACKUP with the MASTER off: ${cleared.stderr}`);
      assert.match(cleared.stdout, /cleared: 1 registration\(s\) .* removed; MMP /);
      // the lab's third initiator reads the LU every few hundred ms
      await waitAloneRegistered(cluster, null);
      assert.deepEqual((await fenceShow(backup)).keys, []);
      await cluster.startKeepalived(backup);
      await waitMaster(cluster, backup, 120_000);
      await waitAloneRegistered(cluster, backup);
      await cluster.revive(master);
      await waitHealthy(master, 'BACKUP', 120_000);
      assert.deepEqual(cluster.prState?.()?.registered, [backup.name], 'the old MASTER rejoined unregistered');
      return backup;
    },
  },
  {
    id: 'master-crash',
    group: 'pair',
    title: '2. MASTER node crash (keepalived, daemon, mysqld SIGKILLed): the BACKUP takes over',
    async body(ctx) {
      await crashAndTakeOver(ctx, 60_000);
      return ctx.backup;
    },
  },
  {
    id: 'events-history',
    group: 'pair',
    title: "2c. the event hook and the history: a MASTER crash is a `failover` on the survivor, in `fence-agent history` and on the hook's stdin as the same event; the crashed node's history kept its own promotion across the crash",
    labs: ['netns'],
    options: { events: true },
    async body(ctx) {
      const { master, backup } = ctx;
      type Entry = { kind: string; at: string; node: string; outcome?: string; durationMs?: number; detail: string };
      const history = async (node: ClusterNode): Promise<Entry[]> => {
        const ran = await node.agent(['history', '--json', '--limit', '100']);
        assert.equal(ran.exitCode, 0, `history on ${node.name}: ${ran.stderr}`);
        return (JSON.parse(ran.stdout) as { entries: Entry[] }).entries;
      };
      await crashAndTakeOver(ctx, 60_000);
      // the event is written when the promotion's record is: it may follow healthy MASTER by a moment
      const failover = await waitFor('a failover in the survivor\'s history', async () => (await history(backup)).find((e) => e.kind === 'failover') ?? null, 10_000, 200);
      assert.equal(failover.node, backup.name);
      assert.equal(failover.outcome, 'ok');
      assert.ok((failover.durationMs ?? 0) > 0, `a duration: ${JSON.stringify(failover)}`);
      assert.ok(backup.hookEvents !== undefined, 'a lab whose nodes keep what their hook received');
      const hooked = await waitFor('the failover on the hook\'s stdin', async () => (await backup.hookEvents?.())?.find((e) => e.kind === 'failover') ?? null, 10_000, 200);
      assert.deepEqual(hooked, failover, 'the hook got the event the history has');
      const before = (await history(master)).filter((e) => e.kind === 'promotion' || e.kind === 'failover');
      assert.equal(before.length, 1, `the crashed node's history kept its one promotion: ${JSON.stringify(before)}`);
      return backup;
    },
  },
  {
    id: 'mysqld-crash',
    group: 'pair',
    title: '3. mysqld crash on the MASTER: keepalived sees the check fail and fails over',
    async body({ cluster, master, backup }) {
      for (const pid of await master.mysqldPids()) await master.signal(pid, 'SIGKILL');
      await waitMaster(cluster, backup);
      // the old MASTER went FAULT, demoted cleanly, and is a healthy BACKUP again
      await waitHealthy(master, 'BACKUP');
      assert.equal(await master.mountCount(), 0);
      return backup;
    },
  },
  {
    id: 'mysqld-restart-in-place',
    group: 'pair',
    title: '3b. mysqld crash on the MASTER with a local restart policy: restarted in place, nothing moves',
    options: { mysqldRestartAttempts: 2 },
    async body({ cluster, master, ledger }) {
      const [old] = await master.mysqldPids();
      assert.ok(old !== undefined);
      await master.signal(old, 'SIGKILL');
      const crashedAt = Date.now();
      await waitFor('mysqld restarted in place', async () => (await master.mysqldPids()).some((pid) => pid !== old), 30_000, 50);
      await waitMaster(cluster, master);
      await waitFor('writes resume', () => ledger.firstAckAfter(crashedAt) !== null, 30_000);
      assert.equal((await cluster.vipHolder())?.name, master.name, 'the VIP never moved');
      assert.equal((await master.state())?.lastTransition?.reason, 'mysqld-restart');
      return master;
    },
  },
  {
    id: 'planned-switchover',
    group: 'pair',
    title: '4. planned switchover: keepalived stopped on the MASTER hands over cleanly',
    async body({ cluster, master, backup }) {
      await cluster.stopKeepalived(master);
      await waitMaster(cluster, backup);
      await waitHealthy(master, 'BACKUP', 30_000);
      const last = (await master.state())?.lastTransition;
      assert.equal(last?.kind, 'demote');
      assert.equal(last?.outcome, 'ok');
      await cluster.startKeepalived(master);
      await cluster.waitConverged();
      return backup;
    },
  },
  {
    id: 'switchover-command',
    group: 'pair',
    title: "4b. `fence-agent switchover` on the MASTER hands the role to the peer, verified by the fence; the old MASTER stays a healthy BACKUP (nopreempt: no ping-pong)",
    body: (ctx) => switchoverCommand(ctx, 45_000),
  },
  {
    id: 'pr-switchover-command',
    group: 'scsi-pr',
    title: "4b (scsi-pr). `fence-agent switchover` with persistent reservations: the MASTER demotes first and unregisters, the peer registers and reserves, the command sees the peer holding the LU; the old MASTER a healthy BACKUP, unregistered",
    labs: ['vm'],
    options: { fence: 'scsi-pr' },
    async body(ctx) {
      const { cluster, backup } = ctx;
      const after = await switchoverCommand(ctx, 120_000);
      await waitAloneRegistered(cluster, backup);
      return after;
    },
  },
  {
    id: 'pr-maintenance-fence-lost',
    group: 'scsi-pr',
    title: "4c (scsi-pr). maintenance does not weaken the fence: the MASTER in maintenance has its key preempted by a third initiator; it sees FENCE LOST, kills mysqld and unmounts anyway; maintenance off, the pair converges with one MASTER, alone registered",
    labs: ['vm'],
    options: { fence: 'scsi-pr' },
    async body({ cluster, master, monitor, timing }) {
      assert.ok(cluster.preemptByThirdInitiator !== undefined, 'a lab with a third initiator');
      const on = await master.agent(['maintenance', 'on', '--reason', 'lab: fence lost in maintenance']);
      assert.equal(on.exitCode, 0, on.stderr);
      const since = await logMark(master);
      // the VIP moves while the old MASTER still has it on its interface for a moment
      monitor.expectSingleVip = false;
      const preemptedMono = monoNow();
      // not the peer's key: a BACKUP is never a registrant (its own promotion then preempts this one)
      await cluster.preemptByThirdInitiator(master);
      await waitFor('FENCE LOST on the MASTER in maintenance', async () => (await since(/^FENCE LOST/)).length > 0, 60_000, 250);
      timing('preempted → FENCE LOST seen', monoNow() - preemptedMono);
      await waitFor('mysqld gone and the disk unmounted on the MASTER', async () => (await master.mysqldPids()).length === 0 && (await master.mountCount()) === 0, 60_000, 500);
      timing('preempted → mysqld gone, unmounted', monoNow() - preemptedMono);
      const off = await master.agent(['maintenance', 'off']);
      assert.equal(off.exitCode, 0, off.stderr);
      // either may end as MASTER: the fenced MASTER is unhealthy even in maintenance (src/health.ts),
      // so keepalived moves the VIP to the peer, which promotes; if the peer's takeover is slower
      // than maintenance off, the old MASTER may be the one that converges as MASTER
      const { master: after } = await cluster.waitConverged(240_000);
      monitor.expectSingleVip = true;
      await waitAloneRegistered(cluster, after);
      return after;
    },
  },
  {
    id: 'maintenance-mode',
    group: 'pair',
    title: '4c. maintenance on both nodes: mysqld killed on the MASTER is not acted on, nothing fails over; maintenance off: the agents act again and the pair converges healthy',
    async body({ cluster, master, backup }) {
      for (const node of [master, backup]) {
        const ran = await node.agent(['maintenance', 'on', '--reason', 'lab']);
        assert.equal(ran.exitCode, 0, `maintenance on ${node.name}: ${ran.stderr.trim()}`);
      }
      const before = { master: await lastTransitionId(master), backup: await lastTransitionId(backup) };
      for (const pid of await master.mysqldPids()) await master.signal(pid, 'SIGKILL');
      // where the agent would act: the MASTER's daemon sees mysqld gone and says it does not
      await waitFor('the MASTER daemon not acting on the gone mysqld', async () => (await master.logLines(/MAINTENANCE: mysqld gone on the MASTER; not acted on/)).length > 0, 30_000 * master.timeScale, 200);
      // and the verdict keepalived's vrrp_script gets: the MASTER keeps its role, the BACKUP takes none
      const kept = await waitFor('check on the MASTER: healthy, in maintenance, mysqld gone', async () => {
        const c = await check(master);
        return c.code === 0 && /MAINTENANCE .*not acted on: mysqld not running/.test(c.line) ? c : null;
      }, 30_000 * master.timeScale, 200);
      assert.match(kept.line, /healthy MASTER: MAINTENANCE since /);
      assert.equal((await check(backup)).code, 1, 'the BACKUP takes no role in maintenance');
      assert.equal((await cluster.vipHolder())?.name, master.name, 'the VIP stays');
      assert.equal(await backup.mountCount(), 0);
      assert.equal(await lastTransitionId(master), before.master, 'no transition on the MASTER');
      assert.equal(await lastTransitionId(backup), before.backup, 'no transition on the BACKUP');
      for (const node of [backup, master]) {
        const ran = await node.agent(['maintenance', 'off']);
        assert.equal(ran.exitCode, 0, `maintenance off on ${node.name}: ${ran.stderr.trim()}`);
      }
      // the netns lab's mysqld stays gone: the pair fails over as for a crash; Debian's
      // mariadb.service (Restart=on-abort, the VM lab) has brought it back meanwhile: nothing moves
      const after = await cluster.waitConverged();
      return after.master;
    },
  },
  {
    id: 'doctor',
    group: 'pair',
    title: '4d. fence-agent doctor on a correct install (scsi-pr, real tgtd, systemd, Debian\'s mariadb.service): every line ok on both nodes but the lab\'s named limits (no NTP); each seeded mistake a named FAIL, gone once undone: fstab, mariadb enabled, config 0644 with a password, innodb_flush_log_at_trx_commit=2, and with --peer over ssh the wrong LU and a duplicated key',
    labs: ['vm'],
    options: { fence: 'scsi-pr' },
    async body({ cluster, master, backup, count, timing }) {
      // What the lab cannot give a correct install, and why; any other WARN fails the scenario.
      const LAB_LIMITS: Record<string, string> = {
        clock: 'the guests have no time source: the lab sets their clocks from the host\'s at boot (no NTP)',
      };
      // A settled install: Debian's mariadb.service runs /etc/mysql/debian-start after each start
      // (mariadb-upgrade, then a check for crashed tables in the background); during it, under
      // TCG, a doctor's SHOW GLOBAL VARIABLES once waited past its 10 s (CI rehearsal, 2026-12-05).
      const settled = await waitFor(
        `debian-start's checks done on ${master.name}`,
        async () => (await master.shell?.("pgrep -f '[d]ebian-start|[m]ariadb-upgrade|[m]ysqlcheck|[m]ariadb-check'", 30_000))?.exitCode === 1,
        180_000,
        1000,
      ).then(
        () => true,
        () => false,
      );
      count(settled ? "debian-start's checks done before doctor" : "debian-start's checks still running after 180 s", 1);
      for (const node of [master, backup]) {
        const findings = await doctor(node);
        assert.deepEqual(failsOf(findings), [], `${node.name}: no FAIL on a correct install`);
        const warns = findings.filter((f) => f.status === 'warn');
        for (const f of warns) count(`WARN on ${node.name === master.name ? 'the MASTER' : 'the BACKUP'}: ${f.check}`, 1);
        const unexplained = warns.filter((f) => LAB_LIMITS[f.check] === undefined).map((f) => `${f.check}: ${f.detail}`);
        assert.deepEqual(unexplained, [], `${node.name}: every line ok but the lab's known limits (${Object.keys(LAB_LIMITS).join(', ')})`);
      }
      const failsAfter = (node: ClusterNode) => async () => failsOf(await doctor(node));
      await seededFails(
        backup,
        failsAfter(backup),
        [
          {
            expected: /^fstab: .*mounts the shared disk at boot/,
            mistake: () => shellOk(backup, "cp /etc/fstab /etc/fstab.doctor && echo '/dev/sdb1 /data ext4 defaults 0 2' >> /etc/fstab"),
            undo: () => shellOk(backup, 'mv /etc/fstab.doctor /etc/fstab'),
          },
          { expected: /^units: .*mariadb\.service is enabled/, mistake: () => shellOk(backup, 'systemctl enable mariadb.service'), undo: () => shellOk(backup, 'systemctl disable mariadb.service') },
        ],
        false,
      );
      // alone: a configuration doctor cannot trust is a FAIL line, and the lines that need the
      // configuration (fstab, units, ...) then have nothing to compare with
      await seededFails(backup, failsAfter(backup), [
        {
          expected: /^config: .*readable by group\/other \(mode 0644\)/,
          mistake: async () => {
            await editAgentConfig(backup, "c.mysqld.health={user:'root',password:'s3cret'}");
            await shellOk(backup, `chmod 644 ${AGENT_CONFIG}`);
          },
          undo: () => restoreAgentConfig(backup),
        },
      ]);
      await seededFails(master, failsAfter(master), [
        {
          expected: /^durability: .*innodb_flush_log_at_trx_commit=2/,
          mistake: async () => assert.equal((await master.sql('SET GLOBAL innodb_flush_log_at_trx_commit=2')).exitCode, 0),
          undo: async () => assert.equal((await master.sql('SET GLOBAL innodb_flush_log_at_trx_commit=1')).exitCode, 0),
        },
      ]);
      // --peer: the BACKUP compares itself with the MASTER over ssh (each seeded mistake is in the
      // BACKUP's own configuration: the MASTER keeps running untouched)
      if (cluster.trustPeerSsh === undefined) return master;
      const peer = await cluster.trustPeerSsh(backup, master);
      try {
        const doctorPeer = async (): Promise<DoctorFinding[]> => {
          // both doctors in turn on one TCG vCPU each: the peer's took over the default 30 s
          const startedMono = monoNow();
          const findings = await doctor(backup, ['--peer', peer, '--peer-timeout-ms', '150000'], 300_000);
          timing('doctor --peer (both doctors)', monoNow() - startedMono);
          return findings;
        };
        const peerFails = async (): Promise<string[]> => failsOf(await doctorPeer());
        /** every peer line ok (not even a WARN), and at least the 8 comparisons */
        const assertPeerLinesOk = async (when: string): Promise<void> => {
          const lines = (await doctorPeer()).filter((f) => f.check === 'peer');
          assert.ok(lines.length >= 8, `the peer lines: ${JSON.stringify(lines)}`);
          assert.deepEqual(lines.filter((f) => f.status !== 'ok').map((f) => f.detail), [], `every peer line ok ${when}`);
        };
        await assertPeerLinesOk('on a correct pair');
        // both in one configuration of the BACKUP: the wrong LU (another LU of the same target,
        // where the lab can add one) and a duplicated key (the MASTER's fence.nodeId, which
        // defaults to the node's name)
        const masterConfig = JSON.parse((await master.shell?.(`cat ${AGENT_CONFIG}`))?.stdout ?? '{}') as { node?: string; fence?: { nodeId?: string } };
        const masterId = masterConfig.fence?.nodeId ?? masterConfig.node;
        assert.ok(masterId !== undefined && /^[a-z0-9-]+$/.test(masterId), `the MASTER's fence.nodeId or node name: ${String(masterId)}`);
        const other = cluster.addSecondLu === undefined ? null : await cluster.addSecondLu(backup);
        try {
          const mistakes: SeededMistake[] = [{ expected: /^peer: fence identity the same on both nodes: /, mistake: () => editAgentConfig(backup, `c.fence.nodeId='${masterId}'`), undo: () => restoreAgentConfig(backup) }];
          if (other !== null) mistakes.push({ expected: /^peer: LU \(WWID\) differs: /, mistake: () => editAgentConfig(backup, `c.disk.device='${other}'`), undo: () => restoreAgentConfig(backup) });
          await seededFails(backup, peerFails, mistakes, false);
        } finally {
          if (other !== null) await cluster.removeSecondLu?.();
        }
        await assertPeerLinesOk('once undone');
      } finally {
        await shellOk(backup, 'rm -f /root/.ssh/id_ed25519 /root/.ssh/config');
      }
      return master;
    },
  },
  {
    id: 'backup-keepalived-restart',
    group: 'pair',
    title: '5. keepalived restarted on the BACKUP: nothing moves',
    async body({ cluster, master, backup, ledger }) {
      const before = await lastTransitionId(master);
      await cluster.stopKeepalived(backup);
      await cluster.startKeepalived(backup);
      await delay(6000); // several advert intervals and check rounds
      await cluster.waitConverged();
      assert.equal((await cluster.vipHolder())?.name, master.name, 'the VIP stayed');
      assert.equal(await lastTransitionId(master), before, 'the MASTER ran no transition');
      await waitAcks(ledger, 5);
      return master;
    },
  },
  {
    id: 'notify-burst-out-of-order',
    group: 'pair',
    title: '6. a notify burst delivered out of order on the BACKUP ends in its last VRRP state',
    async body({ cluster, master, backup }) {
      // keepalived forked MASTER first, then FAULT and BACKUP; the MASTER notify is descheduled and
      // delivered last. The daemon must end in BACKUP, the state of the last transition.
      const early = await backup.notifyHeldBack(notifyArgs('MASTER').slice(1));
      for (const state of ['FAULT', 'BACKUP']) {
        const result = await backup.agent(notifyArgs(state));
        assert.equal(result.exitCode, 0, `notify ${state}: ${result.stderr.trim()}`);
      }
      const late = await early.release();
      assert.equal(late.exitCode, 0, `the held-back notify MASTER: ${late.stderr.trim()}`);
      await delay(2000);
      await waitFor('backup daemon idle', async () => (await backup.state())?.transition === null, 30_000);
      assert.equal((await backup.state())?.desired?.vrrpState, 'BACKUP');
      const log = await backup.logLines(/older than the request already applied, skipped: MASTER from notify|superseded before it started, skipped: MASTER from notify/);
      assert.ok(log.length > 0, 'the late MASTER notify was skipped');
      assert.equal(await backup.mountCount(), 0);
      assert.equal((await cluster.vipHolder())?.name, master.name);
      return master;
    },
  },
  {
    id: 'daemon-killed-mid-promotion',
    group: 'pair',
    title: '7. the daemon SIGKILLed on the new MASTER mid-promotion recovers to a healthy MASTER',
    async body({ cluster, master, backup }) {
      await cluster.crash(master);
      await waitFor('promotion on the BACKUP reaching mysqld.start', async () => (await backup.state())?.transition?.steps.some((s) => s.name === 'mysqld.start'), 60_000, 10);
      const daemons = await backup.daemonPids();
      assert.equal(daemons.length, 1, `daemon processes: ${daemons.join(', ')}`);
      await backup.signal(daemons[0] as number, 'SIGKILL');
      await backup.startDaemon();
      await waitMaster(cluster, backup);
      assert.equal((await backup.mysqldPids()).length, 1, 'one mysqld, no orphan');
      return backup;
    },
  },
  {
    id: 'file-held-open-at-demotion',
    group: 'pair',
    title: "8. a process holding a file open on the old MASTER's mountpoint is signalled during demotion",
    async body({ cluster, master, backup }) {
      const holder = await master.holdFileOpen(`${cluster.mountpoint}/mysql/ibdata1`);
      await cluster.stopKeepalived(master);
      await waitMaster(cluster, backup);
      assert.equal(await holder.exited, 'SIGKILL', 'it ignored SIGTERM, so it got SIGKILL');
      assert.equal(await master.mountCount(), 0);
      assert.ok((await master.logLines(/mountpoint busy, signalling its users/)).length > 0);
      await cluster.startKeepalived(master);
      await cluster.waitConverged();
      return backup;
    },
  },
  {
    id: 'old-master-rejoins',
    group: 'pair',
    title: '9. the old MASTER comes back as a healthy BACKUP, no ping-pong',
    async body({ cluster, master, backup }) {
      await cluster.crash(master);
      await waitMaster(cluster, backup);
      await delay(3000); // keepalived's notify and notify_fifo both deliver MASTER: let both land
      const settled = await lastTransitionId(backup);
      await cluster.revive(master);
      await waitHealthy(master, 'BACKUP');
      await delay(8000);
      assert.equal((await cluster.vipHolder())?.name, backup.name, 'the VIP stayed on the new MASTER');
      assert.equal(await lastTransitionId(backup), settled, 'the new MASTER ran no transition');
      await cluster.waitConverged();
      return backup;
    },
  },
  {
    id: 'cluster-link-cut',
    group: 'pair',
    title: '10. the VRRP link cut while both nodes see the disk: at most one node ever has it mounted',
    body: async (ctx) => (await clusterLinkCut(ctx)).after,
  },
  {
    id: 'master-frozen',
    group: 'fence',
    title: '11. every process of the MASTER frozen for 15 s: its watchdog resets it before the peer mounts, nothing is acknowledged late, and it rejoins as a healthy BACKUP',
    options: { watchdogMayFire: true },
    async body(ctx) {
      const { master, backup, monitor } = ctx;
      await frozenUntilReset(ctx);
      await waitHealthy(master, 'BACKUP', 90_000);
      monitor.expectSingleVip = true;
      return backup;
    },
  },
  {
    id: 'master-frozen-start-hold',
    group: 'fence',
    title: "11b. keepalived.startMode clean after a real watchdog reset: the MASTER frozen for 15 s is reset, boots on START HOLD (unhealthy, no candidate) because its previous boot ended holding the disk; fence-agent rejoin makes it a healthy BACKUP",
    labs: ['vm'],
    options: { watchdogMayFire: true, startMode: 'clean' },
    async body(ctx) {
      const { master, backup, monitor, timing } = ctx;
      const since = await logMark(master);
      await frozenUntilReset(ctx);
      const thawedMono = monoNow();
      await waitFor('START HOLD on the reset node', async () => (await since(/^START HOLD: /)).length > 0, 240_000, 1000);
      timing('thaw → START HOLD logged', monoNow() - thawedMono);
      const held = await waitFor('check on the held node: unhealthy, START HOLD', async () => {
        const c = await check(master);
        return c.code === 1 && /START HOLD/.test(c.line) ? c : null;
      }, 60_000, 1000);
      assert.match(held.line, /until fence-agent rejoin/);
      assert.match((await master.agent(['status'])).stdout, /start hold/i);
      assert.equal(await master.mountCount(), 0);
      const rejoined = await master.agent(['rejoin']);
      assert.equal(rejoined.exitCode, 0, rejoined.stderr);
      assert.match(rejoined.stdout, /^cleared: start hold/);
      await waitHealthy(master, 'BACKUP', 90_000);
      monitor.expectSingleVip = true;
      return backup;
    },
  },
  {
    id: 'master-daemon-killed',
    group: 'fence',
    title: '12. the daemon SIGKILLed on the MASTER: its watchdog resets the node before the peer mounts, and it rejoins as a healthy BACKUP',
    // in the VM lab systemd restarts the daemon within its watchdog timeout: master-daemon-killed-systemd
    labs: ['netns'],
    options: { watchdogMayFire: true },
    body: (ctx) => daemonStoppedResetsNode(ctx, 'SIGKILL', 'kill'),
  },
  {
    id: 'master-lease-storage-hung',
    group: 'fence',
    title: '13. the lease storage hangs for the MASTER alone: it self-fences before t_g + S − M (no reset needed), the peer takes over only after S + M, and it rejoins once the storage answers',
    async body({ cluster, master, backup, ledger, monitor, timing, count }) {
      const hungMono = monoNow();
      await cluster.freezeLeaseStorage(master);
      await waitMaster(cluster, backup, 90_000);
      const [lost] = await master.logLines(/^LEASE LOST/);
      const [complete] = await master.logLines(/^self-fence complete/);
      assert.ok(lost !== undefined && typeof lost.t_g === 'number' && typeof lost.mono === 'number', 'the MASTER logged the loss with t_g');
      assert.ok(complete !== undefined && typeof complete.mono === 'number', 'the MASTER completed its self-fence');
      const tg = lost.t_g;
      timing('t_g → self-fence complete', complete.mono - tg);
      const { staleMs: S, marginMs: M } = cluster.lease;
      assert.ok(complete.mono <= tg + S - M, `self-fence complete ${complete.mono - tg} ms after t_g (bound S − M = ${S - M} ms)`);
      const [taken] = await backup.logLines(/^lease acquired \(taken over from/);
      assert.ok(taken !== undefined && typeof taken.mono === 'number', 'the peer took the lease over');
      if (cluster.sharedClock) {
        // t_g is on the MASTER's clock, the takeover on the peer's: comparable only on one kernel
        timing('t_g → peer took over', taken.mono - tg);
        assert.ok(tg <= hungMono + 100, 'no good refresh after the storage hung');
        assert.ok(taken.mono >= tg + S + M, `the peer took over ${taken.mono - tg} ms after t_g (bound S + M = ${S + M} ms)`);
      }
      const peerMounted = monitor.firstMounted(backup, hungMono);
      assert.ok(peerMounted !== null, 'the peer mounted');
      assert.deepEqual(await cluster.watchdogFires(master), [], 'the verified self-fence disarmed the watchdog in time: no reset');
      noLateAcks(ledger, count, master, peerMounted.at);
      await cluster.thawLeaseStorage(master);
      await waitHealthy(master, 'BACKUP', 90_000);
      return backup;
    },
  },
  {
    id: 'keepalived-killed',
    group: 'pair',
    title: '14. every keepalived process SIGKILLed on the MASTER (its VIP left behind, no notify): the agent notices on its own, gives the node up, the peer takes over; keepalived back → a healthy BACKUP',
    async body({ cluster, master, backup, ledger, monitor, timing, count }) {
      // the dead keepalived's VIP stays on the old MASTER until its daemon drops it, while the
      // peer's keepalived (no adverts heard) adds it too: two VIPs for a moment, one writer always
      monitor.expectSingleVip = false;
      const killedMono = monoNow();
      await cluster.killKeepalived(master);
      await waitMaster(cluster, backup, 90_000);
      const [gone] = await master.logLines(/^keepalived gone while MASTER/);
      assert.ok(gone !== undefined, 'the old MASTER noticed keepalived gone');
      const peerMounted = monitor.firstMounted(backup, killedMono);
      assert.ok(peerMounted !== null, 'the monitor saw the peer mount');
      timing('kill → peer mounted', peerMounted.mono - killedMono);
      noLateAcks(ledger, count, master, peerMounted.at);
      const last = (await master.state())?.lastTransition;
      assert.equal(last?.kind, 'demote');
      assert.equal(last?.outcome, 'ok');
      assert.ok(last?.steps.some((step) => step.name === 'vip.drop' && step.outcome === 'ok'), 'the demotion dropped the VIP keepalived left');
      monitor.expectSingleVip = true;
      await cluster.startKeepalived(master);
      await waitHealthy(master, 'BACKUP', 60_000);
      return backup;
    },
  },
  {
    id: 'master-daemon-frozen',
    group: 'fence',
    title: '15. the daemon frozen (SIGSTOP) on the MASTER: nobody feeds its watchdog or refreshes its lease; the watchdog resets the node before the peer mounts, and it rejoins as a healthy BACKUP',
    options: { watchdogMayFire: true },
    body: (ctx) => daemonStoppedResetsNode(ctx, 'SIGSTOP', 'freeze'),
  },
  {
    id: 'master-daemon-killed-systemd',
    group: 'fence',
    title: '12b. the daemon SIGKILLed on the MASTER under systemd (Restart=always): the new daemon opens the armed watchdog and takes the fence back in time; nothing moves, no reset',
    labs: ['vm'],
    async body({ cluster, master, backup, ledger }) {
      const [daemon] = await master.daemonPids();
      const [mysqld] = await master.mysqldPids();
      assert.ok(daemon !== undefined && mysqld !== undefined);
      const before = await lastTransitionId(backup);
      await master.signal(daemon, 'SIGKILL');
      await waitFor('a new daemon', async () => ((await master.daemonPids())[0] ?? daemon) !== daemon, 60_000, 250);
      await waitMaster(cluster, master, 60_000);
      const [taken] = await master.logLines(/^disk in use at start-up: fence taken back/);
      assert.ok(taken !== undefined, 'the new daemon took the fence back');
      assert.deepEqual(await master.mysqldPids(), [mysqld], 'the same mysqld kept running');
      assert.equal(await lastTransitionId(backup), before, 'the BACKUP ran no transition');
      await waitAcks(ledger, 5);
      return master;
    },
  },
  {
    id: 'daemon-restart-keeps-database',
    group: 'pair',
    title: '16. `systemctl restart fence-agent` on the MASTER: the database keeps running; the new daemon takes VIP, mount, mysqld and the fence back; no reset, nothing moves',
    labs: ['vm'],
    async body({ cluster, master, backup, ledger, timing }) {
      const [mysqld] = await master.mysqldPids();
      assert.ok(mysqld !== undefined);
      const before = await lastTransitionId(backup);
      const started = monoNow();
      await cluster.restartDaemonService(master);
      timing('restart → daemon answering', monoNow() - started);
      await waitMaster(cluster, master, 60_000);
      const [handOff] = await master.logLines(/^systemd is restarting fence-agent\.service/);
      assert.ok(handOff !== undefined, 'the old daemon saw the restart job and handed over');
      assert.deepEqual(await master.mysqldPids(), [mysqld], 'the same mysqld kept running');
      assert.equal(await lastTransitionId(backup), before, 'the BACKUP ran no transition');
      await waitAcks(ledger, 5);
      return master;
    },
  },
  {
    id: 'backup-clock-stepped-back',
    group: 'pair',
    title: "19. the BACKUP's wall clock stepped back an hour (chrony makestep, a resumed VM), then the MASTER crashes: keepalived's MASTER is still newer than the BACKUP request applied before the step, and the BACKUP takes over",
    labs: ['vm'],
    async body(ctx) {
      const { cluster, backup } = ctx;
      assert.ok(cluster.stepClock !== undefined, 'a lab that can step one node\'s clock');
      await cluster.stepClock(backup, -3_600_000);
      // Ordered by the wall clock, both copies of keepalived's MASTER (notify and notify_fifo) would
      // be "older than the request already applied" (the BACKUP of an hour "later") and skipped:
      // no promotion. (One copy is skipped as older than the other: that is the duplicate's fate.)
      await crashAndTakeOver(ctx, 60_000);
      const promoted = (await backup.state())?.lastTransition;
      assert.equal(promoted?.kind, 'promote');
      assert.equal(promoted?.outcome, 'ok');
      return backup;
    },
  },
  {
    id: 'storage-logout',
    group: 'fence',
    title: '17. the MASTER logs out of the iSCSI LUN (its /dev/sdb1 disappears under the mount): check says so, the node gives the role up, the peer takes over; logged in again → a healthy BACKUP',
    labs: ['vm'],
    async body({ cluster, master, backup, ledger, monitor, timing, count }) {
      const cutMono = monoNow();
      await cluster.cutStoragePath(master, 'logout');
      await waitMaster(cluster, backup, 120_000);
      const peerMounted = monitor.firstMounted(backup, cutMono);
      assert.ok(peerMounted !== null, 'the monitor saw the peer mount');
      timing('logout → peer mounted', peerMounted.mono - cutMono);
      noLateAcks(ledger, count, master, peerMounted.at);
      assert.deepEqual(await cluster.watchdogFires(master), [], 'no reset: the lease storage still answered');
      await cluster.restoreStoragePath(master);
      await waitHealthy(master, 'BACKUP', 90_000);
      return backup;
    },
  },
  {
    id: 'storage-hang',
    group: 'fence',
    title: "18. the MASTER's iSCSI path hangs past replacement_timeout (20 s here): check and status stay bounded, the device goes transport-offline, the node gives the role up, the peer takes over; the path back → a healthy BACKUP",
    labs: ['vm'],
    body: (ctx) => storageHang(ctx),
  },
];

/** The scenarios of one group that run in `lab` (every lab when omitted), in order. */
export const scenariosOf = (group: Scenario['group'], lab?: Cluster['kind']): Scenario[] =>
  SCENARIOS.filter((s) => s.group === group && (lab === undefined || s.labs === undefined || s.labs.includes(lab)));

/** One scenario by id. @throws when there is none */
export function scenarioById(id: string): Scenario {
  const found = SCENARIOS.find((s) => s.id === id);
  if (found === undefined) throw new Error(`no scenario "${id}" (known: ${SCENARIOS.map((s) => s.id).join(', ')})`);
  return found;
}
