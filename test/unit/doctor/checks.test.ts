// src/doctor/checks.ts: each rule of `fence-agent doctor` on what a first install gets wrong. The
// whole command on a real node: test/integration/single-node.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkClock, checkDatabaseUnits, checkDurability, parseOptionFiles, checkFstab, checkKeepalivedConf, checkMmp, checkNodeVersion, checkWriteCache, comparePeer } from '../../../src/doctor/checks.ts';
import { keepalivedConf } from '../../../src/keepalived-conf.ts';
import { resolveConfig } from '../../../src/config/schema.ts';

const names = { paths: ['/dev/sdb1', '/dev/disk/by-id/scsi-360014051-part1'], uuid: '1b2c', label: 'shopdata', mountpoint: '/data' };

describe('doctor checks', () => {
  it('checkNodeVersion passes 20.19 and later and fails older', () => {
    assert.equal(checkNodeVersion('v20.19.0').status, 'ok');
    assert.equal(checkNodeVersion('v22.1.0').status, 'ok');
    assert.equal(checkNodeVersion('v20.18.3').status, 'fail');
    assert.equal(checkNodeVersion('v18.19.0').status, 'fail');
  });

  it('checkFstab fails the shared disk mounted at boot, under any of its names or by its mountpoint', () => {
    for (const line of ['/dev/sdb1 /data ext4 defaults 0 2', 'UUID=1b2c /srv ext4 noatime 0 2', 'LABEL=shopdata /x ext4 defaults 0 0', '/dev/disk/by-uuid/1b2c /y ext4 rw 0 0', '/dev/other /data ext4 defaults 0 0']) {
      const finding = checkFstab(`# comment\n${line}\n`, names);
      assert.equal(finding.status, 'fail', line);
      assert.match(finding.fix ?? '', /remove the line/);
    }
  });

  it('checkFstab warns about a noauto line and passes a disk not in fstab', () => {
    assert.equal(checkFstab('/dev/sdb1 /data ext4 noauto,noatime 0 0\n', names).status, 'warn');
    assert.equal(checkFstab('/dev/sda1 / ext4 defaults 0 1\n# /dev/sdb1 /data ext4 defaults 0 2\n', names).status, 'ok');
    assert.equal(checkFstab(null, names).status, 'ok');
  });

  it('checkDatabaseUnits fails an enabled distro unit and a masked unit the agent must start', () => {
    const enabled = checkDatabaseUnits({ 'mariadb.service': 'enabled', 'mariadb.socket': null }, null);
    assert.deepEqual(enabled.map((f) => f.status), ['fail']);
    assert.match(enabled[0]?.fix ?? '', /systemctl disable --now mariadb.service && systemctl mask mariadb.service/);
    assert.equal(checkDatabaseUnits({ 'mariadb.service': 'masked' }, 'mariadb.service')[0]?.status, 'fail');
    assert.deepEqual(checkDatabaseUnits({ 'mariadb.service': 'disabled', 'mysql.service': 'masked' }, 'mariadb.service').map((f) => f.status), ['ok', 'ok']);
    assert.equal(checkDatabaseUnits({ 'mariadb.service': null }, null)[0]?.detail, 'no distro database unit installed');
    // Debian: mysql.service and mysqld.service are package aliases of mariadb.service, whatever its state
    assert.deepEqual(checkDatabaseUnits({ 'mariadb.service': 'disabled', 'mysql.service': 'alias', 'mysqld.service': 'alias' }, 'mariadb.service').map((f) => f.status), ['ok', 'ok', 'ok']);
  });

  it('checkKeepalivedConf passes what fence-agent config keepalived generates, and fails one without enable_script_security', () => {
    const config = resolveConfig(
      { node: 'db1', vip: { address: '10.0.0.10', prefix: 24, interface: 'eth0' }, disk: { device: '/dev/sdb1', mountpoint: '/data' }, mysqld: { start: ['/usr/sbin/mariadbd'], pidFile: '/run/mysqld/mysqld.pid', socket: '/run/mysqld/mysqld.sock' }, fence: { method: 'none' } },
      '/etc/fence-agent/config.json',
    );
    const text = keepalivedConf(config, { interface: 'eth0', virtualRouterId: 51, priority: 150 }, { agentCommand: '/usr/local/bin/fence-agent' });
    const good = checkKeepalivedConf(text, '/etc/keepalived/keepalived.conf', '/run/fence-agent/health');
    assert.deepEqual(good.filter((f) => f.status !== 'ok'), [], JSON.stringify(good));
    const bad = checkKeepalivedConf(text.replace(/^\s*enable_script_security.*$/m, ''), '/etc/keepalived/keepalived.conf', '/run/fence-agent/health');
    assert.deepEqual(bad.filter((f) => f.status === 'fail').map((f) => f.detail), ['/etc/keepalived/keepalived.conf: no enable_script_security']);
    assert.equal(checkKeepalivedConf(null, '/etc/keepalived/keepalived.conf', '/run/fence-agent/health')[0]?.status, 'fail');
  });

  it('checkDurability fails innodb_flush_log_at_trx_commit=2, sync_binlog=0 with the binlog on and doublewrite off', () => {
    const good = { innodb_flush_log_at_trx_commit: '1', sync_binlog: '1', log_bin: 'ON', innodb_doublewrite: 'ON' };
    assert.deepEqual(checkDurability(good).map((f) => f.status), ['ok', 'ok', 'ok']);
    assert.match(checkDurability({ ...good, innodb_flush_log_at_trx_commit: '2' })[0]?.detail ?? '', /innodb_flush_log_at_trx_commit=2: a commit acknowledged before its redo log is on disk/);
    assert.equal(checkDurability({ ...good, sync_binlog: '0' })[1]?.status, 'fail');
    assert.deepEqual(checkDurability({ ...good, sync_binlog: '0', log_bin: 'OFF' }).map((f) => f.status), ['ok', 'ok'], 'sync_binlog does not matter without a binlog');
    assert.equal(checkDurability({ ...good, innodb_doublewrite: 'OFF' }).at(-1)?.status, 'fail');
    assert.equal(checkDurability(null)[0]?.status, 'warn');
  });

  // `my_print_defaults --mysqld` on Debian 12 (MariaDB 10.11), plus what a cnf may add
  const debian = ['--socket=/run/mysqld/mysqld.sock', '--pid-file=/run/mysqld/mysqld.pid', '--basedir=/usr', '--expire_logs_days=10', '--character-set-server=utf8mb4'];
  const files = (...extra: string[]): string => [...debian, ...extra, ''].join('\n');

  it('parseOptionFiles: MariaDB\'s defaults when the files say nothing, as SHOW GLOBAL VARIABLES names them', () => {
    assert.deepEqual(parseOptionFiles(files()), { innodb_flush_log_at_trx_commit: '1', innodb_doublewrite: 'ON', log_bin: 'OFF', sync_binlog: '0' });
  });

  it('parseOptionFiles: the last option wins, in either spelling, with loose-, skip- and enable- prefixes', () => {
    assert.deepEqual(parseOptionFiles(files('--innodb_flush_log_at_trx_commit=2', '--innodb-flush-log-at-trx-commit=1', '--log-bin=/var/log/mysql/mysql-bin', '--sync_binlog=1', '--skip-innodb-doublewrite')), {
      innodb_flush_log_at_trx_commit: '1',
      innodb_doublewrite: 'OFF',
      log_bin: 'ON',
      sync_binlog: '1',
    });
    assert.equal(parseOptionFiles(files('--log_bin', '--skip-log-bin')).log_bin, 'OFF');
    assert.equal(parseOptionFiles(files('--loose-innodb-doublewrite=0')).innodb_doublewrite, 'OFF');
    assert.equal(parseOptionFiles(files('--skip-innodb-doublewrite', '--enable-innodb-doublewrite')).innodb_doublewrite, 'ON');
  });

  it('checkDurability from the option files judges the same and says where the values came from', () => {
    const fromFiles = checkDurability(parseOptionFiles(files()), 'option files');
    assert.deepEqual(fromFiles.map((f) => f.status), ['ok', 'ok']);
    assert.match(fromFiles[0]?.detail ?? '', /^innodb_flush_log_at_trx_commit=1 \(option files: mysqld does not run here\)$/);
    const binlog = checkDurability(parseOptionFiles(files('--log-bin')), 'option files');
    assert.equal(binlog[1]?.status, 'fail', 'the binlog on with MariaDB\'s sync_binlog=0: from the files too');
    assert.equal(checkDurability(parseOptionFiles(files('--innodb_flush_log_at_trx_commit=2')), 'option files')[0]?.status, 'fail');
  });

  it('checkWriteCache passes write through, and write back with FUA; warns write back without FUA', () => {
    assert.equal(checkWriteCache('sdb', 'write through\n', '0\n').status, 'ok');
    assert.equal(checkWriteCache('sdb', 'write back\n', '1\n').status, 'ok');
    assert.equal(checkWriteCache('sdb', 'write back\n', '0\n').status, 'warn');
    assert.equal(checkWriteCache('sdb', null, null).status, 'warn');
  });

  it('checkMmp requires MMP for scsi-pr and recommends it otherwise', () => {
    const on = 'Filesystem features:      has_journal ext_attr mmp extent\n';
    const off = 'Filesystem features:      has_journal ext_attr extent\n';
    assert.equal(checkMmp(on, 'scsi-pr', 'ext4').status, 'ok');
    assert.equal(checkMmp(off, 'scsi-pr', 'ext4').status, 'fail');
    assert.equal(checkMmp(off, 'lockfile', 'ext4').status, 'warn');
    assert.equal(checkMmp(null, 'scsi-pr', 'xfs').status, 'fail');
  });

  it('checkClock passes a synchronised clock and warns otherwise', () => {
    assert.equal(checkClock('yes\n').status, 'ok');
    assert.equal(checkClock('no\n').status, 'warn');
    assert.equal(checkClock(null).status, 'warn');
  });
});

describe('doctor --peer', () => {
  const db1 = { node: 'db1', cluster: 'shop', machineId: 'm1', vip: '10.0.0.10/24', disk: { device: '/dev/sdb1', wwid: 'naa.6001405', uuid: '1b2c' }, fence: { method: 'scsi-pr', identity: '0x730733771d49aebb', target: 'naa.6001405' } };
  const db2 = { ...db1, node: 'db2', machineId: 'm2', fence: { ...db1.fence, identity: '0x6be70c4206b1bdb1' } };

  it('comparePeer passes a correct pair', () => {
    const findings = comparePeer(db1, db2);
    assert.deepEqual(findings.filter((f) => f.status !== 'ok'), [], JSON.stringify(findings));
    assert.equal(findings.length, 9);
  });

  it('comparePeer fails a mismatched LU and a duplicate key, each named', () => {
    const findings = comparePeer(db1, { ...db2, disk: { ...db2.disk, wwid: 'naa.6001406' }, fence: { ...db2.fence, identity: db1.fence.identity } });
    assert.deepEqual(
      findings.filter((f) => f.status === 'fail').map((f) => f.detail),
      ['LU (WWID) differs: db1 naa.6001405, db2 naa.6001406', 'fence identity the same on both nodes: 0x730733771d49aebb'],
    );
  });

  it('comparePeer fails a cloned machine id and a shared node name', () => {
    const fails = comparePeer(db1, { ...db1 }).filter((f) => f.status === 'fail').map((f) => f.detail);
    assert.deepEqual(fails, ['node name the same on both nodes: db1', 'machine id the same on both nodes: m1', 'fence identity the same on both nodes: 0x730733771d49aebb']);
  });
});
