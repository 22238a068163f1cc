// The ten failure scenarios of the two-node lab (issue 3), end to end: real keepalived electing a
// MASTER and moving the VIP, the fence-agent daemons moving the shared disk and MariaDB, a client
// writing through the VIP the whole time. Each scenario asserts, through runScenario, that the
// invariants held at 20 Hz, every acknowledged row survived, and fsck -n is clean after lab down.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { CLI } from '../../lab/node.ts';
import { sh, shOk } from '../../lab/sh.ts';
import { delay, waitFor } from '../../lab/wait.ts';
import { check, daemonPids, mountCount, mysqldPids, stateOf } from '../helpers/agent.ts';
import { lastTransitionId, runScenario, waitAcks, waitMaster } from './harness.ts';

describe('two-node lab with real keepalived', () => {
  test('1. clean start: one healthy MASTER and one healthy BACKUP', async () => {
    await runScenario(async ({ master, backup }) => {
      assert.equal(master.name, 'db1', 'the higher priority node started first wins');
      const [m, b] = await Promise.all([check(master), check(backup)]);
      assert.equal(m.code, 0, m.line);
      assert.match(m.line, /healthy MASTER/);
      assert.equal(b.code, 0, b.line);
      assert.match(b.line, /healthy BACKUP/);
      return master;
    });
  });

  test('2. MASTER node crash (keepalived, daemon, mysqld SIGKILLed): the BACKUP takes over', async () => {
    await runScenario(async ({ lab, master, backup, ledger }) => {
      await lab.crash(master);
      const crashedAt = Date.now();
      await waitMaster(lab, backup);
      await waitFor('writes resume through the VIP', () => ledger.firstAckAfter(crashedAt) !== null, 60_000);
      return backup;
    });
  });

  test('3. mysqld crash on the MASTER: keepalived sees the check fail and fails over', async () => {
    await runScenario(async ({ lab, master, backup }) => {
      for (const pid of mysqldPids(master)) process.kill(pid, 'SIGKILL');
      await waitMaster(lab, backup);
      // the old MASTER went FAULT, demoted cleanly, and is a healthy BACKUP again
      await waitFor('old MASTER healthy BACKUP', async () => (await check(master)).line.includes('healthy BACKUP'), 60_000, 200);
      assert.equal(await mountCount(master, master.device), 0);
      return backup;
    });
  });

  test('3b. mysqld crash on the MASTER with a local restart policy: restarted in place, nothing moves', async () => {
    await runScenario(
      async ({ lab, master, ledger }) => {
        const [old] = mysqldPids(master);
        assert.ok(old);
        process.kill(old, 'SIGKILL');
        const crashedAt = Date.now();
        await waitFor('mysqld restarted in place', () => mysqldPids(master).some((pid) => pid !== old), 30_000, 50);
        await waitMaster(lab, master);
        await waitFor('writes resume', () => ledger.firstAckAfter(crashedAt) !== null, 30_000);
        assert.equal(await lab.vipHolder(), master, 'the VIP never moved');
        assert.equal(stateOf(master)?.lastTransition?.reason, 'mysqld-restart');
        return master;
      },
      { mysqldRestartAttempts: 2 },
    );
  });

  test('4. planned switchover: keepalived stopped on the MASTER hands over cleanly', async () => {
    await runScenario(async ({ lab, master, backup }) => {
      await lab.stopKeepalived(master);
      await waitMaster(lab, backup);
      await waitFor('old MASTER demoted', async () => (await check(master)).line.includes('healthy BACKUP'), 30_000, 200);
      const last = stateOf(master)?.lastTransition;
      assert.equal(last?.kind, 'demote');
      assert.equal(last?.outcome, 'ok');
      lab.startKeepalived(master);
      await lab.waitConverged();
      return backup;
    });
  });

  test('5. keepalived restarted on the BACKUP: nothing moves', async () => {
    await runScenario(async ({ lab, master, backup, ledger }) => {
      const before = lastTransitionId(master);
      await lab.stopKeepalived(backup);
      lab.startKeepalived(backup);
      await delay(6000); // several advert intervals and check rounds
      await lab.waitConverged();
      assert.equal(await lab.vipHolder(), master, 'the VIP stayed');
      assert.equal(lastTransitionId(master), before, 'the MASTER ran no transition');
      await waitAcks(ledger, 5);
      return master;
    });
  });

  test('6. a notify burst delivered out of order on the BACKUP ends in its last VRRP state', async () => {
    await runScenario(async ({ lab, master, backup }) => {
      const env = { ...process.env, FENCE_AGENT_CONFIG: backup.configPath };
      const enter = ['nsenter', `--net=/run/netns/${backup.netns}`, `--mount=${backup.mntnsFile}`, '--'];
      const notify = (state: string) => spawn(enter[0] as string, [...enter.slice(1), process.execPath, CLI, 'notify', 'INSTANCE', 'VI_1', state, '100'], { env, stdio: 'ignore' });
      const exit = (child: ReturnType<typeof notify>) => new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      // keepalived forked MASTER first, then BACKUP; the MASTER notify is descheduled (SIGSTOP)
      // and delivered last. The daemon must end in BACKUP, the state of the last transition.
      const early = notify('MASTER');
      const earlyExit = exit(early);
      await new Promise((resolve) => early.once('spawn', resolve));
      early.kill('SIGSTOP');
      await delay(100);
      const fault = notify('FAULT');
      assert.equal(await exit(fault), 0);
      const late = notify('BACKUP');
      assert.equal(await exit(late), 0);
      early.kill('SIGCONT');
      assert.equal(await earlyExit, 0);
      await delay(2000);
      await waitFor('backup daemon idle', () => stateOf(backup)?.transition === null, 30_000);
      assert.equal(stateOf(backup)?.desired?.vrrpState, 'BACKUP');
      assert.match(readFileSync(backup.logFile, 'utf8'), /older than the request already applied, skipped: MASTER from notify|superseded before it started, skipped: MASTER from notify/);
      assert.equal(await mountCount(backup, backup.device), 0);
      assert.equal(await lab.vipHolder(), master);
      return master;
    });
  });

  test('7. the daemon SIGKILLed on the new MASTER mid-promotion recovers to a healthy MASTER', async () => {
    await runScenario(async ({ lab, master, backup }) => {
      await lab.crash(master);
      await waitFor('promotion on the BACKUP reaching mysqld.start', () => stateOf(backup)?.transition?.steps.some((s) => s.name === 'mysqld.start'), 60_000, 10);
      const daemons = daemonPids(backup);
      assert.equal(daemons.length, 1, `daemon processes: ${daemons.join(', ')}`);
      process.kill(daemons[0] as number, 'SIGKILL');
      backup.startDaemon();
      await waitMaster(lab, backup);
      assert.equal(mysqldPids(backup).length, 1, 'one mysqld, no orphan');
      return backup;
    });
  });

  test('8. a process holding a file open on the old MASTER\'s mountpoint is signalled during demotion', async () => {
    await runScenario(async ({ lab, master, backup }) => {
      const holder = master.spawn(['sh', '-c', `exec 3<${path.join(lab.mountpoint, 'mysql', 'ibdata1')}; trap '' TERM; exec sleep 1000`]);
      const exited = new Promise<NodeJS.Signals | null>((resolve) => holder.once('exit', (_code, signal) => resolve(signal)));
      await waitFor('holder running', () => master.pidsNamed('sleep').length >= 2, 5000); // anchor + holder
      await lab.stopKeepalived(master);
      await waitMaster(lab, backup);
      assert.equal(await exited, 'SIGKILL', 'it ignored SIGTERM, so it got SIGKILL');
      assert.equal(await mountCount(master, master.device), 0);
      assert.match(readFileSync(master.logFile, 'utf8'), /mountpoint busy, signalling its users/);
      lab.startKeepalived(master);
      await lab.waitConverged();
      return backup;
    });
  });

  test('9. the old MASTER comes back as a healthy BACKUP, no ping-pong', async () => {
    await runScenario(async ({ lab, master, backup }) => {
      await lab.crash(master);
      await waitMaster(lab, backup);
      await delay(3000); // keepalived's notify and notify_fifo both deliver MASTER: let both land
      const settled = lastTransitionId(backup);
      await lab.revive(master);
      await waitFor('revived node healthy BACKUP', async () => (await check(master)).line.includes('healthy BACKUP'), 60_000, 200);
      await delay(8000);
      assert.equal(await lab.vipHolder(), backup, 'the VIP stayed on the new MASTER');
      assert.equal(lastTransitionId(backup), settled, 'the new MASTER ran no transition');
      await lab.waitConverged();
      return backup;
    });
  });

  test('10. the VRRP link cut while both nodes see the disk: at most one node ever has it mounted', async () => {
    await runScenario(async ({ lab, master, backup, monitor }) => {
      // Detach the MASTER's port from the bridge: its link stays up, VRRP adverts stop arriving,
      // and both nodes consider themselves MASTER. Only the fence keeps the disk single-writer.
      monitor.expectSingleVip = false;
      await shOk(['ip', '-n', lab.lanNetns, 'link', 'set', `v-${master.name}`, 'nomaster']);
      await waitFor('the BACKUP tries to promote', () => stateOf(backup)?.lastTransition?.kind === 'promote' || stateOf(backup)?.transition?.kind === 'promote', 30_000, 50);
      await waitFor('its promotion is refused by the fence and rolled back', () => stateOf(backup)?.lastTransition?.outcome === 'rolled-back', 60_000, 100);
      assert.equal(await mountCount(backup, backup.device), 0);
      assert.equal(stateOf(backup)?.lastTransition?.steps.find((step) => step.name === 'fence.acquire')?.outcome, 'failed');
      await shOk(['ip', '-n', lab.lanNetns, 'link', 'set', `v-${master.name}`, 'master', 'br0']);
      const { master: after } = await lab.waitConverged();
      monitor.expectSingleVip = true;
      await sh(['true']);
      return after;
    });
  });
});
