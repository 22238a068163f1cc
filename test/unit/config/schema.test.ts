import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_DEADLINES, resolveConfig } from '../../../src/config/schema.ts';
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
    assert.deepEqual(config.disk, { device: '/dev/sdb1', mountpoint: '/data', fstype: 'ext4', options: 'defaults' });
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
    assert.deepEqual(config.monitor, { fenceIntervalMs: 1000, sqlIntervalMs: 1000 });
    assert.equal(config.runDir, '/run/fence-agent');
    assert.equal(config.stateDir, '/var/lib/fence-agent');
    assert.deepEqual(config.log, { destination: 'stderr', level: 'info' });
    assert.deepEqual(config.keepalived, { instance: null, notifyFifo: null });
  });

  it('resolveConfig defaults the VIP prefix to 128 for an IPv6 address', () => {
    const config = resolveConfig(withPatch({ vip: { address: 'fd00::100' } }), CONFIG_PATH);
    assert.equal(config.vip.prefix, 128);
  });

  it('resolveConfig defaults the lockfile staleMs to 10000 and updateMs to a quarter of it', () => {
    const config = resolveConfig(withPatch({ fence: { method: 'lockfile', path: '/nfs/fence-agent/lease' } }), CONFIG_PATH);
    assert.deepEqual(config.fence, { method: 'lockfile', path: '/nfs/fence-agent/lease', staleMs: 10000, updateMs: 2500 });
  });

  it('resolveConfig keeps updateMs at its 1000 ms floor when staleMs is small', () => {
    const config = resolveConfig(withPatch({ fence: { method: 'lockfile', path: '/nfs/lease', staleMs: 2000 } }), CONFIG_PATH);
    assert.deepEqual(config.fence, { method: 'lockfile', path: '/nfs/lease', staleMs: 2000, updateMs: 1000 });
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
    assert.deepEqual(config.keepalived, { instance: 'VI_1', notifyFifo: '/run/keepalived/notify.fifo' });
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
    assertRejected(raw, /fence\.method: expected one of lockfile\|none, got nothing/);
    assertRejected(withPatch({ fence: { method: 'scsi' } }), /fence\.method: expected one of lockfile\|none, got "scsi"/);
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

  it('resolveConfig rejects a fence.staleMs below 2000 ms', () => {
    assertRejected(withPatch({ fence: { method: 'lockfile', path: '/nfs/lease', staleMs: 1999 } }), /fence\.staleMs: expected an integer 2000\.\.600000 ms, got 1999/);
  });

  it('resolveConfig rejects a fence.updateMs above half of staleMs', () => {
    assertRejected(
      withPatch({ fence: { method: 'lockfile', path: '/nfs/lease', staleMs: 4000, updateMs: 2001 } }),
      /fence\.updateMs: expected at most half of fence\.staleMs \(2000\), got 2001/,
    );
    const config = resolveConfig(withPatch({ fence: { method: 'lockfile', path: '/nfs/lease', staleMs: 4000, updateMs: 2000 } }), CONFIG_PATH);
    assert.deepEqual(config.fence, { method: 'lockfile', path: '/nfs/lease', staleMs: 4000, updateMs: 2000 });
  });

  it('resolveConfig rejects a fence.updateMs below 1000 ms', () => {
    assertRejected(withPatch({ fence: { method: 'lockfile', path: '/nfs/lease', updateMs: 999 } }), /fence\.updateMs: expected an integer 1000\.\.10000 ms, got 999/);
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
