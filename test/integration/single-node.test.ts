// The agent on one real node: real MariaDB, a real loop-device ext4 disk, the VIP on an interface
// inside a network namespace the test creates, a private mount namespace. Every test builds its
// own node and tears it down, pass or fail. Runs as root.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { REPO } from '../../lab/node.ts';
import { createSingleNodeLab, LAB_DEADLINES, LAB_LEASE, LAB_WATCHDOG, type SingleNodeLab } from '../../lab/single-node.ts';
import { parseLease, type LeaseRecord } from '../../fence/lease/record.ts';
import { sh } from '../../lab/sh.ts';
import { delay, waitFor } from '../../lab/wait.ts';
import { check, daemonPids, logTail, mountCount, mysqldPids, stateOf, status, waitHealthy, waitIdle } from '../helpers/agent.ts';
import { monoNow } from '../../src/clock.ts';
import { writeState } from '../../src/state.ts';
import { request } from '../../src/control/client.ts';
import { controlSocketPath } from '../../src/control/protocol.ts';

let lab: SingleNodeLab;
const children: ChildProcess[] = [];

beforeEach(async () => {
  lab = await createSingleNodeLab();
});

afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await lab.destroy();
});

/** Starts the peer db2 holding the lease (test/fixtures/hold-lease.ts, taking it over when stale) and waits until it does. */
async function peerHoldsLease(timeoutMs: number, intervalMs?: number): Promise<void> {
  children.push(spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'test/fixtures/hold-lease.ts'), lab.node.configPath, 'db2', lab.leasePath], { stdio: ['ignore', 'pipe', 'inherit'], cwd: REPO }));
  await waitFor('peer holds the lease', () => readLease()?.node === 'db2', timeoutMs, intervalMs);
}

/** The lease record as the host sees it in the store (null: none, or unreadable). */
function readLease(): LeaseRecord | null {
  let text: string;
  try {
    text = readFileSync(lab.leasePath, 'utf8');
  } catch {
    return null;
  }
  const view = parseLease(text);
  return view.kind === 'unreadable' ? null : view.record;
}

/** Starts a daemon and waits until it is past its start-up (which takes a pending request too): daemon.ready holds its pid. */
async function startDaemonPastStartUp(): Promise<void> {
  const daemon = lab.node.startDaemon();
  children.push(daemon);
  const ready = path.join(lab.node.runDir, 'daemon.ready');
  await waitFor('daemon.ready', () => existsSync(ready) && readFileSync(ready, 'utf8').trim() === String(daemon.pid), 10_000, 50);
}

/**
 * Starts the daemon as systemd would (before keepalived), unless one runs: notify's own cold start
 * of a daemon has its 700 ms hand-off deadline, which a loaded 2-core machine can miss (notify
 * then exits 1 and the daemon still applies the request it left); the tests that are about that
 * path start no daemon first.
 */
async function ensureDaemon(): Promise<void> {
  if (daemonPids(lab.node).length > 0) return;
  children.push(lab.node.startDaemon());
  await waitIdle(lab.node);
}

/** Puts the VIP on the node and tells the agent MASTER, as keepalived would. */
async function becomeMaster(): Promise<void> {
  await ensureDaemon();
  await lab.addVip();
  const ran = await lab.node.agent(['notify', 'INSTANCE', 'VI_1', 'MASTER', '100']);
  assert.equal(ran.exitCode, 0, ran.stderr);
  await waitHealthy(lab.node, 'MASTER');
  await waitIdle(lab.node);
}

/** Nothing of the agent's doing is visible on the node: no mount, no mysqld, no daemon. */
async function assertUntouched(): Promise<void> {
  assert.equal(await mountCount(lab.node, lab.disk.device), 0, 'the shared disk is not mounted');
  assert.deepEqual(mysqldPids(lab.node), [], 'no mysqld runs');
  assert.deepEqual(lab.node.pidsNamed('node'), [], 'no agent process runs');
}

describe('one real node', () => {
  test('an idle node is a healthy BACKUP for check and status', async () => {
    const result = await check(lab.node);
    assert.equal(result.code, 0, result.line);
    assert.match(result.line, /healthy BACKUP: no VIP, not mounted, no mysqld, fence not held/);
    const { code, report } = await status(lab.node);
    assert.equal(code, 0, JSON.stringify({ healthy: report.healthy, summary: report.summary, problems: report.problems, sql: report.mysqld.sql }));
    assert.equal(report.role, 'BACKUP');
    assert.equal(report.healthy, true);
    assert.equal(report.mount.mounted, false);
    assert.equal(report.fence.held, false);
    const human = await lab.node.agent(['status']);
    assert.equal(human.exitCode, 0);
    assert.match(human.stdout, /role\s+BACKUP healthy/);
  });

  test('notify MASTER promotes: fence, mount, mysqld answering SQL over its socket, check healthy MASTER', async () => {
    await becomeMaster();
    assert.equal(await mountCount(lab.node, lab.disk.device), 1);
    assert.equal(mysqldPids(lab.node).length, 1);
    const answer = await lab.node.sql('SELECT 40 + 2');
    assert.equal(answer.stdout.trim(), '42', answer.stderr);
    const lease = readLease();
    assert.equal(lease?.node, 'db1');
    assert.equal(lease?.state, 'held');
    const { code, report } = await status(lab.node);
    assert.equal(code, 0, JSON.stringify({ healthy: report.healthy, summary: report.summary, problems: report.problems, sql: report.mysqld.sql }));
    assert.equal(report.role, 'MASTER');
    assert.equal(report.mysqld.sql?.ok, true);
    assert.equal(report.fence.held, true);
    assert.equal(report.lastTransition?.kind, 'promote');
    assert.equal(report.lastTransition?.outcome, 'ok');
    // the disk is mounted only inside the node's own mount namespace
    const host = await sh(['findmnt', '-n', '-S', lab.disk.device]);
    assert.equal(host.stdout.trim(), '', 'the host namespace does not see the mount');
  });

  test("the daemon's SQL pings end with COM_QUIT: mysqld logs no aborted connection", async () => {
    await becomeMaster();
    const errorLog = path.join(lab.node.mysqlRunDir, 'mysqld.err');
    await delay(3000); // several pings of the daemon's SQL monitor and a check or two
    assert.ok((await check(lab.node)).code === 0);
    const text = readFileSync(errorLog, 'utf8');
    assert.ok(text.includes('ready for connections'), 'this is the running mysqld\'s log');
    assert.doesNotMatch(text, /Aborted connection/);
  });

  test('the daemon keeps the empty mountpoint immutable: set at start-up, the disk still mounts on it, set again after the unmount', async () => {
    const immutable = async (where: 'host' | 'node'): Promise<boolean> => {
      const ran = where === 'host' ? await sh(['lsattr', '-d', lab.mountpoint]) : await lab.node.exec(['lsattr', '-d', lab.mountpoint]);
      assert.equal(ran.exitCode, 0, ran.stderr);
      return (ran.stdout.split(/\s+/)[0] ?? '').includes('i');
    };
    assert.equal(await immutable('host'), false, 'a fresh lab directory');
    await ensureDaemon();
    await waitFor('the empty mountpoint immutable after start-up', () => immutable('host'), 10_000, 100);
    const created = await lab.node.exec(['mkdir', `${lab.mountpoint}/mysql`]);
    assert.notEqual(created.exitCode, 0, 'nothing can be created in the empty mountpoint');
    assert.match(created.stderr, /Operation not permitted/);

    await becomeMaster();
    assert.equal(await mountCount(lab.node, lab.disk.device), 1, 'mounted on the immutable directory');
    assert.equal((await lab.node.sql('SELECT 1')).stdout.trim(), '1');
    assert.equal(await immutable('node'), false, 'the mounted filesystem\'s root is left as it is');
    // clear the flag under the mount (the host sees the directory underneath): the demotion sets it again
    assert.equal((await sh(['chattr', '-i', lab.mountpoint])).exitCode, 0);
    assert.equal(await immutable('host'), false);

    await lab.delVip();
    assert.equal((await lab.node.agent(['notify', 'backup'])).exitCode, 0);
    await waitHealthy(lab.node, 'BACKUP');
    assert.equal(await mountCount(lab.node, lab.disk.device), 0);
    await waitFor('the mountpoint immutable again after the verified unmount', () => immutable('node'), 10_000, 100);
    assert.match(readFileSync(lab.node.logFile, 'utf8'), /made immutable \(chattr \+i\)/);

    // the lab's cleanup clears the flag, or it could not remove the directory
    await lab.destroy();
    assert.equal(existsSync(lab.dir), false, 'the lab directory is gone');
  });

  test('a SIGKILLed mysqld makes check exit 1 naming mysqld', async () => {
    await becomeMaster();
    const [pid] = mysqldPids(lab.node);
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    await waitFor('mysqld gone', () => mysqldPids(lab.node).length === 0, 10_000);
    const result = await check(lab.node);
    assert.equal(result.code, 1, result.line);
    assert.match(result.line, /UNHEALTHY MASTER: mysqld not running \(pid \d+ from .*mysqld\.pid is gone\)/);
  });

  test("the daemon's health file (keepalived's track_file) says 0 on a healthy MASTER and 1 once mysqld is gone", async () => {
    await becomeMaster();
    const file = path.join(lab.node.runDir, 'health');
    await waitFor('health 0', () => existsSync(file) && readFileSync(file, 'utf8') === '0\n', 10_000, 50);
    const [pid] = mysqldPids(lab.node);
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    // fall (keepalived.checkFall, 2) verdicts in a row, one every monitor.healthIntervalMs (1 s)
    await waitFor('health 1', () => readFileSync(file, 'utf8') === '1\n', 10_000, 50);
    const { report } = await status(lab.node);
    assert.deepEqual(report.healthFile, { path: file, value: 1 }, 'status shows what keepalived reads');
    assert.match((await lab.node.agent(['status'])).stdout, /health file\s+\S+\/health\s+1: FAULT for keepalived/);
    const logged = readFileSync(lab.node.logFile, 'utf8').split('\n').filter((line) => line.includes('health 1 for keepalived (FAULT)'));
    assert.equal(logged.length, 1, logged.join('\n'));
    assert.match(logged[0] ?? '', /mysqld not running/);
  });

  test('with a local restart policy, a SIGKILLed mysqld is restarted in place once, then left to fail over', async () => {
    const config = JSON.parse(readFileSync(lab.node.configPath, 'utf8')) as { mysqld: Record<string, unknown>; monitor: Record<string, number> };
    config.mysqld.restartAttempts = 1;
    config.mysqld.restartWindowMs = 60_000;
    config.monitor.sqlIntervalMs = 300;
    lab.node.writeConfig(config);
    await becomeMaster();
    const [first] = mysqldPids(lab.node);
    assert.ok(first);
    process.kill(first, 'SIGKILL');
    const second = await waitFor('a new mysqld', () => mysqldPids(lab.node).find((pid) => pid !== first), 30_000, 50);
    await waitHealthy(lab.node, 'MASTER');
    await waitIdle(lab.node);
    assert.equal(stateOf(lab.node)?.lastTransition?.reason, 'mysqld-restart');
    assert.equal(stateOf(lab.node)?.lastTransition?.outcome, 'ok');
    process.kill(second, 'SIGKILL');
    await waitFor('the daemon gives up', () => readFileSync(lab.node.logFile, 'utf8').includes('no local restart left'), 10_000, 100);
    await delay(1000);
    assert.deepEqual(mysqldPids(lab.node), [], 'no second restart within the window');
    const result = await check(lab.node);
    assert.equal(result.code, 1);
    assert.match(result.line, /mysqld not running/);
  });

  test('the VIP removed while mounted makes check exit 1 naming the VIP', async () => {
    await becomeMaster();
    await lab.delVip();
    const result = await check(lab.node);
    assert.equal(result.code, 1);
    assert.match(result.line, /UNHEALTHY BACKUP: .* mounted on .* without the VIP/);
    assert.match(result.line, /mysqld running \(pid \d+\) without the VIP/);
    assert.match(result.line, /fence held without the VIP/);
    // a second identical verdict is not logged again (keepalived runs check every few seconds)
    assert.equal((await check(lab.node)).code, 1);
    const logged = readFileSync(lab.node.logFile, 'utf8').split('\n').filter((line) => line.includes('"cmd":"check"') && line.includes('without the VIP'));
    assert.equal(logged.length, 1, logged.join('\n'));
    assert.match(logged[0] ?? '', /"level":40/);
  });

  test('demotion signals the processes using the mountpoint, SIGKILLs one that ignores SIGTERM, and verifies the unmount', async () => {
    await becomeMaster();
    const polite = lab.node.spawn(['sh', '-c', `cd ${lab.mountpoint} && exec sleep 1000`]);
    // SIG_IGN survives exec: this sleep ignores SIGTERM and must be SIGKILLed
    const stubborn = lab.node.spawn(['sh', '-c', `trap '' TERM; cd ${lab.mountpoint} && exec sleep 1001`]);
    children.push(polite, stubborn);
    const politeExit = new Promise<NodeJS.Signals | null>((resolve) => polite.on('exit', (_code, signal) => resolve(signal)));
    const stubbornExit = new Promise<NodeJS.Signals | null>((resolve) => stubborn.on('exit', (_code, signal) => resolve(signal)));
    await waitFor('both users have their cwd on the mountpoint', () => lab.node.pidsNamed('sleep').length === 2, 5000);
    await lab.delVip();
    assert.equal((await lab.node.agent(['notify', 'backup'])).exitCode, 0);
    await waitHealthy(lab.node, 'BACKUP');
    assert.equal(await politeExit, 'SIGTERM');
    assert.equal(await stubbornExit, 'SIGKILL');
    assert.equal(await mountCount(lab.node, lab.disk.device), 0);
    assert.deepEqual(mysqldPids(lab.node), []);
    const last = stateOf(lab.node)?.lastTransition;
    assert.equal(last?.kind, 'demote');
    assert.equal(last?.outcome, 'ok');
    assert.deepEqual(
      last?.steps.map((s) => s.name),
      ['mysqld.stop', 'unmount', 'fence.release'],
    );
    assert.match(readFileSync(lab.node.logFile, 'utf8'), /mountpoint busy, signalling its users/);
  });

  test('a node fenced-in by a holder nothing can signal (a loop device on a file of the disk) demotes again every fencedInRetryMs, and is a clean BACKUP with the fence released once the holder lets go, with no notify', { timeout: 180_000 }, async () => {
    await becomeMaster();
    // a loop device backed by a file on the mounted disk: the kernel holds the filesystem, no
    // process has it open, so the unmount fails with EBUSY and the escalation finds nobody
    const backing = path.join(lab.mountpoint, 'loop-backing');
    const made = await lab.node.exec(['truncate', '-s', '1M', backing]);
    assert.equal(made.exitCode, 0, made.stderr);
    const attached = await lab.node.exec(['losetup', '--find', '--show', backing]);
    assert.equal(attached.exitCode, 0, attached.stderr);
    const loop = attached.stdout.trim();
    let detached = false;
    try {
      await lab.delVip();
      const ran = await lab.node.agent(['notify', 'INSTANCE', 'VI_1', 'FAULT', '100']);
      assert.equal(ran.exitCode, 0, ran.stderr);
      await waitFor('fenced-in', () => stateOf(lab.node)?.role === 'FENCED-IN', 60_000, 200);
      const fencedIn = await check(lab.node);
      assert.equal(fencedIn.code, 1, fencedIn.line);
      assert.match(fencedIn.line, /fenced-in/i);
      assert.equal(readLease()?.state, 'held', 'the fence is kept while the filesystem may be written');
      // the retry runs, and fails again while the holder is there: no clean BACKUP claimed
      const retried = /fenced-in: the filesystem could not be verified gone; demoting again/;
      await waitFor('a retried demotion', () => retried.test(readFileSync(lab.node.logFile, 'utf8')), 30_000, 200);
      await waitIdle(lab.node);
      assert.equal(stateOf(lab.node)?.role, 'FENCED-IN');
      assert.equal(stateOf(lab.node)?.lastTransition?.reason, 'fenced-in-retry');
      assert.notEqual(stateOf(lab.node)?.lastTransition?.outcome, 'ok');
      assert.equal(await mountCount(lab.node, lab.disk.device), 1);
      const gone = await lab.node.exec(['losetup', '-d', loop]);
      assert.equal(gone.exitCode, 0, gone.stderr);
      detached = true;
    } finally {
      if (!detached) await lab.node.exec(['losetup', '-d', loop]);
    }
    await waitFor('a clean BACKUP', () => stateOf(lab.node)?.role === 'BACKUP' && stateOf(lab.node)?.transition === null, 60_000, 200);
    assert.equal(stateOf(lab.node)?.lastTransition?.reason, 'fenced-in-retry');
    assert.equal(stateOf(lab.node)?.lastTransition?.outcome, 'ok');
    assert.equal(await mountCount(lab.node, lab.disk.device), 0);
    assert.equal(readLease()?.state, 'released', 'the lease released');
    await waitHealthy(lab.node, 'BACKUP');
  });

  test('switchover on the MASTER: it demotes first (keepalived keeps the VIP meanwhile), then health 1 for keepalived and check says SWITCHOVER; done once the peer holds the fence', { timeout: 180_000 }, async () => {
    await becomeMaster();
    const health = path.join(lab.node.runDir, 'health');
    const running = lab.node.agent(['switchover', '--timeout-ms', '60000'], { timeoutMs: 90_000 });
    // no notify: the daemon demotes on its own, with the VIP still on the node
    await waitFor('health 1 for keepalived', () => readFileSync(health, 'utf8').trim() === '1', 60_000, 50);
    const state = stateOf(lab.node);
    assert.equal(state?.role, 'BACKUP');
    assert.equal(state?.lastTransition?.kind, 'demote');
    assert.equal(state?.lastTransition?.reason, 'switchover');
    assert.equal(state?.lastTransition?.outcome, 'ok');
    assert.equal(state?.switchover?.phase, 'handing-over');
    assert.equal(readLease()?.state, 'released', 'the fence released before keepalived is told');
    assert.equal(await mountCount(lab.node, lab.disk.device), 0);
    const during = await check(lab.node);
    assert.equal(during.code, 1, during.line);
    assert.match(during.line, /SWITCHOVER: handing the MASTER role to the peer/);
    // keepalived in FAULT: the VIP goes; the FAULT notify finds the node a BACKUP already
    await lab.delVip();
    assert.equal((await lab.node.agent(['notify', 'INSTANCE', 'VI_1', 'FAULT', '100'])).exitCode, 0);
    assert.equal(stateOf(lab.node)?.switchover?.outcome, 'running', 'not done before the peer holds the fence');
    await peerHoldsLease(30_000);
    const ran = await running;
    assert.equal(ran.exitCode, 0, ran.stderr);
    assert.match(ran.stdout, /^switchover done in \d+\.\d s: demoted to a clean BACKUP; the peer holds the fence \(.*db2/);
    await waitFor('health 0 again', () => readFileSync(health, 'utf8').trim() === '0', 10_000, 50);
    assert.deepEqual(mysqldPids(lab.node), []);
  });

  test('switchover with no peer taking over is aborted at its timeout: exit 1 naming what was seen, and the node is healthy for keepalived again', { timeout: 120_000 }, async () => {
    await becomeMaster();
    const health = path.join(lab.node.runDir, 'health');
    const running = lab.node.agent(['switchover', '--timeout-ms', '15000'], { timeoutMs: 60_000 });
    await waitFor('health 1 for keepalived', () => readFileSync(health, 'utf8').trim() === '1', 15_000, 50);
    await lab.delVip(); // keepalived in FAULT
    const ran = await running;
    assert.equal(ran.exitCode, 1, ran.stderr);
    assert.match(ran.stderr, /^fence-agent switchover: handing the MASTER role to the peer \(up to 15\.0 s\)\nfence-agent switchover: aborted in \d+\.\d s: the peer did not take the MASTER role within 15000 ms \(demoted; the fence: /);
    assert.equal(stateOf(lab.node)?.switchover?.outcome, 'aborted');
    await waitFor('health 0 again', () => readFileSync(health, 'utf8').trim() === '0', 10_000, 50);
    const after = await check(lab.node);
    assert.equal(after.code, 0, after.line);
  });

  test('switchover is refused on a BACKUP and with a bad timeout, and changes nothing', async () => {
    await ensureDaemon();
    const refused = await lab.node.agent(['switchover']);
    assert.equal(refused.exitCode, 1, refused.stderr);
    assert.equal(refused.stderr.trim(), 'fence-agent switchover: switchover refused: this node is BACKUP, not MASTER: nothing to hand over');
    const bad = await lab.node.agent(['switchover', '--timeout-ms', '5']);
    assert.equal(bad.exitCode, 2, bad.stderr);
    assert.match(bad.stderr, /--timeout-ms: expected an integer 1000\.\.3600000 \(ms\), got 5/);
    assert.equal(stateOf(lab.node)?.switchover ?? null, null);
    assert.equal(stateOf(lab.node)?.role, 'BACKUP');
  });

  test('switchover and rejoin sent while the daemon starts up are refused as such (not judged on the unreconciled role); maintenance waits for the start-up', async () => {
    const ready = path.join(lab.node.runDir, 'daemon.ready');
    children.push(lab.node.startDaemon());
    // the control socket listens early in start-up (notify's hand-over deadline): ask the moment it does
    let answer: unknown = null;
    let sentBeforeReady = false;
    await waitFor('an answer on the control socket', async () => {
      const before = !existsSync(ready);
      try {
        answer = await request(controlSocketPath(lab.node.runDir), { op: 'switchover', timeoutMs: 60_000 }, 10_000);
      } catch {
        return false;
      }
      sentBeforeReady = before;
      return true;
    }, 20_000, 5);
    assert.ok(sentBeforeReady, 'the request went out before the daemon was ready (else this test shows nothing)');
    const startingUp = 'the daemon is starting up (its start-up reconciliation has not run yet); try again once fence-agent status shows it idle';
    assert.deepEqual(answer, { ok: false, error: `switchover refused: ${startingUp}` });
    const socket = controlSocketPath(lab.node.runDir);
    const rejoin = await request(socket, { op: 'rejoin' }, 10_000);
    const maintenance = await request(socket, { op: 'maintenance', on: true, reason: null }, 10_000);
    // refused while the start-up reconciliation runs, answered once it has (it may already have)
    assert.ok(JSON.stringify(rejoin) === JSON.stringify({ ok: false, error: `rejoin refused: ${startingUp}` }) || rejoin.ok, JSON.stringify(rejoin));
    assert.equal(maintenance.ok, true, JSON.stringify(maintenance));
    await waitIdle(lab.node);
    assert.equal(stateOf(lab.node)?.role, 'BACKUP');
    assert.equal(stateOf(lab.node)?.switchover ?? null, null);
    assert.notEqual(stateOf(lab.node)?.maintenance ?? null, null, 'maintenance recorded');
    const refused = await request(socket, { op: 'switchover', timeoutMs: 60_000 }, 10_000);
    assert.deepEqual(refused, { ok: false, error: 'switchover refused: maintenance is on (fence-agent maintenance off first)' });
  });

  test('maintenance on a MASTER: a gone mysqld and a BACKUP request are not acted on, check stays healthy saying MAINTENANCE; maintenance off applies the BACKUP request', { timeout: 120_000 }, async () => {
    await becomeMaster();
    const on = await lab.node.agent(['maintenance', 'on', '--reason', 'kernel update']);
    assert.equal(on.exitCode, 0, on.stderr);
    assert.match(on.stdout, /^maintenance ON since \S+ \(kernel update\): no action on db1 until `fence-agent maintenance off`/);
    const again = await lab.node.agent(['maintenance', 'on']);
    assert.match(again.stdout, /^maintenance ON \(already\)/, 'idempotent');
    for (const pid of mysqldPids(lab.node)) process.kill(pid, 'SIGKILL');
    const log = (): string => readFileSync(lab.node.logFile, 'utf8');
    await waitFor('mysqld gone, not acted on', () => /MAINTENANCE: mysqld gone on the MASTER; not acted on/.test(log()), 20_000, 100);
    const held = await check(lab.node);
    assert.equal(held.code, 0, held.line);
    assert.match(held.line, /^fence-agent check: healthy MASTER: MAINTENANCE since \S+ \(kernel update\): no action taken; not acted on: mysqld not running/);
    await lab.delVip();
    assert.equal((await lab.node.agent(['notify', 'INSTANCE', 'VI_1', 'BACKUP', '100'])).exitCode, 0);
    await waitFor('the BACKUP request not acted on', () => /MAINTENANCE: not acted on: BACKUP from notify/.test(log()), 20_000, 100);
    assert.equal(await mountCount(lab.node, lab.disk.device), 1, 'still mounted');
    assert.equal(stateOf(lab.node)?.lastTransition?.kind, 'promote', 'no transition ran');
    const shown = await lab.node.agent(['status']);
    assert.match(shown.stdout, /MAINTENANCE ON: the agent takes no action/);
    const off = await lab.node.agent(['maintenance', 'off']);
    assert.equal(off.exitCode, 0, off.stderr);
    assert.match(off.stdout, /^maintenance off: the agent acts again on db1/);
    await waitHealthy(lab.node, 'BACKUP');
    await waitIdle(lab.node);
    assert.equal(stateOf(lab.node)?.lastTransition?.kind, 'demote');
    assert.equal(stateOf(lab.node)?.lastTransition?.outcome, 'ok');
    assert.equal(stateOf(lab.node)?.maintenance ?? null, null);
  });

  test('maintenance on a BACKUP: unhealthy for keepalived (it takes no role), a MASTER request is not acted on; maintenance off applies it', { timeout: 120_000 }, async () => {
    await ensureDaemon();
    const on = await lab.node.agent(['maintenance', 'on']);
    assert.equal(on.exitCode, 0, on.stderr);
    const held = await check(lab.node);
    assert.equal(held.code, 1, held.line);
    assert.match(held.line, /^fence-agent check: UNHEALTHY BACKUP: MAINTENANCE since \S+: this node takes no role until maintenance off$/);
    await waitFor('health 1 for keepalived', () => readFileSync(path.join(lab.node.runDir, 'health'), 'utf8').trim() === '1', 10_000, 50);
    await lab.addVip();
    assert.equal((await lab.node.agent(['notify', 'INSTANCE', 'VI_1', 'MASTER', '100'])).exitCode, 0);
    await waitFor('the MASTER request not acted on', () => /MAINTENANCE: not acted on: MASTER from notify/.test(readFileSync(lab.node.logFile, 'utf8')), 20_000, 100);
    assert.equal(await mountCount(lab.node, lab.disk.device), 0, 'not mounted');
    const refused = await lab.node.agent(['switchover']);
    assert.equal(refused.exitCode, 1);
    const off = await lab.node.agent(['maintenance', 'off']);
    assert.equal(off.exitCode, 0, off.stderr);
    await waitHealthy(lab.node, 'MASTER');
    const bad = await lab.node.agent(['maintenance', 'off', '--reason', 'x']);
    assert.equal(bad.exitCode, 2, bad.stderr);
    assert.match(bad.stderr, /--reason goes with maintenance on/);
  });

  test('fence show reads the lease record; fence clear is refused on the MASTER and while the peer refreshes its lease, and releases the lease a dead peer left', { timeout: 120_000 }, async () => {
    await becomeMaster();
    const shown = await lab.node.agent(['fence', 'show']);
    assert.equal(shown.exitCode, 0, shown.stderr);
    assert.match(shown.stdout, /^fence: lockfile lease \S+\n {2}record: held by db1 \(this node\), pid \d+, counter \d+/);
    const unconfirmed = await lab.node.agent(['fence', 'clear']);
    assert.equal(unconfirmed.exitCode, 2, unconfirmed.stderr);
    assert.match(unconfirmed.stderr, /--yes-i-have-checked-the-peer/);
    const onMaster = await lab.node.agent(['fence', 'clear', '--yes-i-have-checked-the-peer']);
    assert.equal(onMaster.exitCode, 1, onMaster.stderr);
    assert.match(onMaster.stderr, /fence clear refused: this node's daemon is MASTER: it holds the fence/);
    assert.equal(readLease()?.node, 'db1', 'nothing changed');
    // demoted; the peer db2 takes the lease and keeps refreshing it
    await lab.delVip();
    assert.equal((await lab.node.agent(['notify', 'INSTANCE', 'VI_1', 'BACKUP', '100'])).exitCode, 0);
    await waitHealthy(lab.node, 'BACKUP');
    await peerHoldsLease(30_000);
    const alive = await lab.node.agent(['fence', 'clear', '--yes-i-have-checked-the-peer']);
    assert.equal(alive.exitCode, 1, alive.stderr);
    assert.match(alive.stderr, /fence clear refused: the lease record changed while watched \(held by db2 .*\): its holder is alive/);
    assert.equal(readLease()?.node, 'db2');
    // the peer dies holding it
    for (const child of children) if (child.spawnargs.some((arg) => arg.endsWith('hold-lease.ts'))) child.kill('SIGKILL');
    const cleared = await lab.node.agent(['fence', 'clear', '--yes-i-have-checked-the-peer']);
    assert.equal(cleared.exitCode, 0, cleared.stderr);
    assert.match(cleared.stdout, /^lease \S+ cleared: it was held by db2 \(pid \d+, counter \d+\), unchanged for \d+\.\d s; now released by db1$/);
    assert.equal(readLease()?.state, 'released');
    assert.equal(readLease()?.node, 'db1');
  });

  test('with keepalived.startMode clean, a node whose previous boot ended holding the disk starts on hold: unhealthy, no promotion, until fence-agent rejoin', { timeout: 120_000 }, async () => {
    await lab.destroy();
    lab = await createSingleNodeLab({ keepalived: { startMode: 'clean' } });
    // what the previous boot left: MASTER with the watchdog armed, then a reset
    writeState(lab.node.stateDir, {
      version: 1, node: 'db1', bootId: 'a-previous-boot', daemon: null, desired: { vrrpState: 'MASTER', source: 'notify', issuedAt: 1 }, keepalivedState: 'MASTER', role: 'MASTER',
      transition: null, lastTransition: null, selfFence: null, watchdog: { device: lab.node.watchdogPath, kind: 'simulated', timeoutMs: 2500, armed: true, petting: true }, updatedAt: '2026-12-04T10:00:00.000Z',
    });
    await startDaemonPastStartUp();
    await waitIdle(lab.node);
    // once the start-up reconciliation (a demotion, healthy while it runs) is over
    const held = await waitFor('check exit 1', async () => {
      const c = await check(lab.node);
      return c.code === 1 ? c : null;
    }, 20_000, 200);
    assert.match(held.line, /START HOLD: the previous boot ended while this node held the disk \(watchdog armed at \S+: reset by it, crashed or powered off\); not a candidate until fence-agent rejoin/);
    await lab.addVip();
    assert.equal((await lab.node.agent(['notify', 'INSTANCE', 'VI_1', 'MASTER', '100'])).exitCode, 0);
    await waitFor('the promotion refused', () => /refusing to promote: START HOLD/.test(readFileSync(lab.node.logFile, 'utf8')), 20_000, 100);
    assert.equal(await mountCount(lab.node, lab.disk.device), 0);
    const shown = await lab.node.agent(['status']);
    assert.match(shown.stdout, /start hold/);
    const rejoined = await lab.node.agent(['rejoin']);
    assert.equal(rejoined.exitCode, 0, rejoined.stderr);
    assert.match(rejoined.stdout, /^cleared: start hold \(the previous boot ended while this node held the disk/);
    // keepalived's MASTER request, refused while on hold, runs now
    await waitHealthy(lab.node, 'MASTER');
    const again = await lab.node.agent(['rejoin']);
    assert.equal(again.exitCode, 1, 'refused on a MASTER');
    assert.match(again.stderr, /rejoin refused: this node is MASTER/);
  });

  test('doctor on a MASTER: the fence, the simulated watchdog and mysqld\'s durability read for real (on the node without mysqld: from its option files); innodb_flush_log_at_trx_commit=2 and a config others can read with a password are named FAILs', { timeout: 120_000 }, async () => {
    const keepalived = path.join(lab.node.dir, 'keepalived.conf');
    const generated = await lab.node.agent(['config', 'keepalived', '--interface', 'vip0', '--router-id', '51', '--priority', '150']);
    assert.equal(generated.exitCode, 0, generated.stderr);
    writeFileSync(keepalived, generated.stdout);
    const doctor = async (): Promise<{ code: number; lines: string[] }> => {
      const ran = await lab.node.agent(['doctor', '--keepalived-conf', keepalived], { timeoutMs: 60_000 });
      return { code: ran.exitCode, lines: ran.stdout.trim().split('\n') };
    };
    // no mysqld yet: what it would start with (mariadbd --defaults-file=… --verbose --help)
    assert.deepEqual(mysqldPids(lab.node), []);
    const idle = await doctor();
    const idleDurability = idle.lines.filter((l) => l.includes(' durability: '));
    assert.deepEqual(idleDurability, ['ok    durability: innodb_flush_log_at_trx_commit=1 (option files: mysqld does not run here)', 'ok    durability: innodb_doublewrite=ON (option files: mysqld does not run here)'], idle.lines.join('\n'));
    await becomeMaster();
    const first = await doctor();
    const line = (check: string): string[] => first.lines.filter((l) => l.includes(` ${check}: `));
    assert.match(line('fence')[0] ?? '', /^ok {4}fence: lease \S+ held \(db1, counter \d+\)$/);
    assert.match(line('watchdog')[0] ?? '', /^WARN {2}watchdog: \S+: simulated/);
    assert.deepEqual(line('durability').map((l) => l.slice(0, 4)), ['ok  ', 'ok  '], first.lines.join('\n'));
    assert.ok(line('keepalived').every((l) => l.startsWith('ok')), line('keepalived').join('\n'));
    assert.match(first.lines.at(-1) ?? '', /^doctor: \d+ ok, \d+ warn, \d+ fail$/);
    // seeded: a commit acknowledged before its redo log is on disk
    const set = await lab.node.sql('SET GLOBAL innodb_flush_log_at_trx_commit=2');
    assert.equal(set.exitCode, 0, set.stderr);
    const lax = await doctor();
    assert.equal(lax.code, 1, lax.lines.join('\n'));
    assert.ok(lax.lines.some((l) => /^FAIL {2}durability: innodb_flush_log_at_trx_commit=2: /.test(l)), lax.lines.join('\n'));
    // seeded: the configuration readable by others, with a password in it
    const config = JSON.parse(readFileSync(lab.node.configPath, 'utf8')) as { mysqld: { health?: Record<string, string> } };
    config.mysqld.health = { user: 'root', password: 's3cret' };
    writeFileSync(lab.node.configPath, JSON.stringify(config));
    chmodSync(lab.node.configPath, 0o644);
    const open = await doctor();
    assert.equal(open.code, 1);
    assert.match(open.lines[0] ?? '', /^FAIL {2}config: .*readable by group\/other \(mode 0644\)/);
    assert.ok(!open.lines.join('\n').includes('s3cret'));
  });

  test('a notify storm BACKUP, MASTER, BACKUP, MASTER within 150 ms ends in the last request, MASTER, with one mount and one mysqld', async () => {
    children.push(lab.node.startDaemon());
    await waitIdle(lab.node);
    await lab.addVip();
    const storm: Promise<unknown>[] = [];
    // first and last differ: a daemon that kept the first request would end BACKUP
    for (const word of ['BACKUP', 'MASTER', 'BACKUP', 'MASTER']) {
      storm.push(lab.node.agent(['notify', 'INSTANCE', 'VI_1', word, '100']));
      await delay(40);
    }
    const results = (await Promise.all(storm)) as { exitCode: number; stderr: string }[];
    for (const ran of results) assert.equal(ran.exitCode, 0, ran.stderr);
    await waitIdle(lab.node);
    await waitHealthy(lab.node, 'MASTER');
    assert.equal(await mountCount(lab.node, lab.disk.device), 1);
    assert.equal(mysqldPids(lab.node).length, 1);
    assert.equal(stateOf(lab.node)?.desired?.vrrpState, 'MASTER');
  });

  test('notify DELETED (the instance removed by a keepalived reload, with notify_deleted) demotes a MASTER as STOP does', async () => {
    await becomeMaster();
    // keepalived removes the VIP of an instance it deletes
    await lab.delVip();
    const ran = await lab.node.agent(['notify', 'INSTANCE', 'VI_1', 'DELETED', '100']);
    assert.equal(ran.exitCode, 0, ran.stderr);
    await waitFor('the demotion', () => stateOf(lab.node)?.lastTransition?.kind === 'demote', 60_000, 100);
    await waitIdle(lab.node);
    await waitHealthy(lab.node, 'BACKUP');
    assert.equal(await mountCount(lab.node, lab.disk.device), 0, 'unmounted');
    assert.deepEqual(mysqldPids(lab.node), [], 'mysqld stopped');
    const last = stateOf(lab.node)?.lastTransition;
    assert.equal(last?.desire.vrrpState, 'DELETED');
    assert.equal(last?.outcome, 'ok');
  });

  test('a request a notify could not hand over in time, left in desired.json, is taken up by the running daemon within its health interval', async () => {
    await startDaemonPastStartUp();
    await waitIdle(lab.node);
    await lab.addVip();
    const desired = path.join(lab.node.stateDir, 'desired.json');
    writeFileSync(desired, JSON.stringify({ vrrpState: 'MASTER', source: 'notify', issuedAt: Date.now(), detail: 'left by a notify that got no answer' }), { mode: 0o600 });
    await waitHealthy(lab.node, 'MASTER');
    await waitIdle(lab.node);
    assert.equal(existsSync(desired), false, 'taken out of desired.json');
    assert.equal(stateOf(lab.node)?.lastTransition?.desire.detail, 'left by a notify that got no answer');
    assert.match(readFileSync(lab.node.logFile, 'utf8'), /taking up a request notify could not hand over in time: MASTER/);
  });

  test('after the wall clock stepped back an hour, keepalived\'s next MASTER is still newer than the BACKUP applied before the step and promotes', async () => {
    await startDaemonPastStartUp();
    await waitIdle(lab.node);
    // A BACKUP request recorded just before a backward step of 1 h (chrony makestep, a VM resumed):
    // its wall time lies an hour ahead of every request after the step; its place on the boot's
    // clock does not. Handed in through desired.json, the way a late notify leaves it.
    const bootMs = Math.round(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1000);
    const before = { vrrpState: 'BACKUP', source: 'notify', issuedAt: Date.now() + 3_600_000, order: { boot: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), bootMs, tie: 0 }, detail: 'before the clock step' };
    writeFileSync(path.join(lab.node.stateDir, 'desired.json'), JSON.stringify(before), { mode: 0o600 });
    await waitFor('the BACKUP request applied', () => stateOf(lab.node)?.desired?.detail === 'before the clock step', 10_000, 50);
    await lab.addVip();
    const ran = await lab.node.agent(['notify', 'INSTANCE', 'VI_1', 'MASTER', '100']);
    assert.equal(ran.exitCode, 0, ran.stderr);
    await waitHealthy(lab.node, 'MASTER');
    await waitIdle(lab.node);
    assert.equal(stateOf(lab.node)?.desired?.source, 'notify');
    assert.equal(stateOf(lab.node)?.desired?.vrrpState, 'MASTER');
    assert.doesNotMatch(readFileSync(lab.node.logFile, 'utf8'), /older than the request already applied, skipped: MASTER/);
  });

  test("check tolerates a failing lease read on an idle BACKUP for the lease's stale time, then calls it a problem, and is healthy again at the first good read", async () => {
    await ensureDaemon();
    await waitHealthy(lab.node, 'BACKUP');
    // a directory where the lease record is: every read of it fails (EISDIR), as on a sick NFS server
    rmSync(lab.leasePath, { force: true });
    mkdirSync(lab.leasePath);
    try {
      const first = await check(lab.node);
      assert.equal(first.code, 0, first.line);
      assert.match(first.line, /^fence-agent check: healthy BACKUP: no VIP, not mounted, no mysqld, fence read failing for \d+\.\d s \(tolerated up to 6\.0 s: /);
      const late = await waitFor('the tolerance to end', async () => {
        const c = await check(lab.node);
        return c.code === 1 ? c : null;
      }, 20_000, 500);
      assert.match(late.line, /UNHEALTHY BACKUP: fence probe failed: /);
    } finally {
      rmSync(lab.leasePath, { recursive: true, force: true });
    }
    const back = await check(lab.node);
    assert.equal(back.code, 0, back.line);
    assert.match(back.line, /healthy BACKUP: no VIP, not mounted, no mysqld, fence not held$/);
  });

  test('a notify storm with no daemon running starts exactly one daemon and ends in the last request, MASTER', async () => {
    await lab.addVip();
    const storm: Promise<unknown>[] = [];
    // first and last differ: a daemon that kept the first request (the one that started it) would end BACKUP
    for (const word of ['backup', 'master', 'backup', 'master']) {
      storm.push(lab.node.agent(['notify', word]));
      await delay(30);
    }
    await Promise.all(storm);
    await waitIdle(lab.node);
    await waitHealthy(lab.node, 'MASTER');
    await delay(500); // let any losing daemon finish exiting
    const daemons = daemonPids(lab.node);
    assert.equal(daemons.length, 1, `daemons: ${daemons.join(', ')}`);
    assert.equal(await mountCount(lab.node, lab.disk.device), 1);
    assert.equal(mysqldPids(lab.node).length, 1);
  });

  test('a daemon SIGKILLed mid-promotion and restarted reconciles to a healthy MASTER with no orphan mysqld', async () => {
    const daemon = lab.node.startDaemon();
    children.push(daemon);
    await waitIdle(lab.node);
    await lab.addVip();
    assert.equal((await lab.node.agent(['notify', 'master'])).exitCode, 0);
    await waitFor('promotion reaching mysqld.start', () => stateOf(lab.node)?.transition?.steps.some((s) => s.name === 'mysqld.start'), 30_000, 10);
    daemon.kill('SIGKILL');
    await waitFor('daemon gone', () => daemon.exitCode !== null || daemon.signalCode !== null, 5000);
    children.push(lab.node.startDaemon());
    await waitHealthy(lab.node, 'MASTER');
    await waitIdle(lab.node);
    assert.equal(mysqldPids(lab.node).length, 1, 'exactly one mysqld');
    assert.equal(await mountCount(lab.node, lab.disk.device), 1);
    const { report } = await status(lab.node);
    assert.equal(report.fence.held, true);
  });

  test('a daemon restarted on a mounted node that lost the VIP demotes it', async () => {
    await becomeMaster();
    const [daemonPid] = daemonPids(lab.node);
    assert.ok(daemonPid);
    process.kill(daemonPid, 'SIGKILL');
    await lab.delVip();
    children.push(lab.node.startDaemon());
    await waitHealthy(lab.node, 'BACKUP');
    assert.deepEqual(mysqldPids(lab.node), []);
    assert.equal(await mountCount(lab.node, lab.disk.device), 0);
  });

  test('SIGTERM to the daemon of a MASTER demotes the node before the daemon exits', async () => {
    const daemon = lab.node.startDaemon();
    children.push(daemon);
    await waitIdle(lab.node);
    // what contrib's unit waits for before keepalived may start: the daemon's pid, once started
    const ready = path.join(lab.node.runDir, 'daemon.ready');
    await waitFor('daemon.ready', () => existsSync(ready), 10_000, 50);
    assert.equal(readFileSync(ready, 'utf8').trim(), String(daemon.pid));
    await becomeMaster();
    const exited = new Promise<number | null>((resolve) => daemon.on('exit', (code) => resolve(code)));
    daemon.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(await mountCount(lab.node, lab.disk.device), 0, 'unmounted');
    assert.deepEqual(mysqldPids(lab.node), [], 'mysqld stopped');
    assert.equal(readLease()?.state, 'released', 'lease released');
    assert.deepEqual(lab.watchdogFires, [], 'the watchdog was disarmed after the verified unmount, not left to fire');
    assert.equal(existsSync(ready), false, 'daemon.ready removed when it stopped');
    const state = stateOf(lab.node);
    assert.equal(state?.daemon, null);
    assert.equal(state?.lastTransition?.desire.source, 'shutdown');
    assert.equal(state?.lastTransition?.outcome, 'ok');
  });

  test('with a watchdog, a daemon SIGKILLed on a MASTER and not restarted gets the node reset before the lease could go stale', async () => {
    await becomeMaster();
    const [daemonPid] = daemonPids(lab.node);
    assert.ok(daemonPid);
    const tenure = readLease();
    process.kill(daemonPid, 'SIGKILL');
    const killedAt = Date.now();
    await waitFor('the simulated watchdog fired', () => lab.watchdogFires.length > 0, 10_000, 20);
    const firedAfterMs = Date.now() - killedAt;
    assert.ok(firedAfterMs < LAB_LEASE.staleMs + LAB_LEASE.marginMs, `fired ${firedAfterMs} ms after the kill, before any takeover (S + M)`);
    assert.match(lab.watchdogFires[0] ?? '', /./);
    assert.deepEqual(mysqldPids(lab.node), [], 'the reset took mysqld');
    assert.equal(readLease()?.nonce, tenure?.nonce, 'the record was not touched: the peer decides by watching it go unchanged');
  });

  test('with a watchdog, a daemon SIGKILLed on a MASTER and started again opens the watchdog from the entry, adopts it, continues the dead daemon\'s lease tenure and keeps the node: no reset', async () => {
    await becomeMaster();
    const [daemonPid] = daemonPids(lab.node);
    const [mysqld] = mysqldPids(lab.node);
    assert.ok(daemonPid && mysqld);
    process.kill(daemonPid, 'SIGKILL');
    children.push(lab.node.startDaemon());
    await waitFor('the new daemon adopted the watchdog the entry opened', () => readFileSync(lab.node.logFile, 'utf8').includes('opened and petted by the entry before the daemon loaded, now adopted'), 10_000, 50);
    await waitIdle(lab.node);
    assert.match(readFileSync(lab.node.logFile, 'utf8'), /lease acquired \(left by this node's dead daemon \(pid \d+\)\): the dead daemon's tenure continued, written \d+ ms before its dead-by time/);
    await delay(LAB_WATCHDOG.timeoutMs + 1000);
    assert.deepEqual(lab.watchdogFires, [], 'no reset');
    assert.deepEqual(mysqldPids(lab.node), [mysqld], 'the same mysqld');
    const result = await check(lab.node);
    assert.equal(result.code, 0, result.line);
    assert.match(result.line, /healthy MASTER: VIP .* held, .* mounted on .*, mysqld pid \d+ answering SQL/);
  });

  test('without a watchdog, a daemon restarted on a MASTER whose lease the peer took meanwhile self-fences at once', async () => {
    await lab.destroy();
    lab = await createSingleNodeLab({ fence: 'lockfile-no-watchdog' });
    await becomeMaster();
    const [daemonPid] = daemonPids(lab.node);
    assert.ok(daemonPid);
    process.kill(daemonPid, 'SIGKILL');
    // the record stops changing; after S + M unchanged the peer takes it
    await peerHoldsLease(30_000, 100);
    children.push(lab.node.startDaemon());
    await waitFor('self-fenced: mysqld killed and disk unmounted', async () => mysqldPids(lab.node).length === 0 && (await mountCount(lab.node, lab.disk.device)) === 0, 30_000, 100);
    assert.match(stateOf(lab.node)?.selfFence?.reason ?? '', /disk in use at start-up but the fence could not be taken back/);
    const result = await check(lab.node);
    assert.equal(result.code, 1);
    assert.match(result.line, /FENCED: the fence was lost/);
    assert.equal(readLease()?.node, 'db2', 'the peer keeps its lease');
  });

  test('a promotion whose mysqld cannot start rolls back to a clean BACKUP', async () => {
    const config = JSON.parse(readFileSync(lab.node.configPath, 'utf8')) as { mysqld: { start: string[] } };
    config.mysqld.start = ['/bin/false'];
    lab.node.writeConfig(config);
    await lab.addVip();
    await lab.node.agent(['notify', 'master']);
    await waitFor('promotion finished', () => stateOf(lab.node)?.lastTransition?.kind === 'promote' && stateOf(lab.node)?.transition === null, 60_000);
    const last = stateOf(lab.node)?.lastTransition;
    assert.equal(last?.outcome, 'rolled-back');
    assert.match(last?.error ?? '', /\/bin\/false ended during start-up \(exit 1\)/);
    assert.deepEqual(
      last?.steps.map((s) => `${s.name}:${s.outcome}`),
      ['watchdog.arm:ok', 'fence.acquire:ok', 'mount:ok', 'mysqld.start:failed', 'rollback:mysqld.stop:skipped', 'rollback:unmount:ok', 'rollback:fence.release:ok'],
    );
    assert.equal(await mountCount(lab.node, lab.disk.device), 0);
    await lab.delVip();
    await waitHealthy(lab.node, 'BACKUP');
  });

  test('a promotion whose fence is held by the peer rolls back without mounting', async () => {
    await peerHoldsLease(20_000);
    await lab.addVip();
    await lab.node.agent(['notify', 'master']);
    await waitFor('promotion finished', () => stateOf(lab.node)?.lastTransition?.kind === 'promote' && stateOf(lab.node)?.transition === null, 30_000);
    const last = stateOf(lab.node)?.lastTransition;
    assert.equal(last?.outcome, 'rolled-back');
    assert.deepEqual(last?.steps.slice(0, 2).map((s) => `${s.name}:${s.outcome}`), ['watchdog.arm:ok', 'fence.acquire:failed']);
    assert.ok(!last?.steps.some((s) => s.name === 'mount'), 'never mounted');
    assert.equal(await mountCount(lab.node, lab.disk.device), 0);
    const result = await check(lab.node);
    assert.equal(result.code, 1, 'VIP held without the disk is unhealthy, so keepalived moves the VIP');
    assert.match(result.line, /not mounted/);
    assert.match(result.line, /fence not held \(lease .* held by db2/);
  });

  test('SIGTERM to a daemon in the middle of a promotion rolls the promotion back and exits without waiting out its deadline', async () => {
    await peerHoldsLease(30_000);
    const daemon = lab.node.startDaemon();
    children.push(daemon);
    await waitIdle(lab.node);
    await lab.addVip();
    await lab.node.agent(['notify', 'master']);
    // the promotion waits for the fence the peer holds (up to fenceAcquireMs)
    await waitFor('the promotion waiting for the fence', () => stateOf(lab.node)?.transition?.steps.at(-1)?.name === 'fence.acquire', 10_000, 50);
    const exited = new Promise<number | null>((resolve) => daemon.on('exit', (code) => resolve(code)));
    const termMono = monoNow();
    daemon.kill('SIGTERM');
    assert.equal(await exited, 0);
    const tookMs = monoNow() - termMono;
    assert.ok(tookMs < LAB_DEADLINES.fenceAcquireMs, `the daemon exited ${Math.round(tookMs)} ms after SIGTERM: not after the fence's ${LAB_DEADLINES.fenceAcquireMs} ms`);
    const last = stateOf(lab.node)?.lastTransition;
    assert.equal(last?.kind, 'promote');
    assert.equal(last?.outcome, 'rolled-back');
    assert.match(last?.error ?? '', /the daemon is stopping \(SIGTERM\)/);
    assert.equal(await mountCount(lab.node, lab.disk.device), 0, 'never mounted');
    assert.match(readFileSync(lab.node.logFile, 'utf8'), /daemon stopping during a promotion: rolling it back/);
  });

  test('a promotion still waiting for the fence stops when keepalived says BACKUP, without waiting out fenceAcquireMs', async () => {
    await peerHoldsLease(20_000);
    await lab.addVip();
    await lab.node.agent(['notify', 'master']);
    await waitFor('the promotion waits for the fence', () => stateOf(lab.node)?.transition?.steps.at(-1)?.name === 'fence.acquire', 10_000, 20);
    await lab.delVip();
    const backupAt = monoNow();
    await lab.node.agent(['notify', 'backup']);
    await waitFor('promotion finished', () => stateOf(lab.node)?.lastTransition?.kind === 'promote', 15_000, 20).catch((error: unknown) => {
      const last = stateOf(lab.node)?.lastTransition;
      throw new Error(`${(error as Error).message}; last transition ${last?.kind ?? 'none'} ${last?.outcome ?? ''} ${last?.error ?? ''}\n${logTail(lab.node, 30)}`, { cause: error });
    });
    const stoppedAfterMs = monoNow() - backupAt;
    const last = stateOf(lab.node)?.lastTransition;
    assert.equal(last?.outcome, 'rolled-back');
    assert.match(last?.error ?? '', /superseded by BACKUP from notify/);
    assert.ok(stoppedAfterMs < 5000, `stopped ${Math.round(stoppedAfterMs)} ms after the BACKUP notify (fenceAcquireMs 10000)`);
    assert.ok(!last?.steps.some((s) => s.name === 'mount'), 'never mounted');
    await waitHealthy(lab.node, 'BACKUP');
    assert.equal(readLease()?.node, 'db2', 'the peer keeps its lease');
  });

  test('the lockfile lease removed under a MASTER makes it self-fence and refuse MASTER until it has been a clean BACKUP', async () => {
    await becomeMaster();
    rmSync(lab.leasePath, { force: true });
    await waitFor('self-fence demotion done', () => {
      const state = stateOf(lab.node);
      return state?.selfFence !== null && state?.transition === null && state?.lastTransition?.desire && mysqldPids(lab.node).length === 0;
    }, 30_000);
    await waitFor('unmounted', async () => (await mountCount(lab.node, lab.disk.device)) === 0, 10_000);
    assert.deepEqual(mysqldPids(lab.node), []);
    const fenced = await check(lab.node);
    assert.equal(fenced.code, 1);
    assert.match(fenced.line, /FENCED: the fence was lost at \S+ \(the lease was taken: \S+ now is free\)/);
    // keepalived's tracked file went to 1 at the loss itself, not after `fall` verdicts
    assert.equal(readFileSync(path.join(lab.node.runDir, 'health'), 'utf8'), '1\n');
    assert.match(readFileSync(lab.node.logFile, 'utf8'), /health 1 for keepalived \(FAULT\) at once: UNHEALTHY: self-fencing \(the lease was taken/);
    assert.deepEqual(lab.watchdogFires, [], 'the self-fence verified the unmount before the watchdog fired');
    // keepalived still says MASTER: no promotion while the latch is set (no ping-pong)
    await lab.node.agent(['notify', 'INSTANCE', 'VI_1', 'MASTER', '100']);
    await waitIdle(lab.node);
    assert.equal(await mountCount(lab.node, lab.disk.device), 0);
    assert.match(readFileSync(lab.node.logFile, 'utf8'), /refusing to promote: self-fenced/);
    const vip = await lab.node.exec(['ip', '-br', 'addr', 'show', 'dev', lab.vip.interface]);
    assert.ok(!vip.stdout.includes(lab.vip.address), `the self-fence dropped the VIP: ${vip.stdout}`);
    // keepalived goes FAULT (check failed): clean BACKUP clears the latch; MASTER works again
    await lab.node.agent(['notify', 'INSTANCE', 'VI_1', 'FAULT', '100']);
    await waitHealthy(lab.node, 'BACKUP');
    assert.equal(stateOf(lab.node)?.selfFence, null);
    await becomeMaster();
  });

  test('a mysqld that would ignore SIGTERM is SIGKILLed at once when the fence is lost, not after its grace', async () => {
    await becomeMaster();
    const [pid] = mysqldPids(lab.node);
    assert.ok(pid !== undefined);
    // a stopped process acts on no SIGTERM (it stays pending); only SIGKILL ends it
    process.kill(pid, 'SIGSTOP');
    const lostAt = Date.now();
    rmSync(lab.leasePath, { force: true }); // the lease taken from under the MASTER
    await waitFor('mysqld gone', () => !mysqldPids(lab.node).includes(pid), 20_000, 20);
    const tookMs = Date.now() - lostAt;
    const { mysqldTermGraceMs } = LAB_DEADLINES;
    // SIGTERM first would end it only at the grace's end (a stopped process acts on no SIGTERM);
    // the bound is the grace itself, not a fraction: detecting the loss takes a refresh round, and
    // under a loaded full suite that once took more than a third of it
    assert.ok(tookMs < mysqldTermGraceMs, `mysqld gone ${tookMs} ms after the loss (its SIGTERM grace is ${mysqldTermGraceMs} ms)`);
    // the daemon logs the kill once it has seen the process gone, which can be after this test did
    await waitFor('the kill logged', () => /fence lost: mysqld SIGKILLed/.test(readFileSync(lab.node.logFile, 'utf8')), 5000);
    await waitFor('unmounted', async () => (await mountCount(lab.node, lab.disk.device)) === 0, 10_000);
    assert.doesNotMatch(readFileSync(lab.node.logFile, 'utf8'), /SIGTERM to mysqld/);
    assert.deepEqual(lab.watchdogFires, [], 'the self-fence completed before the watchdog fired');
  });

  test('check ends with exit 1 at its own deadline when a probe hangs', async () => {
    // A FIFO as the lease file: reading it blocks like a read from dead NFS.
    rmSync(lab.leasePath, { force: true });
    await sh(['mkfifo', lab.leasePath]);
    const started = Date.now();
    const result = await check(lab.node, ['--timeout-ms', '400']);
    assert.equal(result.code, 1, result.line);
    assert.match(result.line, /UNHEALTHY|no verdict/);
    assert.match(result.line, /fence/);
    assert.ok(Date.now() - started < 5000, 'check returned instead of hanging');
  });

  test('malformed notify arguments exit 2 and change nothing: lookalike spellings, a 100 kB argument (not echoed back)', async () => {
    await lab.addVip();
    const huge = 'x'.repeat(100_000);
    const malformed = [[], ['promote'], ['INSTANCE', 'VI_1', 'MASTER'], ['INSTANCE', 'VI_1', 'LEADER', '100'], ['INSTANCE', 'VI_1', 'MASTER', '999'], ['--bogus', 'master'], ['maſter'], ['Master'], ['INSTANCE', 'VI_1', 'Master', '100'], ['instance', 'VI_1', 'MASTER', '100'], [huge], ['INSTANCE', huge, 'MASTER', '100'], [`--${huge}`, 'master']];
    for (const args of malformed) {
      const ran = await lab.node.agent(['notify', ...args]);
      const shown = args.map((a) => (a.length > 20 ? `${a.slice(0, 20)}…` : a)).join(' ');
      assert.equal(ran.exitCode, 2, `notify ${shown}: ${ran.stderr.slice(0, 300)}`);
      assert.match(ran.stderr, /^fence-agent notify: .*usage: fence-agent notify/);
      assert.equal(ran.stderr.trim().split('\n').length, 1, 'one line');
      assert.ok(ran.stderr.length < 1000, `notify ${shown}: ${ran.stderr.length} characters of stderr`);
    }
    await delay(300);
    await assertUntouched();
  });

  test('bad configuration values exit 6 with one line naming the key, and change nothing', async () => {
    const good = readFileSync(lab.node.configPath, 'utf8');
    const cases: [(c: Record<string, any>) => void, RegExp][] = [
      [(c) => (c.vip.prefix = 40), /vip\.prefix: expected an integer 0\.\.32, got 40/],
      [(c) => (c.disk.mountpoint = 'data'), /disk\.mountpoint: expected an absolute, normalised path without a trailing slash, got "data"/],
      [(c) => (c.deadlines.mountMs = 'soon'), /deadlines\.mountMs: expected an integer/],
      [(c) => (c.fence.method = 'stonith'), /fence\.method: expected one of lockfile\|scsi-pr\|none, got "stonith"/],
      [(c) => (c.vip.adress = '10.0.0.1'), /unknown key vip\.adress/],
    ];
    await lab.addVip();
    for (const [mutate, message] of cases) {
      const config = JSON.parse(good) as Record<string, any>;
      mutate(config);
      lab.node.writeConfig(config);
      for (const args of [['notify', 'master'], ['check'], ['status'], ['config', 'check'], ['daemon']]) {
        const ran = await lab.node.agent(args, { timeoutMs: 10_000 });
        assert.equal(ran.exitCode, 6, `${args.join(' ')}: ${ran.stderr}`);
        assert.match(ran.stderr, message);
        assert.equal(ran.stderr.trim().split('\n').length, 1, `${args.join(' ')}: one line`);
      }
    }
    await assertUntouched();
  });

  test('a configuration holding a password that group or other can read is refused', async () => {
    const config = JSON.parse(readFileSync(lab.node.configPath, 'utf8')) as { mysqld: { health?: Record<string, string> } };
    config.mysqld.health = { user: 'monitor', password: 's3cret' };
    writeFileSync(lab.node.configPath, JSON.stringify(config));
    chmodSync(lab.node.configPath, 0o644);
    await lab.addVip();
    for (const args of [['notify', 'master'], ['check'], ['daemon'], ['config', 'check']]) {
      const ran = await lab.node.agent(args, { timeoutMs: 10_000 });
      assert.equal(ran.exitCode, 6, `${args.join(' ')}: ${ran.stderr}`);
      assert.match(ran.stderr, /readable by group\/other \(mode 0644\).*chmod 600/);
      assert.doesNotMatch(ran.stderr, /s3cret/);
    }
    await assertUntouched();
    chmodSync(lab.node.configPath, 0o600);
    const ok = await lab.node.agent(['config', 'check']);
    assert.equal(ok.exitCode, 0, ok.stderr);
    assert.match(ok.stdout, /"password": "\*\*\*"/);
    assert.doesNotMatch(ok.stdout, /s3cret/);
  });
});
