import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_DEADLINES, DEFAULT_KEEPALIVED_CHECK, minimumMarginMs, resolveConfig } from '../../../src/config/schema.ts';
import { FenceAgentError } from '../../../src/errors.ts';

const CONFIG_PATH = '/etc/fence-agent/config.json';

type Raw = Record<string, unknown>;

/** The smallest configuration resolveConfig accepts; a fresh copy every call. */
const minimal = (): Raw => ({
  node: 'db1',
  vip: { address: '10.0.0.100', interface: 'eth0' },
  disk: { device: '/dev/sdb1', mountpoint: '/data' },
  mysqld: { systemdUnit: 'mariadb.service' },
  fence: { method: 'none' },
});

/** minimal() with some sections replaced or extended (section objects are merged shallowly). */
const withPatch = (patch: Record<string, unknown>): Raw => {
  const raw: Raw = minimal();
  for (const [key, value] of Object.entries(patch)) {
    const current = raw[key];
    raw[key] =
      value !== null && typeof value === 'object' && !Array.isArray(value) && current !== null && typeof current === 'object'
        ? { ...(current as Record<string, unknown>), ...(value as Record<string, unknown>) }
        : value;
  }
  return raw;
};

const WATCHDOG = { device: '/dev/watchdog0', timeoutMs: 5000 };

/** minimal() with a lockfile fence guarded by a 5 s watchdog, plus `fence` keys to add or override. */
const lease = (fence: Record<string, unknown> = {}, patch: Record<string, unknown> = {}): Raw =>
  withPatch({ ...patch, fence: { method: 'lockfile', path: '/nfs/lease', watchdog: WATCHDOG, ...fence } });

/** Asserts resolveConfig throws ECONFIG / exit 6 and that the message matches every pattern. */
const assertRejected = (raw: unknown, ...patterns: RegExp[]): FenceAgentError => {
  let caught: unknown;
  assert.throws(() => {
    try {
      resolveConfig(raw, CONFIG_PATH);
    } catch (error) {
      caught = error;
      throw error;
    }
  });
  assert.ok(caught instanceof FenceAgentError, `expected a FenceAgentError, got ${String(caught)}`);
  assert.equal(caught.code, 'ECONFIG');
  assert.equal(caught.exitCode, 6);
  assert.ok(caught.message.startsWith(`config ${CONFIG_PATH}: `), caught.message);
  for (const pattern of patterns) assert.match(caught.message, pattern);
  return caught;
};

describe('resolveConfig defaults', () => {
  it('resolveConfig fills in every default for a minimal configuration', () => {
    const config = resolveConfig(minimal(), CONFIG_PATH);
    assert.equal(config.configPath, CONFIG_PATH);
    assert.equal(config.node, 'db1');
    assert.equal(config.cluster, 'fence-agent');
    assert.deepEqual(config.vip, { address: '10.0.0.100', prefix: 32, interface: 'eth0' });
    assert.deepEqual(config.disk, { device: '/dev/sdb1', mountpoint: '/data', fstype: 'ext4', options: 'defaults', immutableMountpoint: true });
    assert.deepEqual(config.mysqld, {
      systemdUnit: 'mariadb.service',
      start: null,
      stop: null,
      user: 'mysql',
      pidFile: '/run/mysqld/mysqld.pid',
      socket: '/run/mysqld/mysqld.sock',
      processNames: ['mariadbd', 'mysqld'],
      outputFile: null,
      health: { user: 'root', password: null, query: 'SELECT 1' },
      restartAttempts: 0,
      restartWindowMs: 300000,
    });
    assert.deepEqual(config.fence, { method: 'none' });
    assert.deepEqual(config.deadlines, DEFAULT_DEADLINES);
    assert.deepEqual(config.monitor, { fenceIntervalMs: 1000, sqlIntervalMs: 1000, healthIntervalMs: 1000, fencedInRetryMs: 30000 });
    assert.equal(config.runDir, '/run/fence-agent');
    assert.equal(config.stateDir, '/var/lib/fence-agent');
    assert.deepEqual(config.log, { destination: 'stderr', level: 'info' });
    assert.deepEqual(config.keepalived, { instance: null, notifyFifo: null, checkIntervalMs: 10000, checkTimeoutMs: 2000, checkFall: 2, checkRise: 2, vrrpPidFile: '/run/vrrp.pid', goneMs: 3000, startMode: 'always', startHoldMs: 0 });
    assert.deepEqual(config.metrics, { textfile: null, listen: null, intervalMs: 5000 });
    assert.deepEqual(config.events, { exec: null, timeoutMs: 5000 });
    assert.deepEqual(config.history, { maxEntries: 1000 });
  });

  it('resolveConfig defaults deadlines.checkMs to 1500, fenceAcquireMs to 25000 and promoteMs to the sum of the promotion steps', () => {
    const { deadlines } = resolveConfig(minimal(), CONFIG_PATH);
    assert.equal(deadlines.checkMs, 1500);
    assert.equal(deadlines.fenceAcquireMs, 25000);
    assert.equal(deadlines.promoteMs, 25000 + 30000 + 30000 + 60000);
    assert.equal(DEFAULT_DEADLINES.promoteMs, 145000);
  });

  it('resolveConfig derives the default promoteMs from the resolved step deadlines, not from their defaults', () => {
    const { deadlines } = resolveConfig(withPatch({ deadlines: { fenceAcquireMs: 30000, mountMs: 1000, mysqldStartMs: 2000, sqlReadyMs: 3000 } }), CONFIG_PATH);
    assert.equal(deadlines.promoteMs, 36000);
  });

  it('resolveConfig keeps an explicit deadlines.promoteMs', () => {
    assert.equal(resolveConfig(withPatch({ deadlines: { promoteMs: 90000 } }), CONFIG_PATH).deadlines.promoteMs, 90000);
  });

  it('resolveConfig defaults the keepalived check timing to interval 10000 ms, timeout 2000 ms, fall 2, rise 2', () => {
    const { keepalived } = resolveConfig(minimal(), CONFIG_PATH);
    assert.deepEqual(DEFAULT_KEEPALIVED_CHECK, { checkIntervalMs: 10000, checkTimeoutMs: 2000, checkFall: 2, checkRise: 2 });
    assert.deepEqual(keepalived, { instance: null, notifyFifo: null, ...DEFAULT_KEEPALIVED_CHECK, vrrpPidFile: '/run/vrrp.pid', goneMs: 3000, startMode: 'always', startHoldMs: 0 });
  });

  it('resolveConfig keeps explicitly given keepalived check timing', () => {
    const { keepalived } = resolveConfig(withPatch({ keepalived: { checkIntervalMs: 5000, checkTimeoutMs: 3000, checkFall: 3, checkRise: 5 } }), CONFIG_PATH);
    assert.deepEqual(keepalived, { instance: null, notifyFifo: null, checkIntervalMs: 5000, checkTimeoutMs: 3000, checkFall: 3, checkRise: 5, vrrpPidFile: '/run/vrrp.pid', goneMs: 3000, startMode: 'always', startHoldMs: 0 });
  });

  it('resolveConfig turns the keepalived watch off with vrrpPidFile null and keeps a given path and goneMs', () => {
    assert.equal(resolveConfig(withPatch({ keepalived: { vrrpPidFile: null } }), CONFIG_PATH).keepalived.vrrpPidFile, null);
    const { keepalived } = resolveConfig(withPatch({ keepalived: { vrrpPidFile: '/run/keepalived/vrrp.pid', goneMs: 5000 } }), CONFIG_PATH);
    assert.equal(keepalived.vrrpPidFile, '/run/keepalived/vrrp.pid');
    assert.equal(keepalived.goneMs, 5000);
  });

  it('resolveConfig refuses a relative keepalived.vrrpPidFile and a goneMs under 1000 ms', () => {
    assert.throws(() => resolveConfig(withPatch({ keepalived: { vrrpPidFile: 'vrrp.pid' } }), CONFIG_PATH), /keepalived\.vrrpPidFile: expected an absolute/);
    assert.throws(() => resolveConfig(withPatch({ keepalived: { goneMs: 10 } }), CONFIG_PATH), /keepalived\.goneMs/);
  });

  it('resolveConfig defaults the VIP prefix to 128 for an IPv6 address', () => {
    const config = resolveConfig(withPatch({ vip: { address: 'fd00::100' } }), CONFIG_PATH);
    assert.equal(config.vip.prefix, 128);
  });

  it('resolveConfig fills in every lease default for a lockfile fence with a watchdog', () => {
    const config = resolveConfig(lease(), CONFIG_PATH);
    assert.deepEqual(config.fence, {
      method: 'lockfile',
      path: '/nfs/lease',
      staleMs: 15000,
      updateMs: 2000,
      ioTimeoutMs: 2000,
      marginMs: 1000,
      takeoverAfterMs: 16000,
      watchdog: { device: '/dev/watchdog0', timeoutMs: 5000, nowayout: false, daemonRestartMs: 3000 },
      allowNoWatchdog: false,
      allowLocalLease: false,
    });
  });

  it('resolveConfig accepts a minimal lockfile fence without a watchdog when allowNoWatchdog is set', () => {
    const config = resolveConfig(withPatch({ fence: { method: 'lockfile', path: '/nfs/lease', allowNoWatchdog: true } }), CONFIG_PATH);
    assert.deepEqual(config.fence, {
      method: 'lockfile',
      path: '/nfs/lease',
      staleMs: 15000,
      updateMs: 2000,
      ioTimeoutMs: 2000,
      marginMs: 1000,
      takeoverAfterMs: 16000,
      watchdog: null,
      allowNoWatchdog: true,
      allowLocalLease: false,
    });
  });

  it('resolveConfig treats a null fence.watchdog as no watchdog', () => {
    const config = resolveConfig(lease({ watchdog: null, allowNoWatchdog: true }), CONFIG_PATH);
    assert.equal(config.fence.method === 'lockfile' && config.fence.watchdog, null);
  });

  it('resolveConfig keeps explicitly given lease timers, watchdog settings and flags', () => {
    const config = resolveConfig(
      lease({
        staleMs: 20000,
        updateMs: 1500,
        ioTimeoutMs: 1000,
        marginMs: 2000,
        takeoverAfterMs: 23000,
        watchdog: { device: '/dev/watchdog1', timeoutMs: 10000, nowayout: true, daemonRestartMs: 0 },
        allowNoWatchdog: true,
        allowLocalLease: true,
      }),
      CONFIG_PATH,
    );
    assert.deepEqual(config.fence, {
      method: 'lockfile',
      path: '/nfs/lease',
      staleMs: 20000,
      updateMs: 1500,
      ioTimeoutMs: 1000,
      marginMs: 2000,
      takeoverAfterMs: 23000,
      watchdog: { device: '/dev/watchdog1', timeoutMs: 10000, nowayout: true, daemonRestartMs: 0 },
      allowNoWatchdog: true,
      allowLocalLease: true,
    });
  });

  it('resolveConfig defaults fence.marginMs to 5 % of staleMs, rounded up, once that exceeds 1000 ms', () => {
    assert.equal(minimumMarginMs(3000), 1000);
    assert.equal(minimumMarginMs(20000), 1000);
    assert.equal(minimumMarginMs(20001), 1001);
    assert.equal(minimumMarginMs(100000), 5000);
    const config = resolveConfig(lease({ staleMs: 100000 }, { deadlines: { fenceAcquireMs: 109000 } }), CONFIG_PATH);
    assert.equal(config.fence.method === 'lockfile' && config.fence.marginMs, 5000);
    assert.equal(config.fence.method === 'lockfile' && config.fence.takeoverAfterMs, 105000);
  });

  it('resolveConfig defaults fence.takeoverAfterMs to staleMs + marginMs', () => {
    const config = resolveConfig(lease({ staleMs: 20000, marginMs: 3000 }, { deadlines: { fenceAcquireMs: 27000 } }), CONFIG_PATH);
    assert.equal(config.fence.method === 'lockfile' && config.fence.takeoverAfterMs, 23000);
  });

  it('resolveConfig accepts the lower ends of staleMs, updateMs and ioTimeoutMs together (no watchdog)', () => {
    const config = resolveConfig(lease({ staleMs: 3000, updateMs: 200, ioTimeoutMs: 100, watchdog: null, allowNoWatchdog: true }), CONFIG_PATH);
    assert.equal(config.fence.method === 'lockfile' && config.fence.staleMs, 3000);
  });

  it('resolveConfig keeps explicitly given values instead of the defaults', () => {
    const config = resolveConfig(
      withPatch({
        cluster: 'prod-pair',
        vip: { prefix: 24 },
        disk: { fstype: 'xfs', options: 'noatime,nodev' },
        mysqld: {
          systemdUnit: null,
          start: ['/usr/sbin/mariadbd', '--datadir=/data/mysql'],
          stop: ['/usr/bin/mariadb-admin', 'shutdown'],
          health: { user: 'monitor', password: 's3cret', query: 'SELECT 2' },
        },
        deadlines: { mysqldStopMs: 10000, mysqldTermGraceMs: 5000 },
        monitor: { fenceIntervalMs: 500 },
        log: { destination: '/var/log/fence-agent.log', level: 'debug' },
        keepalived: { instance: 'VI_1', notifyFifo: '/run/keepalived/notify.fifo' },
      }),
      CONFIG_PATH,
    );
    assert.equal(config.cluster, 'prod-pair');
    assert.equal(config.vip.prefix, 24);
    assert.equal(config.disk.fstype, 'xfs');
    assert.equal(config.disk.options, 'noatime,nodev');
    assert.equal(config.mysqld.systemdUnit, null);
    assert.deepEqual(config.mysqld.start, ['/usr/sbin/mariadbd', '--datadir=/data/mysql']);
    assert.deepEqual(config.mysqld.stop, ['/usr/bin/mariadb-admin', 'shutdown']);
    assert.deepEqual(config.mysqld.health, { user: 'monitor', password: 's3cret', query: 'SELECT 2' });
    assert.equal(config.deadlines.mysqldStopMs, 10000);
    assert.equal(config.deadlines.mysqldTermGraceMs, 5000);
    assert.equal(config.deadlines.checkMs, DEFAULT_DEADLINES.checkMs);
    assert.equal(config.monitor.fenceIntervalMs, 500);
    assert.deepEqual(config.log, { destination: '/var/log/fence-agent.log', level: 'debug' });
    assert.deepEqual(config.keepalived, { instance: 'VI_1', notifyFifo: '/run/keepalived/notify.fifo', ...DEFAULT_KEEPALIVED_CHECK, vrrpPidFile: '/run/vrrp.pid', goneMs: 3000, startMode: 'always', startHoldMs: 0 });
  });

  it('resolveConfig accepts a pid file in a directory whose name merely starts like the mountpoint', () => {
    const config = resolveConfig(withPatch({ mysqld: { pidFile: '/data2/mysqld.pid' } }), CONFIG_PATH);
    assert.equal(config.mysqld.pidFile, '/data2/mysqld.pid');
  });
});

describe('resolveConfig rejections', () => {
  it('resolveConfig rejects a top level that is not an object', () => {
    assertRejected([], /expected a JSON object at the top level/);
    assertRejected(null, /expected a JSON object at the top level/);
    assertRejected('node', /expected a JSON object at the top level/);
  });

  it('resolveConfig rejects an unknown key at the top level and lists the known keys', () => {
    assertRejected(withPatch({ nodes: 'db1' }), /unknown key nodes/, /expected one of: node, cluster, vip/);
  });

  it('resolveConfig rejects an unknown key inside a section and names it with its section', () => {
    assertRejected(withPatch({ vip: { adress: '10.0.0.1' } }), /unknown key vip\.adress/, /expected one of: address, prefix, interface/);
    assertRejected(withPatch({ deadlines: { checkMS: 100 } }), /unknown key deadlines\.checkMS/);
    assertRejected(withPatch({ mysqld: { health: { pasword: 'x' } } }), /unknown key mysqld\.health\.pasword/);
  });

  it('resolveConfig rejects a missing node name', () => {
    const raw: Raw = minimal();
    delete raw.node;
    assertRejected(raw, /node: expected a name of letters, digits/, /got nothing/);
  });

  it('resolveConfig rejects a node name with a space in it', () => {
    assertRejected(withPatch({ node: 'db 1' }), /node: expected a name of letters, digits/, /got "db 1"/);
  });

  it('resolveConfig rejects a missing vip section', () => {
    const raw: Raw = minimal();
    delete raw.vip;
    assertRejected(raw, /vip: expected an object, got nothing/);
  });

  it('resolveConfig rejects a section that is an array', () => {
    assertRejected(withPatch({ disk: ['/dev/sdb1'] }), /disk: expected an object, got \["\/dev\/sdb1"\]/);
  });

  it('resolveConfig rejects a vip.address that is not an IP address', () => {
    assertRejected(withPatch({ vip: { address: '10.0.0.300' } }), /vip\.address: expected an IPv4 or IPv6 address, got "10\.0\.0\.300"/);
    assertRejected(withPatch({ vip: { address: 'db-vip.example.com' } }), /vip\.address: expected an IPv4 or IPv6 address/);
    assertRejected(withPatch({ vip: { address: 42 } }), /vip\.address: expected an IPv4 or IPv6 address, got 42/);
  });

  it('resolveConfig rejects an IPv4 vip.prefix above 32', () => {
    assertRejected(withPatch({ vip: { prefix: 33 } }), /vip\.prefix: expected an integer 0\.\.32, got 33/);
  });

  it('resolveConfig rejects a negative or fractional vip.prefix', () => {
    assertRejected(withPatch({ vip: { prefix: -1 } }), /vip\.prefix: expected an integer 0\.\.32, got -1/);
    assertRejected(withPatch({ vip: { prefix: 24.5 } }), /vip\.prefix: expected an integer 0\.\.32, got 24\.5/);
    assertRejected(withPatch({ vip: { prefix: '24' } }), /vip\.prefix: expected an integer 0\.\.32, got "24"/);
  });

  it('resolveConfig rejects an IPv6 vip.prefix above 128 but accepts 64', () => {
    assertRejected(withPatch({ vip: { address: 'fd00::100', prefix: 129 } }), /vip\.prefix: expected an integer 0\.\.128, got 129/);
    assert.equal(resolveConfig(withPatch({ vip: { address: 'fd00::100', prefix: 64 } }), CONFIG_PATH).vip.prefix, 64);
  });

  it('resolveConfig rejects a vip.interface that is too long or contains a slash', () => {
    assertRejected(withPatch({ vip: { interface: 'a-very-long-ifname' } }), /vip\.interface: expected an interface name \(at most 15 bytes\)/);
    assertRejected(withPatch({ vip: { interface: 'eth0/1' } }), /vip\.interface: expected an interface name/);
  });

  it('resolveConfig rejects a relative disk.device', () => {
    assertRejected(withPatch({ disk: { device: 'sdb1' } }), /disk\.device: expected an absolute, normalised path without a trailing slash, got "sdb1"/);
  });

  it('resolveConfig rejects a disk.mountpoint that is not normalised or has a trailing slash', () => {
    assertRejected(withPatch({ disk: { mountpoint: '/data/' } }), /disk\.mountpoint: expected an absolute, normalised path/);
    assertRejected(withPatch({ disk: { mountpoint: '/srv/../data' } }), /disk\.mountpoint: expected an absolute, normalised path/);
  });

  it('resolveConfig rejects / as disk.mountpoint', () => {
    assertRejected(withPatch({ disk: { mountpoint: '/' } }), /disk\.mountpoint: expected a directory other than \/, got "\/"/);
  });

  it('resolveConfig rejects a disk.fstype with capital letters and disk.options with spaces', () => {
    assertRejected(withPatch({ disk: { fstype: 'EXT4' } }), /disk\.fstype: expected a filesystem type such as ext4 or xfs, got "EXT4"/);
    assertRejected(withPatch({ disk: { options: 'rw, noatime' } }), /disk\.options: expected mount options without spaces/);
  });

  it('resolveConfig keeps disk.immutableMountpoint false when given, and refuses anything but a boolean', () => {
    assert.equal(resolveConfig(withPatch({ disk: { immutableMountpoint: false } }), CONFIG_PATH).disk.immutableMountpoint, false);
    assertRejected(withPatch({ disk: { immutableMountpoint: 'no' } }), /disk\.immutableMountpoint: expected true or false, got "no"/);
  });

  it('resolveConfig reads mysqld.systemdUnit as a service unit name, adding .service as systemctl does', () => {
    const unit = (systemdUnit: string): string | null => resolveConfig(withPatch({ mysqld: { systemdUnit } }), CONFIG_PATH).mysqld.systemdUnit;
    assert.equal(unit('mariadb'), 'mariadb.service');
    assert.equal(unit('mariadb.service'), 'mariadb.service');
    assert.equal(unit('mariadb@main.service'), 'mariadb@main.service');
    assert.equal(unit('mysql-8.0'), 'mysql-8.0.service');
  });

  it('resolveConfig rejects a mysqld.systemdUnit that is not a service, a bare template or not a unit name', () => {
    assertRejected(withPatch({ mysqld: { systemdUnit: 'mariadb.socket' } }), /mysqld\.systemdUnit: expected a systemd service unit name such as mariadb\.service, got "mariadb\.socket"/);
    assertRejected(withPatch({ mysqld: { systemdUnit: 'mariadb@.service' } }), /mysqld\.systemdUnit: expected .*a template needs an instance/);
    assertRejected(withPatch({ mysqld: { systemdUnit: 'system.slice/mariadb.service' } }), /mysqld\.systemdUnit: expected a systemd service unit name/);
    assertRejected(withPatch({ mysqld: { systemdUnit: 'maria db' } }), /mysqld\.systemdUnit: expected a systemd service unit name/);
  });

  it('resolveConfig rejects mysqld with both systemdUnit and start', () => {
    assertRejected(
      withPatch({ mysqld: { systemdUnit: 'mariadb.service', start: ['/usr/sbin/mariadbd'] } }),
      /mysqld\.start: expected exactly one of mysqld\.systemdUnit and mysqld\.start, got "both"/,
    );
  });

  it('resolveConfig rejects mysqld with neither systemdUnit nor start', () => {
    assertRejected(
      withPatch({ mysqld: { systemdUnit: null } }),
      /mysqld\.start: expected exactly one of mysqld\.systemdUnit and mysqld\.start, got nothing/,
    );
  });

  it('resolveConfig rejects a mysqld.start argv that is not an array of strings or starts with a relative path', () => {
    assertRejected(withPatch({ mysqld: { systemdUnit: null, start: '/usr/sbin/mariadbd --user=mysql' } }), /mysqld\.start: expected a non-empty array of strings \(argv, no shell\)/);
    assertRejected(withPatch({ mysqld: { systemdUnit: null, start: [] } }), /mysqld\.start: expected a non-empty array of strings/);
    assertRejected(withPatch({ mysqld: { systemdUnit: null, start: ['mariadbd'] } }), /mysqld\.start: expected an argv whose first element is an absolute path, got \["mariadbd"\]/);
  });

  it('resolveConfig rejects a pidFile under disk.mountpoint', () => {
    assertRejected(
      withPatch({ mysqld: { pidFile: '/data/mysql/mysqld.pid' } }),
      /mysqld\.pidFile: expected a path outside disk\.mountpoint \/data/,
      /got "\/data\/mysql\/mysqld\.pid"/,
    );
  });

  it('resolveConfig rejects a socket under the mountpoint', () => {
    assertRejected(
      withPatch({ mysqld: { socket: '/data/mysql.sock' } }),
      /mysqld\.socket: expected a path outside disk\.mountpoint \/data/,
      /got "\/data\/mysql\.sock"/,
    );
  });

  it('resolveConfig rejects a socket path longer than sun_path allows', () => {
    const socket = `/run/${'s'.repeat(110)}.sock`;
    assertRejected(withPatch({ mysqld: { socket } }), /mysqld\.socket: expected a path of at most 107 bytes \(sun_path\)/);
  });

  it('resolveConfig rejects a relative mysqld.pidFile', () => {
    assertRejected(withPatch({ mysqld: { pidFile: 'run/mysqld.pid' } }), /mysqld\.pidFile: expected an absolute, normalised path without a trailing slash, got "run\/mysqld\.pid"/);
  });

  it('resolveConfig rejects an empty mysqld.processNames list', () => {
    assertRejected(withPatch({ mysqld: { processNames: [] } }), /mysqld\.processNames: expected a non-empty array of strings, got \[\]/);
  });

  it('resolveConfig rejects an empty mysqld.health.password', () => {
    assertRejected(withPatch({ mysqld: { health: { password: '' } } }), /mysqld\.health\.password: expected a non-empty string, got ""/);
  });

  it('resolveConfig rejects a missing or unknown fence.method', () => {
    const raw: Raw = minimal();
    raw.fence = {};
    assertRejected(raw, /fence\.method: expected one of lockfile\|scsi-pr\|none, got nothing/);
    assertRejected(withPatch({ fence: { method: 'scsi' } }), /fence\.method: expected one of lockfile\|scsi-pr\|none, got "scsi"/);
  });

  it('resolveConfig fills a scsi-pr fence from the disk and the node: device disk.device, node id the node name, the documented defaults', () => {
    const config = resolveConfig(withPatch({ fence: { method: 'scsi-pr' } }), CONFIG_PATH);
    assert.deepEqual(config.fence, { method: 'scsi-pr', device: '/dev/sdb1', nodeId: 'db1', drainMs: 5000, watchIntervalMs: 1000, commandTimeoutMs: 3000, aptpl: false, holdDownMs: 60000 });
  });

  it('resolveConfig takes every scsi-pr key as given', () => {
    const fence = { method: 'scsi-pr', device: '/dev/disk/by-id/wwn-0x1-part1', nodeId: 'rack2-db1', drainMs: 0, watchIntervalMs: 100, commandTimeoutMs: 500, aptpl: true, holdDownMs: 0 };
    assert.deepEqual(resolveConfig(withPatch({ fence }), CONFIG_PATH).fence, fence);
  });

  it('resolveConfig rejects scsi-pr keys out of range, lease keys with scsi-pr, and a node id that is not a name', () => {
    assert.equal((resolveConfig(withPatch({ fence: { method: 'scsi-pr', aptpl: 'auto' } }), CONFIG_PATH).fence as { aptpl: unknown }).aptpl, 'auto');
    assertRejected(withPatch({ fence: { method: 'scsi-pr', aptpl: 'yes' } }), /fence\.aptpl: expected true, false or "auto", got "yes"/);
    assertRejected(withPatch({ fence: { method: 'scsi-pr', aptpl: 1 } }), /fence\.aptpl: expected true, false or "auto", got 1/);
    assertRejected(withPatch({ fence: { method: 'scsi-pr', watchIntervalMs: 1001 } }), /fence\.watchIntervalMs: expected an integer 100\.\.1000 ms, got 1001/);
    assertRejected(withPatch({ fence: { method: 'scsi-pr', commandTimeoutMs: 499 } }), /fence\.commandTimeoutMs: expected an integer 500\.\.60000 ms, got 499/);
    assertRejected(withPatch({ fence: { method: 'scsi-pr', device: 'sdb1' } }), /fence\.device: expected an absolute, normalised path/);
    assertRejected(withPatch({ fence: { method: 'scsi-pr', nodeId: '' } }), /fence\.nodeId: expected a name of letters/);
    assertRejected(withPatch({ fence: { method: 'scsi-pr', path: '/nfs/lease' } }), /unknown key fence\.path \(expected one of: method, device, nodeId, drainMs, watchIntervalMs, commandTimeoutMs, aptpl, holdDownMs\)/);
    assertRejected(withPatch({ fence: { method: 'scsi-pr', watchdog: WATCHDOG } }), /unknown key fence\.watchdog/);
  });

  it('resolveConfig rejects lockfile settings given with fence method none', () => {
    assertRejected(withPatch({ fence: { method: 'none', path: '/nfs/lease' } }), /unknown key fence\.path \(expected one of: method\)/);
  });

  it('resolveConfig rejects a lockfile fence without a path', () => {
    assertRejected(withPatch({ fence: { method: 'lockfile' } }), /fence\.path: expected an absolute path, got nothing/);
  });

  it('resolveConfig rejects a relative fence.path', () => {
    assertRejected(withPatch({ fence: { method: 'lockfile', path: 'nfs/lease' } }), /fence\.path: expected an absolute, normalised path without a trailing slash, got "nfs\/lease"/);
  });

  it('resolveConfig rejects a fence.path under the mountpoint', () => {
    assertRejected(
      withPatch({ fence: { method: 'lockfile', path: '/data/fence/lease' } }),
      /fence\.path: expected a path outside disk\.mountpoint \/data/,
      /got "\/data\/fence\/lease"/,
    );
  });

  it('resolveConfig refuses a lockfile fence without a watchdog, in one line saying what to do', () => {
    const error = assertRejected(withPatch({ fence: { method: 'lockfile', path: '/nfs/lease' } }));
    assert.equal(
      error.message,
      `config ${CONFIG_PATH}: fence.watchdog: required for lockfile fencing (a lease alone cannot stop a frozen MASTER); configure the kernel watchdog or set fence.allowNoWatchdog: true`,
    );
    assertRejected(lease({ watchdog: null }), /fence\.watchdog: required for lockfile fencing/);
    assertRejected(lease({ watchdog: null, allowNoWatchdog: false }), /fence\.watchdog: required for lockfile fencing/);
  });

  it('resolveConfig rejects a fence.marginMs below max(1000, 5 % of staleMs), naming the minimum and why', () => {
    const error = assertRejected(lease({ marginMs: 999 }));
    assert.equal(
      error.message,
      `config ${CONFIG_PATH}: fence.marginMs: expected at least 1000 ms = max(1000, 5 % of fence.staleMs 15000) (the margin absorbs the two nodes' clocks running at different rates and scheduling delay), got 999`,
    );
    assertRejected(lease({ staleMs: 40000, marginMs: 1999 }, { deadlines: { fenceAcquireMs: 50000 } }), /fence\.marginMs: expected at least 2000 ms = max\(1000, 5 % of fence\.staleMs 40000\)/, /got 1999$/);
    const config = resolveConfig(lease({ staleMs: 40000, marginMs: 2000 }, { deadlines: { fenceAcquireMs: 50000 } }), CONFIG_PATH);
    assert.equal(config.fence.method === 'lockfile' && config.fence.marginMs, 2000);
  });

  it('resolveConfig no longer limits updateMs to half of staleMs: relation (a) decides', () => {
    const config = resolveConfig(lease({ staleMs: 20000, updateMs: 5000, watchdog: null, allowNoWatchdog: true }), CONFIG_PATH);
    assert.equal(config.fence.method === 'lockfile' && config.fence.updateMs, 5000);
  });

  it('resolveConfig rejects fence.staleMs outside 3000..600000 ms', () => {
    assertRejected(lease({ staleMs: 2999 }), /fence\.staleMs: expected an integer 3000\.\.600000 ms, got 2999/);
    assertRejected(lease({ staleMs: 600001 }), /fence\.staleMs: expected an integer 3000\.\.600000 ms, got 600001/);
    assertRejected(lease({ staleMs: 15000.5 }), /fence\.staleMs: expected an integer 3000\.\.600000 ms, got 15000\.5/);
  });

  it('resolveConfig rejects fence.updateMs outside 200..600000 ms', () => {
    assertRejected(lease({ updateMs: 199 }), /fence\.updateMs: expected an integer 200\.\.600000 ms, got 199/);
    assertRejected(lease({ updateMs: 600001 }), /fence\.updateMs: expected an integer 200\.\.600000 ms, got 600001/);
  });

  it('resolveConfig rejects fence.ioTimeoutMs outside 100..60000 ms', () => {
    assertRejected(lease({ ioTimeoutMs: 99 }), /fence\.ioTimeoutMs: expected an integer 100\.\.60000 ms, got 99/);
    assertRejected(lease({ ioTimeoutMs: 60001 }), /fence\.ioTimeoutMs: expected an integer 100\.\.60000 ms, got 60001/);
  });

  it('resolveConfig rejects a fence.marginMs above 600000 ms or that is not an integer', () => {
    assertRejected(lease({ marginMs: 600001 }), /fence\.marginMs: expected an integer 0\.\.600000 ms, got 600001/);
    assertRejected(lease({ marginMs: '1s' }), /fence\.marginMs: expected an integer 0\.\.600000 ms, got "1s"/);
  });

  it('resolveConfig rejects fence.takeoverAfterMs outside 1000..1200000 ms', () => {
    assertRejected(lease({ takeoverAfterMs: 999 }), /fence\.takeoverAfterMs: expected an integer 1000\.\.1200000 ms, got 999/);
    assertRejected(lease({ takeoverAfterMs: 1200001 }), /fence\.takeoverAfterMs: expected an integer 1000\.\.1200000 ms, got 1200001/);
  });

  it('resolveConfig rejects a fence.watchdog that is not an object or has an unknown key', () => {
    assertRejected(lease({ watchdog: '/dev/watchdog0' }), /fence\.watchdog: expected an object, got "\/dev\/watchdog0"/);
    assertRejected(lease({ watchdog: { ...WATCHDOG, timeout: 5 } }), /unknown key fence\.watchdog\.timeout \(expected one of: device, timeoutMs, nowayout, daemonRestartMs\)/);
  });

  it('resolveConfig rejects a fence.watchdog without an absolute device', () => {
    assertRejected(lease({ watchdog: { timeoutMs: 5000 } }), /fence\.watchdog\.device: expected an absolute path, got nothing/);
    assertRejected(lease({ watchdog: { ...WATCHDOG, device: 'watchdog0' } }), /fence\.watchdog\.device: expected an absolute, normalised path without a trailing slash, got "watchdog0"/);
  });

  it('resolveConfig rejects a fence.watchdog.timeoutMs that is missing or outside 1000..600000 ms', () => {
    assertRejected(lease({ watchdog: { device: '/dev/watchdog0' } }), /fence\.watchdog\.timeoutMs: expected an integer 1000\.\.600000 ms, got nothing/);
    assertRejected(lease({ watchdog: { ...WATCHDOG, timeoutMs: 999 } }), /fence\.watchdog\.timeoutMs: expected an integer 1000\.\.600000 ms, got 999/);
    assertRejected(lease({ watchdog: { ...WATCHDOG, timeoutMs: 600001 } }), /fence\.watchdog\.timeoutMs: expected an integer 1000\.\.600000 ms, got 600001/);
  });

  it('resolveConfig rejects a fence.watchdog.nowayout that is not a boolean', () => {
    assertRejected(lease({ watchdog: { ...WATCHDOG, nowayout: 'yes' } }), /fence\.watchdog\.nowayout: expected true or false, got "yes"/);
  });

  it('resolveConfig rejects a fence.watchdog.daemonRestartMs outside 0..600000 ms', () => {
    assertRejected(lease({ watchdog: { ...WATCHDOG, daemonRestartMs: -1 } }), /fence\.watchdog\.daemonRestartMs: expected an integer 0\.\.600000 ms, got -1/);
    assertRejected(lease({ watchdog: { ...WATCHDOG, daemonRestartMs: 600001 } }), /fence\.watchdog\.daemonRestartMs: expected an integer 0\.\.600000 ms, got 600001/);
  });

  it('resolveConfig rejects fence.allowNoWatchdog and fence.allowLocalLease that are not booleans', () => {
    assertRejected(lease({ allowNoWatchdog: 'true' }), /fence\.allowNoWatchdog: expected true or false, got "true"/);
    assertRejected(lease({ allowLocalLease: 1 }), /fence\.allowLocalLease: expected true or false, got 1/);
  });

  it('resolveConfig rejects an unknown key in a lockfile fence and lists the lease keys', () => {
    assertRejected(
      lease({ stale: 1 }),
      /unknown key fence\.stale \(expected one of: method, path, staleMs, updateMs, ioTimeoutMs, marginMs, takeoverAfterMs, watchdog, allowNoWatchdog, allowLocalLease\)/,
    );
  });

  it('resolveConfig rejects a watchdog given with fence method none', () => {
    assertRejected(withPatch({ fence: { method: 'none', watchdog: WATCHDOG } }), /unknown key fence\.watchdog \(expected one of: method\)/);
  });

  it('resolveConfig rejects a deadlines.promoteMs outside 50..14400000 ms', () => {
    assertRejected(withPatch({ deadlines: { promoteMs: 49 } }), /deadlines\.promoteMs: expected an integer 50\.\.14400000 ms, got 49/);
    assertRejected(withPatch({ deadlines: { promoteMs: 14400001 } }), /deadlines\.promoteMs: expected an integer 50\.\.14400000 ms, got 14400001/);
  });

  it('resolveConfig rejects keepalived.checkIntervalMs and checkTimeoutMs outside 1000..600000 ms', () => {
    assertRejected(withPatch({ keepalived: { checkIntervalMs: 999 } }), /keepalived\.checkIntervalMs: expected an integer 1000\.\.600000 ms, got 999/);
    assertRejected(withPatch({ keepalived: { checkIntervalMs: 601000 } }), /keepalived\.checkIntervalMs: expected an integer 1000\.\.600000 ms, got 601000/);
    assertRejected(withPatch({ keepalived: { checkTimeoutMs: 999 } }), /keepalived\.checkTimeoutMs: expected an integer 1000\.\.600000 ms, got 999/);
    assertRejected(withPatch({ keepalived: { checkTimeoutMs: 601000 } }), /keepalived\.checkTimeoutMs: expected an integer 1000\.\.600000 ms, got 601000/);
  });

  it('resolveConfig rejects keepalived check timing that is not whole seconds (keepalived reads integers)', () => {
    assertRejected(withPatch({ keepalived: { checkIntervalMs: 2500 } }), /keepalived\.checkIntervalMs: expected whole seconds in ms .*, got 2500/);
    assertRejected(withPatch({ keepalived: { checkTimeoutMs: 1500 } }), /keepalived\.checkTimeoutMs: expected whole seconds in ms .*, got 1500/);
  });

  it('resolveConfig rejects keepalived.checkFall and checkRise outside 1..100', () => {
    assertRejected(withPatch({ keepalived: { checkFall: 0 } }), /keepalived\.checkFall: expected an integer 1\.\.100, got 0/);
    assertRejected(withPatch({ keepalived: { checkFall: 101 } }), /keepalived\.checkFall: expected an integer 1\.\.100, got 101/);
    assertRejected(withPatch({ keepalived: { checkRise: 0 } }), /keepalived\.checkRise: expected an integer 1\.\.100, got 0/);
    assertRejected(withPatch({ keepalived: { checkRise: 101 } }), /keepalived\.checkRise: expected an integer 1\.\.100, got 101/);
  });

  it('resolveConfig accepts the keepalived check timing at the lower ends of its ranges', () => {
    const config = resolveConfig(withPatch({ deadlines: { checkMs: 50 }, keepalived: { checkIntervalMs: 1000, checkTimeoutMs: 1000, checkFall: 1, checkRise: 1 } }), CONFIG_PATH);
    assert.deepEqual(config.keepalived, { instance: null, notifyFifo: null, checkIntervalMs: 1000, checkTimeoutMs: 1000, checkFall: 1, checkRise: 1, vrrpPidFile: '/run/vrrp.pid', goneMs: 3000, startMode: 'always', startHoldMs: 0 });
  });

  it('resolveConfig rejects an unknown key in the keepalived section and lists the known ones', () => {
    assertRejected(withPatch({ keepalived: { interval: 2 } }), /unknown key keepalived\.interval \(expected one of: instance, notifyFifo, checkIntervalMs, checkTimeoutMs, checkFall, checkRise, vrrpPidFile, goneMs, startMode, startHoldMs\)/);
  });

  it('resolveConfig rejects deadlines.mysqldTermGraceMs equal to or above mysqldStopMs', () => {
    assertRejected(
      withPatch({ deadlines: { mysqldStopMs: 5000, mysqldTermGraceMs: 5000 } }),
      /deadlines\.mysqldTermGraceMs: expected less than deadlines\.mysqldStopMs \(5000\) so SIGKILL still fits, got 5000/,
    );
    assertRejected(withPatch({ deadlines: { mysqldStopMs: 20000 } }), /deadlines\.mysqldTermGraceMs: expected less than deadlines\.mysqldStopMs \(20000\)/, /got 30000/);
  });

  it('resolveConfig rejects a deadline below 50 ms or that is not an integer', () => {
    assertRejected(withPatch({ deadlines: { checkMs: 10 } }), /deadlines\.checkMs: expected an integer 50\.\.3600000 ms, got 10/);
    assertRejected(withPatch({ deadlines: { mountMs: '30s' } }), /deadlines\.mountMs: expected an integer 50\.\.3600000 ms, got "30s"/);
  });

  it('resolveConfig rejects a monitor.fenceIntervalMs out of range', () => {
    assertRejected(withPatch({ monitor: { fenceIntervalMs: 50 } }), /monitor\.fenceIntervalMs: expected an integer 100\.\.60000 ms, got 50/);
  });

  it('resolveConfig rejects relative runDir and stateDir', () => {
    assertRejected(withPatch({ runDir: 'run/fence-agent' }), /runDir: expected an absolute, normalised path without a trailing slash, got "run\/fence-agent"/);
    assertRejected(withPatch({ stateDir: 'state' }), /stateDir: expected an absolute, normalised path without a trailing slash, got "state"/);
  });

  it('resolveConfig rejects a relative log.destination and an unknown log.level', () => {
    assertRejected(withPatch({ log: { destination: 'fence.log' } }), /log\.destination: expected stderr, stdout or an absolute path, got "fence\.log"/);
    assertRejected(withPatch({ log: { level: 'verbose' } }), /log\.level: expected one of fatal\|error\|warn\|info\|debug\|trace, got "verbose"/);
  });

  it('resolveConfig rejects a keepalived.instance with a space and a relative keepalived.notifyFifo', () => {
    assertRejected(withPatch({ keepalived: { instance: 'VI 1' } }), /keepalived\.instance: expected a VRRP instance name, got "VI 1"/);
    assertRejected(withPatch({ keepalived: { notifyFifo: 'notify.fifo' } }), /keepalived\.notifyFifo: expected an absolute, normalised path/);
  });

  it('resolveConfig rejects a stateDir, runDir or log file on the shared disk', () => {
    assertRejected(withPatch({ stateDir: '/data/state' }), /stateDir: expected a path outside disk\.mountpoint \/data, got "\/data\/state"/);
    assertRejected(withPatch({ runDir: '/data' }), /runDir: expected a path outside disk\.mountpoint \/data/);
    assertRejected(withPatch({ log: { destination: '/data/agent.log' } }), /log\.destination: expected a path outside disk\.mountpoint \/data/);
  });

  it('resolveConfig counts the socket limit in bytes, not characters', () => {
    const socket = `/run/${'é'.repeat(52)}.s`; // 111 bytes, 59 characters
    assertRejected(withPatch({ mysqld: { socket } }), /mysqld\.socket: expected a path of at most 107 bytes/);
  });
});

describe('resolveConfig metrics', () => {
  it('metrics: both outputs off by default, and with explicit nulls', () => {
    assert.deepEqual(resolveConfig(withPatch({ metrics: {} }), CONFIG_PATH).metrics, { textfile: null, listen: null, intervalMs: 5000 });
    assert.deepEqual(resolveConfig(withPatch({ metrics: { textfile: null, listen: null } }), CONFIG_PATH).metrics, { textfile: null, listen: null, intervalMs: 5000 });
  });

  it('metrics: a textfile, an IPv4 or bracketed IPv6 listener and the interval are read', () => {
    const { metrics } = resolveConfig(withPatch({ metrics: { textfile: '/var/lib/node_exporter/textfile/fence-agent.prom', listen: '127.0.0.1:9720', intervalMs: 10000 } }), CONFIG_PATH);
    assert.deepEqual(metrics, { textfile: '/var/lib/node_exporter/textfile/fence-agent.prom', listen: { host: '127.0.0.1', port: 9720 }, intervalMs: 10000 });
    assert.deepEqual(resolveConfig(withPatch({ metrics: { listen: '[::1]:9720' } }), CONFIG_PATH).metrics.listen, { host: '::1', port: 9720 });
    assert.deepEqual(resolveConfig(withPatch({ metrics: { listen: '0.0.0.0:1' } }), CONFIG_PATH).metrics.listen, { host: '0.0.0.0', port: 1 });
  });

  it('metrics.textfile: refused unless an absolute, normalised path of a .prom file off the shared disk', () => {
    assertRejected(withPatch({ metrics: { textfile: 'fence-agent.prom' } }), /^config \S+: metrics\.textfile: expected an absolute, normalised path without a trailing slash, got "fence-agent\.prom"$/);
    assertRejected(withPatch({ metrics: { textfile: '/var/lib/node_exporter/../x.prom' } }), /metrics\.textfile: expected an absolute, normalised path/);
    assertRejected(withPatch({ metrics: { textfile: '/var/lib/node_exporter/fence-agent.txt' } }), /metrics\.textfile: expected a file name ending in \.prom .*, got "\/var\/lib\/node_exporter\/fence-agent\.txt"/);
    assertRejected(withPatch({ metrics: { textfile: '/var/lib/node_exporter/.prom' } }), /metrics\.textfile: expected a file name ending in \.prom/);
    assertRejected(withPatch({ metrics: { textfile: '/data/fence-agent.prom' } }), /metrics\.textfile: expected a path outside disk\.mountpoint \/data/);
    assertRejected(withPatch({ metrics: { textfile: 42 } }), /metrics\.textfile: expected an absolute path, got 42/);
  });

  it('metrics.listen: refused unless ADDRESS:PORT with an IP address (no host names, IPv6 in brackets, port 1..65535)', () => {
    for (const listen of ['localhost:9720', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:65536', '127.0.0.1:97200', '::1:9720', '[::1]', '[127.0.0.1]:9720', '[::1]:x', '256.0.0.1:9720', ':9720', ' 127.0.0.1:9720', 9720, true]) {
      assertRejected(withPatch({ metrics: { listen } }), /^config \S+: metrics\.listen: expected an IP address and port such as "127\.0\.0\.1:9720" or "\[::1\]:9720" \(no host names\), or null, got /);
    }
  });

  it('metrics.intervalMs: an integer 1000..300000 ms; unknown metrics keys are refused', () => {
    assertRejected(withPatch({ metrics: { intervalMs: 999 } }), /metrics\.intervalMs: expected an integer 1000\.\.300000 ms, got 999/);
    assertRejected(withPatch({ metrics: { intervalMs: 1.5e3 + 0.5 } }), /metrics\.intervalMs: expected an integer/);
    assertRejected(withPatch({ metrics: { port: 9720 } }), /unknown key metrics\.port \(expected one of: textfile, listen, intervalMs\)/);
    assertRejected(withPatch({ metrics: 'on' }), /metrics: expected an object, got "on"/);
  });
});

describe('resolveConfig events and history', () => {
  it('events: no hook by default, also with an explicit null; a hook and its bound are read', () => {
    assert.deepEqual(resolveConfig(withPatch({ events: { exec: null } }), CONFIG_PATH).events, { exec: null, timeoutMs: 5000 });
    assert.deepEqual(resolveConfig(withPatch({ events: { exec: '/usr/local/libexec/fence-agent-event', timeoutMs: 20000 } }), CONFIG_PATH).events, { exec: '/usr/local/libexec/fence-agent-event', timeoutMs: 20000 });
  });

  it('events.exec: refused unless an absolute, normalised path off the shared disk (no argv, no shell)', () => {
    assertRejected(withPatch({ events: { exec: 'notify.sh' } }), /^config \S+: events\.exec: expected an absolute, normalised path without a trailing slash, got "notify\.sh"$/);
    assertRejected(withPatch({ events: { exec: ['/usr/bin/logger', 'x'] } }), /events\.exec: expected an absolute path, got \["\/usr\/bin\/logger","x"\]/);
    assertRejected(withPatch({ events: { exec: '/data/hook' } }), /events\.exec: expected a path outside disk\.mountpoint \/data/);
  });

  it('events.timeoutMs: an integer 100..60000 ms; unknown events keys are refused', () => {
    assertRejected(withPatch({ events: { timeoutMs: 99 } }), /^config \S+: events\.timeoutMs: expected an integer 100\.\.60000 ms, got 99$/);
    assertRejected(withPatch({ events: { timeoutMs: 60001 } }), /events\.timeoutMs: expected an integer 100\.\.60000 ms, got 60001/);
    assertRejected(withPatch({ events: { command: '/bin/true' } }), /unknown key events\.command \(expected one of: exec, timeoutMs\)/);
  });

  it('history.maxEntries: 1000 by default, an integer 10..100000; unknown history keys are refused', () => {
    assert.equal(resolveConfig(withPatch({ history: { maxEntries: 10 } }), CONFIG_PATH).history.maxEntries, 10);
    assertRejected(withPatch({ history: { maxEntries: 9 } }), /^config \S+: history\.maxEntries: expected an integer 10\.\.100000, got 9$/);
    assertRejected(withPatch({ history: { maxEntries: '1000' } }), /history\.maxEntries: expected an integer 10\.\.100000, got "1000"/);
    assertRejected(withPatch({ history: { file: '/tmp/h' } }), /unknown key history\.file \(expected one of: maxEntries\)/);
  });
});
