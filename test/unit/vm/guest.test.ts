import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { productionPackages, vmAgentConfig } from '../../../lab/vm/agent.ts';
import { parseFacts, parseSections, withExit } from '../../../lab/vm/facts.ts';
import { ganeshaConf } from '../../../lab/vm/nfs.ts';
import { shellQuote, sshArgv } from '../../../lab/vm/ssh.ts';
import { resolveConfig } from '../../../src/config/schema.ts';

const REPO = path.resolve(import.meta.dirname, '../../..');

describe('ssh into a lab VM', () => {
  it('quotes words for the remote shell', () => {
    assert.equal(shellQuote('/dev/sdb'), '/dev/sdb');
    assert.equal(shellQuote('a b'), `'a b'`);
    assert.equal(shellQuote(`it's`), `'it'\\''s'`);
    assert.equal(shellQuote(''), `''`);
  });

  it('runs ssh in the lab namespace against the VM hostfwd, without host key bookkeeping', () => {
    const argv = sshArgv({ netns: 'vl-lab', port: 2201, key: '/c/id' }, ['echo', 'a b']);
    assert.deepEqual(argv.slice(0, 4), ['nsenter', '--net=/run/netns/vl-lab', '--', 'ssh']);
    assert.ok(argv.includes('UserKnownHostsFile=/dev/null') && argv.includes('BatchMode=yes'));
    assert.deepEqual(argv.slice(-3), ['root@127.0.0.1', '--', `echo 'a b'`]);
    assert.equal(sshArgv({ netns: 'vl-lab', port: 2201, key: '/c/id' }, '', { tty: true }).at(-1), 'root@127.0.0.1');
  });
});

describe('guest facts', () => {
  it('splits @@sections and reads exit= trailers', () => {
    assert.deepEqual([...parseSections('noise\n@@a\n1\n2\n@@b\n\n@@c\nx\n')], [
      ['a', '1\n2'],
      ['b', ''],
      ['c', 'x'],
    ]);
    assert.deepEqual(withExit('keys\nexit=6'), { exitCode: 6, output: 'keys' });
    assert.deepEqual(withExit('exit=0'), { exitCode: 0, output: '' });
    assert.deepEqual(withExit('no trailer'), { exitCode: -1, output: 'no trailer' });
  });

  it('parses what the facts script prints', () => {
    const facts = parseFacts(
      [
        '@@hostname', 'node1', '@@machine-id', 'ab'.repeat(16), '@@initiator', 'iqn.2025-01.lab.vmlab:node1',
        '@@read-keys', '  PR generation=0x0, there are NO registered reservation keys', 'exit=0',
        '@@watchdog-identity', 'Software Watchdog', '@@watchdog-timeout', '5',
        '@@enabled', 'mariadb.service disabled', 'mariadb.socket masked', '@@active', 'mariadb.service inactive',
        '@@config-check', 'ok', 'exit=0',
      ].join('\n'),
    );
    assert.equal(facts.hostname, 'node1');
    assert.equal(facts.readKeys.exitCode, 0);
    assert.deepEqual(facts.watchdog, { identity: 'Software Watchdog', timeoutS: 5 });
    assert.deepEqual(facts.enabled, { 'mariadb.service': 'disabled', 'mariadb.socket': 'masked' });
    assert.equal(facts.leaseMount, '');
    assert.deepEqual(facts.configCheck, { exitCode: 0, output: 'ok' });
  });
});

describe('the agent copied into a lab VM', () => {
  it('takes the production packages of a lockfile, not the dev ones', () => {
    const lock = JSON.stringify({
      packages: {
        '': {},
        'node_modules/execa': {},
        'node_modules/@scope/pkg': {},
        'node_modules/execa/node_modules/nested': {},
        'node_modules/typescript': { dev: true },
      },
    });
    assert.deepEqual(productionPackages(lock), ['node_modules/@scope/pkg', 'node_modules/execa']);
    assert.throws(() => productionPackages('{"lockfileVersion":1}'), /lockfileVersion 2 or 3/);
  });

  it('the project lockfile: the runtime dependencies in, the toolchain out', () => {
    const packages = productionPackages(readFileSync(path.join(REPO, 'package-lock.json'), 'utf8'));
    for (const want of ['node_modules/execa', 'node_modules/mysql2', 'node_modules/pino', 'node_modules/yargs']) assert.ok(packages.includes(want), want);
    for (const not of ['node_modules/typescript', 'node_modules/eslint', 'node_modules/esbuild', 'node_modules/tsx']) assert.ok(!packages.includes(not), not);
  });

  it('generates a configuration the agent accepts: the stock mariadb.service, the lease on NFS, softdog', () => {
    const config = resolveConfig(vmAgentConfig('node2'), '/etc/fence-agent/config.json');
    assert.equal(config.node, 'node2');
    assert.equal(config.mysqld.systemdUnit, 'mariadb.service');
    assert.equal(config.disk.device, '/dev/sdb1');
    assert.equal(config.fence.method, 'lockfile');
    if (config.fence.method === 'lockfile') {
      assert.equal(config.fence.path, '/mnt/lease/vmlab.lease');
      assert.deepEqual(config.fence.watchdog, { device: '/dev/watchdog0', timeoutMs: 8000, nowayout: false, daemonRestartMs: 3000 });
    }
  });
});

describe('nfs-ganesha configuration', () => {
  it('serves NFSv4 over TCP only, on the lab address, without a grace period, recovering into the lab dir', () => {
    const conf = ganeshaConf({ address: '192.168.58.254', dir: '/w/ganesha', exportDir: '/w/lease' });
    assert.match(conf, /Protocols = 4;/);
    assert.match(conf, /Bind_addr = 192\.168\.58\.254;/);
    assert.match(conf, /Graceless = true;/);
    assert.match(conf, /RecoveryRoot = "\/w\/ganesha\/recovery";/);
    assert.match(conf, /Path = "\/w\/lease";\s+Pseudo = \/lease;/);
    assert.match(conf, /Transports = TCP;/);
  });
});
