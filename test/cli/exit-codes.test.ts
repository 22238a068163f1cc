// Exit paths of the built CLI (dist/cli.cjs), spawned for real: exit codes and the one stderr
// line. Nothing here needs a namespace, a disk or MariaDB.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { CLI } from '../../lab/node.ts';
import { sh } from '../../lab/sh.ts';
import { scratchDir } from '../helpers/scratch.ts';
import { writeState } from '../../src/state.ts';
import { bootId } from '../../src/proc.ts';
import { monoNow } from '../../src/clock.ts';

const { dir } = scratchDir('cli');

const missingConfig = path.join(dir, 'missing.json');
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  sh([process.execPath, CLI, ...args], { env: { ...process.env, FENCE_AGENT_CONFIG: missingConfig, ...env } });

function writeConfig(name: string, config: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  return file;
}

const minimal = {
  node: 'db1',
  vip: { address: '10.77.0.10', prefix: 24, interface: 'vip0' },
  disk: { device: '/dev/loop7', mountpoint: '/srv/fa-cli-test-data' },
  mysqld: { start: ['/usr/sbin/mariadbd'], pidFile: path.join(dir, 'mysqld.pid'), socket: path.join(dir, 'mysqld.sock') },
  fence: { method: 'none' },
  runDir: path.join(dir, 'run'),
  stateDir: path.join(dir, 'state'),
};

describe('fence-agent exit codes', () => {
  test('--help lists every command and exits 0', async () => {
    const ran = await cli(['--help']);
    assert.equal(ran.exitCode, 0, ran.stderr);
    for (const command of ['check', 'notify', 'daemon', 'status', 'config', 'history']) assert.match(ran.stdout, new RegExp(`fence-agent ${command}`));
  });

  test('no command is a usage error: exit 2', async () => {
    const ran = await cli([]);
    assert.equal(ran.exitCode, 2);
    assert.match(ran.stderr, /no command given/);
  });

  test('an unknown command is a usage error: exit 2', async () => {
    const ran = await cli(['promote-everything']);
    assert.equal(ran.exitCode, 2);
    assert.match(ran.stderr, /Unknown argument: promote-everything/);
  });

  test('check with an unknown option exits 2 with its usage', async () => {
    const ran = await cli(['check', '--bogus']);
    assert.equal(ran.exitCode, 2);
    assert.match(ran.stderr, /^fence-agent check: .*bogus.*; usage: fence-agent check/);
  });

  test('doctor with --peer-timeout-ms out of range, or without --peer, exits 2 with one line', async () => {
    const short = await cli(['doctor', '--peer', 'db2', '--peer-timeout-ms', '5']);
    assert.equal(short.exitCode, 2);
    assert.equal(short.stderr, 'fence-agent doctor: --peer-timeout-ms: expected an integer 1000..600000 (ms), got 5');
    const alone = await cli(['doctor', '--peer-timeout-ms', '60000']);
    assert.equal(alone.exitCode, 2);
    assert.equal(alone.stderr, 'fence-agent doctor: --peer-timeout-ms goes with --peer');
  });

  test('history with a bad --limit exits 2 in one line before reading any configuration; with a missing configuration, 6', async () => {
    const bad = await cli(['history', '--limit', 'abc', '--config', missingConfig]);
    assert.equal(bad.exitCode, 2, bad.stderr);
    assert.equal(bad.stderr.trim(), 'fence-agent history: --limit: expected an integer 1..100000, got "abc"');
    const missing = await cli(['history', '--config', missingConfig]);
    assert.equal(missing.exitCode, 6, missing.stderr);
    assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
  });

  test('check with a malformed --timeout-ms exits 2', async () => {
    const ran = await cli(['check', '--timeout-ms', 'soon']);
    assert.equal(ran.exitCode, 2);
    assert.match(ran.stderr, /--timeout-ms: expected milliseconds/);
  });

  test('check that runs out of its own deadline fails and says where it was stuck, in the agent log once per change', async () => {
    // the lease is a FIFO nobody writes to: reading it blocks, as a hung NFS read does
    const fifoDir = path.join(dir, 'stuck');
    mkdirSync(fifoDir, { recursive: true });
    const lease = path.join(fifoDir, 'lease');
    await sh(['mkfifo', lease]);
    const logFile = path.join(fifoDir, 'agent.log');
    const file = writeConfig('stuck-lease.json', { ...minimal, fence: { method: 'lockfile', path: lease, allowLocalLease: true, allowNoWatchdog: true }, runDir: path.join(fifoDir, 'run'), log: { destination: logFile } });
    mkdirSync(path.join(fifoDir, 'run'), { recursive: true });
    for (let i = 0; i < 2; i++) {
      // 10 ms: shorter than the probes' own bound (50 ms at least), so the deadline ends it first
      const ran = await cli(['check', '--config', file, '--timeout-ms', '10']);
      assert.notEqual(ran.exitCode, 0);
      assert.match(ran.stderr, /UNHEALTHY: no verdict within 10 ms \(stuck probing VIP, mount, mysqld and fence\)/);
    }
    const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { level: number; cmd: string; msg: string });
    assert.deepEqual(lines.map((l) => [l.level, l.cmd, l.msg]), [[40, 'check', 'UNHEALTHY: no verdict within 10 ms (stuck probing VIP, mount, mysqld and fence)']], 'logged once for two timeouts in a row');
  });

  test('status and check whose mysqld pid file hangs (a FIFO nobody writes) give their verdict within the probe deadline and end by SIGKILL instead of hanging in exit', async () => {
    // a read of the FIFO blocks in libuv's threadpool, as a read on hung storage does; a normal
    // exit would join that thread forever
    const hangDir = path.join(dir, 'stuck-pid-file');
    mkdirSync(path.join(hangDir, 'run'), { recursive: true });
    const pidFile = path.join(hangDir, 'mysqld.pid');
    await sh(['mkfifo', pidFile]);
    const file = writeConfig('stuck-pid-file.json', { ...minimal, mysqld: { ...minimal.mysqld, pidFile }, runDir: path.join(hangDir, 'run'), stateDir: path.join(hangDir, 'state'), deadlines: { checkMs: 300 }, log: { destination: path.join(hangDir, 'agent.log') } });
    const { execa } = await import('execa');
    const status = await execa(process.execPath, [CLI, 'status', '--json', '--config', file], { reject: false, timeout: 60_000 });
    assert.equal(status.timedOut, false, 'status hung');
    assert.equal(status.signal, 'SIGKILL', `status ended by ${status.signal ?? `exit ${status.exitCode}`}: ${status.stderr}`);
    const report = JSON.parse(status.stdout) as { healthy: boolean | null; mysqld: { error: string | null }; durationMs: number };
    assert.equal(report.healthy, null, 'cannot tell');
    assert.equal(report.mysqld.error, 'mysqld probe did not finish within 300 ms');
    assert.ok(report.durationMs >= 300 && report.durationMs < 10_000, `durationMs ${report.durationMs}`);
    const check = await execa(process.execPath, [CLI, 'check', '--config', file], { reject: false, timeout: 60_000 });
    assert.equal(check.timedOut, false, 'check hung');
    assert.equal(check.signal, 'SIGKILL', `check ended by ${check.signal ?? `exit ${check.exitCode}`}: ${check.stderr}`);
    // check's probes get what is left of its own deadline (checkMs) in whole ms
    assert.match(check.stderr, /^fence-agent check: UNHEALTHY BACKUP: mysqld probe failed: mysqld probe did not finish within \d+ ms/);
  });

  test('check during a transition within its deadline answers from the state file and the VIP, without touching the lease', async () => {
    const stuckDir = path.join(dir, 'stuck-transition');
    mkdirSync(path.join(stuckDir, 'run'), { recursive: true });
    const lease = path.join(stuckDir, 'lease');
    await sh(['mkfifo', lease]);
    const stateDir = path.join(stuckDir, 'state');
    const file = writeConfig('stuck-transition.json', { ...minimal, fence: { method: 'lockfile', path: lease, allowLocalLease: true, allowNoWatchdog: true }, runDir: path.join(stuckDir, 'run'), stateDir, log: { destination: path.join(stuckDir, 'agent.log') } });
    const desire = { vrrpState: 'MASTER' as const, source: 'notify', issuedAt: Date.now() };
    writeState(stateDir, {
      version: 1, node: 'db1', bootId: bootId(), daemon: { pid: process.pid, startedAt: new Date().toISOString() }, desired: desire, keepalivedState: 'MASTER', role: 'BACKUP',
      transition: { id: 't-1', kind: 'promote', reason: 'notify', desire, startedAt: new Date().toISOString(), startedMono: monoNow(), deadlineMs: 60_000, endedAt: null, durationMs: null, outcome: null, error: null, steps: [] },
      lastTransition: null, selfFence: null, watchdog: null, updatedAt: new Date().toISOString(),
    });
    // the lease is a FIFO nobody writes to: a read of it would hang past the 2 s deadline
    const ran = await cli(['check', '--config', file, '--timeout-ms', '2000']);
    assert.equal(ran.exitCode, 0, ran.stderr);
    assert.match(ran.stderr, /^fence-agent check: healthy BACKUP: promote in progress \(step starting, [\d.]+ s of 60\.0 s\)$/);
  });

  test('config check refuses a lease on a local filesystem with exit 6, naming the directory and the filesystem type', async () => {
    const leaseDir = path.join(dir, 'local-lease');
    mkdirSync(leaseDir, { recursive: true });
    const fifo = path.join(dir, 'wd-local');
    await sh(['mkfifo', fifo]);
    const config = writeConfig('lease-local.json', { ...minimal, fence: { method: 'lockfile', path: path.join(leaseDir, 'lease'), watchdog: { device: fifo, timeoutMs: 5000 } } });
    const ran = await cli(['config', 'check', '--config', config]);
    assert.equal(ran.exitCode, 6, ran.stderr);
    assert.match(ran.stderr, new RegExp(`fence\\.path: the lease directory ${leaseDir} is on .*f_type 0x[0-9a-f]+, which the peer cannot see`));
  });

  test('config check accepts a local lease only with fence.allowLocalLease, and warns about it and about a simulated watchdog', async () => {
    const leaseDir = path.join(dir, 'local-lease-ok');
    mkdirSync(leaseDir, { recursive: true });
    const fifo = path.join(dir, 'wd-ok');
    await sh(['mkfifo', fifo]);
    const config = writeConfig('lease-local-ok.json', { ...minimal, fence: { method: 'lockfile', path: path.join(leaseDir, 'lease'), watchdog: { device: fifo, timeoutMs: 5000 }, allowLocalLease: true } });
    const ran = await cli(['config', 'check', '--config', config]);
    assert.equal(ran.exitCode, 0, ran.stderr);
    assert.match(ran.stderr, /warning: the lease directory .* accepted only because fence\.allowLocalLease is set/);
    assert.match(ran.stderr, /warning: watchdog .* is a FIFO: the labs' SIMULATED watchdog/);
  });

  test('config check refuses a watchdog device that does not exist with exit 6, never opening anything', async () => {
    const leaseDir = path.join(dir, 'local-lease-wd');
    mkdirSync(leaseDir, { recursive: true });
    const config = writeConfig('lease-nowd.json', { ...minimal, fence: { method: 'lockfile', path: path.join(leaseDir, 'lease'), watchdog: { device: path.join(dir, 'no-such-watchdog'), timeoutMs: 5000 }, allowLocalLease: true } });
    const ran = await cli(['config', 'check', '--config', config]);
    assert.equal(ran.exitCode, 6, ran.stderr);
    assert.match(ran.stderr, /no-such-watchdog/);
  });

  test('config check refuses lockfile fencing without a watchdog unless fence.allowNoWatchdog, and warns while it is set', async () => {
    const leaseDir = path.join(dir, 'local-lease-nowd');
    mkdirSync(leaseDir, { recursive: true });
    const without = writeConfig('lease-without-wd.json', { ...minimal, fence: { method: 'lockfile', path: path.join(leaseDir, 'lease'), allowLocalLease: true } });
    const refused = await cli(['config', 'check', '--config', without]);
    assert.equal(refused.exitCode, 6);
    assert.match(refused.stderr, /fence\.watchdog: required for lockfile fencing/);
    const allowed = writeConfig('lease-allow-nowd.json', { ...minimal, fence: { method: 'lockfile', path: path.join(leaseDir, 'lease'), allowLocalLease: true, allowNoWatchdog: true } });
    const ran = await cli(['config', 'check', '--config', allowed]);
    assert.equal(ran.exitCode, 0, ran.stderr);
    assert.match(ran.stderr, /warning: no watchdog \(fence\.allowNoWatchdog\)/);
  });

  test('config check refuses scsi-pr on a device that is no block device, on a loop device (not SCSI), and on a filesystem other than ext4, with exit 6', async () => {
    const notBlock = await cli(['config', 'check', '--config', writeConfig('pr-null.json', { ...minimal, fence: { method: 'scsi-pr', device: '/dev/null' } })]);
    assert.equal(notBlock.exitCode, 6, notBlock.stderr);
    assert.match(notBlock.stderr, /fence device \/dev\/null \(\/dev\/null\) is not a block device the kernel lists in \/sys\/class\/block$/m);
    const image = path.join(dir, 'pr-loop.img');
    writeFileSync(image, Buffer.alloc(1 << 20));
    const loop = (await sh(['losetup', '--find', '--show', image])).stdout.trim();
    assert.match(loop, /^\/dev\/loop\d+$/);
    try {
      const notScsi = await cli(['config', 'check', '--config', writeConfig('pr-loop.json', { ...minimal, fence: { method: 'scsi-pr', device: loop } })]);
      assert.equal(notScsi.exitCode, 6, notScsi.stderr);
      assert.match(notScsi.stderr, new RegExp(`fence device ${loop} \\(${path.basename(loop)}\\) is not a SCSI device: persistent reservations need a SCSI LU`));
    } finally {
      await sh(['losetup', '-d', loop]);
    }
    const xfs = await cli(['config', 'check', '--config', writeConfig('pr-xfs.json', { ...minimal, disk: { ...minimal.disk, fstype: 'xfs' }, fence: { method: 'scsi-pr' } })]);
    assert.equal(xfs.exitCode, 6, xfs.stderr);
    assert.match(xfs.stderr, /fence\.method scsi-pr needs disk\.fstype ext4 \(its multi-mount protection is the holder's heartbeat\), not xfs/);
    assert.equal(xfs.stderr.trim().split('\n').length, 1, xfs.stderr);
  });

  test('check, notify, status, daemon and config check exit 6 on a missing configuration, in one line', async () => {
    for (const args of [['check'], ['notify', 'master'], ['status'], ['status', '--json'], ['daemon'], ['config', 'check']]) {
      const ran = await cli(args);
      assert.equal(ran.exitCode, 6, `${args.join(' ')}: ${ran.stderr}`);
      assert.equal(ran.stderr.trim(), `fence-agent ${args[0] === 'config' ? 'config check' : args[0]}: config ${missingConfig}: cannot read it (ENOENT)`);
    }
  });

  test('notify rejects malformed arguments with exit 2 before reading any configuration', async () => {
    const ran = await cli(['notify', 'INSTANCE', 'VI_1', 'MASTER']);
    assert.equal(ran.exitCode, 2);
    assert.match(ran.stderr, /expected 1 or 4 arguments, got 3/);
  });

  test('every command refuses a configuration others may write with exit 6, in one line naming the mode and the fix', async () => {
    const file = writeConfig('world-writable.json', minimal);
    chmodSync(file, 0o666);
    for (const args of [['check'], ['notify', 'master'], ['status', '--json'], ['daemon'], ['config', 'check']]) {
      const ran = await cli([...args, '--config', file]);
      assert.equal(ran.exitCode, 6, `${args.join(' ')}: ${ran.stderr}`);
      assert.equal(ran.stderr.trim().split('\n').length, 1, `${args.join(' ')}: one line`);
      assert.match(ran.stderr, new RegExp(`config ${file}: not trusted: ${file} is writable by group or other \\(mode 0666\\); expected no group/other write: chmod go-w ${file}$`, 'm'));
    }
  });

  test('--config wins over FENCE_AGENT_CONFIG', async () => {
    const file = writeConfig('good.json', minimal);
    const ran = await cli(['config', 'check', '--config', file]);
    assert.equal(ran.exitCode, 0, ran.stderr);
    assert.equal((JSON.parse(ran.stdout) as { configPath: string }).configPath, file);
  });

  test('config check prints the resolved configuration with defaults and warns about fence method none', async () => {
    const file = writeConfig('none.json', minimal);
    const ran = await cli(['config', 'check'], { FENCE_AGENT_CONFIG: file });
    assert.equal(ran.exitCode, 0, ran.stderr);
    const resolved = JSON.parse(ran.stdout) as { deadlines: { checkMs: number }; disk: { fstype: string } };
    assert.equal(resolved.deadlines.checkMs, 1500);
    assert.equal(resolved.disk.fstype, 'ext4');
    assert.match(ran.stderr, /warning: fence method "none": the shared disk is NOT protected/);
  });

  test('notify for another VRRP instance is ignored with exit 0', async () => {
    const file = writeConfig('instance.json', { ...minimal, keepalived: { instance: 'VI_DB' } });
    const ran = await cli(['notify', 'INSTANCE', 'VI_WEB', 'MASTER', '100'], { FENCE_AGENT_CONFIG: file });
    assert.equal(ran.exitCode, 0, ran.stderr);
    assert.match(ran.stderr, /ignored: INSTANCE "VI_WEB" is not the configured instance VI_DB/);
  });

  test('notify backup hands its request over again when the daemon answers after notifyMs; notify stop gives up at notifyMs, leaves its request for the daemon and says so in the agent log', async () => {
    const runDir = path.join(dir, 'slow-daemon-run');
    const stateDir = path.join(dir, 'slow-daemon-state');
    const logFile = path.join(dir, 'slow-daemon.log');
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const file = writeConfig('slow-daemon.json', { ...minimal, runDir, stateDir, log: { destination: logFile } });
    mkdirSync(runDir, { recursive: true, mode: 0o700 });
    // a daemon too busy to answer its first connection in time, answering every later one
    const connections: string[] = [];
    const server = createServer((socket) => {
      socket.setEncoding('utf8');
      socket.on('error', () => undefined);
      socket.once('data', (line: string) => {
        connections.push(line);
        if (connections.length > 1) socket.end(`${JSON.stringify({ ok: true, op: 'desire', queued: 1 })}\n`);
      });
    });
    await new Promise<void>((resolve) => server.listen(path.join(runDir, 'control.sock'), resolve));
    try {
      const backup = await cli(['notify', 'backup', '--config', file]);
      assert.equal(backup.exitCode, 0, backup.stderr);
      assert.match(backup.stderr, /BACKUP handed to the daemon/);
      assert.equal(connections.length, 2, 'asked again after the first attempt got no answer');
      assert.equal(JSON.parse(connections[0] ?? '{}').desire.issuedAt, JSON.parse(connections[1] ?? '{}').desire.issuedAt, 'the same request (a repeat the daemon skips)');
      connections.length = 0;
      server.removeAllListeners('connection');
      server.on('connection', (socket) => {
        socket.on('error', () => undefined);
        socket.once('data', (line: Buffer) => connections.push(line.toString()));
      });
      const stop = await cli(['notify', 'stop', '--config', file]);
      assert.equal(stop.exitCode, 1, stop.stderr);
      assert.match(stop.stderr, new RegExp(`^fence-agent notify: STOP not handed to the daemon \\(no answer from .*control\\.sock within 700 ms \\(ETIMEDOUT\\)\\); recorded in ${stateDir}/desired\\.json for the daemon to take up$`));
      assert.equal(connections.length, 1, 'keepalived kills STOP notifies after ~1 s: one attempt within notifyMs');
      const recorded = JSON.parse(readFileSync(path.join(stateDir, 'desired.json'), 'utf8')) as { vrrpState: string; source: string; issuedAt: number };
      assert.equal(recorded.vrrpState, 'STOP');
      assert.equal(recorded.issuedAt, JSON.parse(connections[0] ?? '{}').desire.issuedAt, 'the request it tried to hand over');
      const logged = readFileSync(logFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { level: number; cmd: string; msg: string });
      assert.deepEqual(logged.map((l) => [l.level, l.cmd]), [[40, 'notify']], 'one warning in the agent log (keepalived discards stderr)');
      assert.match(logged[0]?.msg ?? '', /^STOP not handed to the daemon/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('an unknown option stops the command before it runs: exit 2', async () => {
    const file = writeConfig('bogus-option.json', minimal);
    for (const args of [['status', '--bogus'], ['config', 'check', '--bogus'], ['config', 'keepalived', '--bogus']]) {
      const ran = await cli([...args, '--config', file]);
      assert.equal(ran.exitCode, 2, `${args.join(' ')}: ${ran.stderr}`);
      assert.equal(ran.stdout, '');
      assert.match(ran.stderr, /^fence-agent: Unknown argument: bogus\n/);
    }
  });

  test('config keepalived prints keepalived.conf with the configuration path in the check and notify lines', async () => {
    const file = writeConfig('keepalived.json', { ...minimal, keepalived: { instance: 'VI_DB' } });
    const ran = await cli(['config', 'keepalived', '--config', file, '--interface', 'eth0', '--router-id', '51', '--priority', '150', '--src', '10.77.0.1', '--peer', '10.77.0.2', '--garp-refresh', '2']);
    assert.equal(ran.exitCode, 0, ran.stderr);
    assert.equal(ran.stderr, '');
    assert.match(ran.stdout, new RegExp(`^    script "/usr/local/bin/fence-agent check --config ${file}"$`, 'm'));
    assert.match(ran.stdout, new RegExp(`^    notify "/usr/local/bin/fence-agent notify --config ${file}"$`, 'm'));
    assert.match(ran.stdout, /^vrrp_instance VI_DB \{$/m);
    assert.match(ran.stdout, /^ {4}router_id db1$/m);
    assert.match(ran.stdout, /^ {8}10\.77\.0\.10\/24 dev vip0$/m);
    assert.match(ran.stdout, /^ {4}unicast_peer \{\n {8}10\.77\.0\.2\n {4}\}$/m);
  });

  test('config keepalived takes the agent command from --agent-command', async () => {
    const file = writeConfig('keepalived-agent.json', minimal);
    const ran = await cli(['config', 'keepalived', '--config', file, '--interface', 'eth0', '--router-id', '51', '--priority', '100', '--agent-command', '/usr/bin/node /opt/fa/dist/cli.cjs']);
    assert.equal(ran.exitCode, 0, ran.stderr);
    assert.match(ran.stdout, new RegExp(`script "/usr/bin/node /opt/fa/dist/cli.cjs check --config ${file}"`));
  });

  test('config keepalived with a missing or malformed flag exits 2 in one line, before reading any configuration', async () => {
    const cases: [string[], RegExp][] = [
      [['--router-id', '51', '--priority', '150'], /--interface: expected an interface name \(at most 15 bytes\), got nothing/],
      [['--interface', 'eth0', '--priority', '150'], /--router-id: expected an integer 1\.\.255, got nothing/],
      [['--interface', 'eth0', '--router-id', 'fifty', '--priority', '150'], /--router-id: expected an integer 1\.\.255, got "fifty"/],
      [['--interface', 'eth0', '--router-id', '51', '--priority', '255'], /--priority: expected an integer 1\.\.254, got 255/],
      [['--interface', 'eth0', '--router-id', '51', '--priority', '150', '--peer', 'db2'], /--peer: expected an IPv4 or IPv6 address, got "db2"/],
      [['--interface', 'eth0', '--router-id', '51', '--priority', '150', '--garp-refresh', '0'], /--garp-refresh: expected whole seconds 1\.\.86400, got 0/],
      [['--interface', 'eth0', '--router-id', '51', '--priority', '150', '--agent-command', 'fence-agent'], /--agent-command: expected an absolute path/],
    ];
    for (const [flags, pattern] of cases) {
      const ran = await cli(['config', 'keepalived', ...flags]); // FENCE_AGENT_CONFIG points at a missing file
      assert.equal(ran.exitCode, 2, `${flags.join(' ')}: ${ran.stderr}`);
      assert.equal(ran.stdout, '');
      assert.equal(ran.stderr.split('\n').filter(Boolean).length, 1, ran.stderr);
      assert.match(ran.stderr, /^fence-agent config keepalived: /);
      assert.match(ran.stderr, pattern);
      assert.match(ran.stderr, /; usage: fence-agent config keepalived --interface IF/);
    }
  });

  test('config keepalived refuses a unicast address of the other family than the VIP with exit 2', async () => {
    const file = writeConfig('keepalived-family.json', minimal);
    const ran = await cli(['config', 'keepalived', '--config', file, '--interface', 'eth0', '--router-id', '51', '--priority', '150', '--src', 'fd00::1']);
    assert.equal(ran.exitCode, 2, ran.stderr);
    assert.match(ran.stderr, /^fence-agent config keepalived: --src: expected an IPv4 address \(the VIP's family\), got "fd00::1"; usage: /);
  });

  test('config keepalived exits 6 on a missing configuration, in one line', async () => {
    const ran = await cli(['config', 'keepalived', '--interface', 'eth0', '--router-id', '51', '--priority', '150']);
    assert.equal(ran.exitCode, 6, ran.stderr);
    assert.equal(ran.stderr.trim(), `fence-agent config keepalived: config ${missingConfig}: cannot read it (ENOENT)`);
  });

  test('config keepalived exits 6 when the check timing is not whole seconds', async () => {
    const file = writeConfig('keepalived-subsecond.json', { ...minimal, deadlines: { checkMs: 1000 }, keepalived: { checkIntervalMs: 1500, checkTimeoutMs: 1500 } });
    const ran = await cli(['config', 'keepalived', '--config', file, '--interface', 'eth0', '--router-id', '51', '--priority', '150']);
    assert.equal(ran.exitCode, 6, ran.stderr);
    assert.equal(ran.stdout, '');
    assert.match(ran.stderr, /^fence-agent config keepalived: config .*: keepalived\.checkIntervalMs: expected whole seconds in ms .*, got 1500$/);
  });

  test('config check refuses the flags of config keepalived with exit 2', async () => {
    const file = writeConfig('check-stray.json', minimal);
    const ran = await cli(['config', 'check', '--config', file, '--interface', 'eth0']);
    assert.equal(ran.exitCode, 2, ran.stderr);
    assert.equal(ran.stderr.trim(), 'fence-agent config check: --interface belongs to config keepalived');
  });
});
