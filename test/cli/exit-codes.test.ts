// Exit paths of the built CLI (dist/cli.cjs), spawned for real: exit codes and the one stderr
// line. Nothing here needs a namespace, a disk or MariaDB.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { CLI } from '../../lab/node.ts';
import { sh } from '../../lab/sh.ts';
import { scratchDir } from '../helpers/scratch.ts';

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
    for (const command of ['check', 'notify', 'daemon', 'status', 'config']) assert.match(ran.stdout, new RegExp(`fence-agent ${command}`));
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

  test('check with a malformed --timeout-ms exits 2', async () => {
    const ran = await cli(['check', '--timeout-ms', 'soon']);
    assert.equal(ran.exitCode, 2);
    assert.match(ran.stderr, /--timeout-ms: expected milliseconds/);
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
    assert.match(ran.stderr, /ignored: INSTANCE VI_WEB is not the configured instance VI_DB/);
  });
});
