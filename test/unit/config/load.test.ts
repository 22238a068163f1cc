import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { configPathFrom, DEFAULT_CONFIG_PATH, loadConfig, maskSecrets } from '../../../src/config/load.ts';
import { FenceAgentError } from '../../../src/errors.ts';
import { scratchDir } from '../../helpers/scratch.ts';

const { dir } = scratchDir('load');

const minimal = (health?: Record<string, string>): Record<string, unknown> => ({
  node: 'db1',
  vip: { address: '10.0.0.100', interface: 'eth0' },
  disk: { device: '/dev/sdb1', mountpoint: '/data' },
  mysqld: health === undefined ? { systemdUnit: 'mariadb.service' } : { systemdUnit: 'mariadb.service', health },
  fence: { method: 'none' },
});

/** Writes `text` to a fresh file in the temp dir with exactly `mode` (chmod, so umask does not interfere). */
const writeConfig = (name: string, text: string, mode: number): string => {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  chmodSync(file, mode);
  return file;
};

const assertConfigError = (fn: () => unknown, ...patterns: RegExp[]): void => {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof FenceAgentError, `expected a FenceAgentError, got ${String(error)}`);
    assert.equal(error.code, 'ECONFIG');
    assert.equal(error.exitCode, 6);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
};

describe('loadConfig', () => {
  it('loadConfig reads, parses and validates a configuration file', () => {
    const file = writeConfig('ok.json', JSON.stringify(minimal()), 0o644);
    const config = loadConfig(file);
    assert.equal(config.configPath, file);
    assert.equal(config.node, 'db1');
    assert.equal(config.vip.prefix, 32);
    assert.equal(config.mysqld.health.password, null);
  });

  it('loadConfig rejects a missing file with ECONFIG naming the file and ENOENT', () => {
    const file = path.join(dir, 'does-not-exist.json');
    assertConfigError(() => loadConfig(file), new RegExp(`^config ${file}: cannot read it \\(ENOENT\\)$`));
  });

  it('loadConfig rejects a file that is not valid JSON', () => {
    const file = writeConfig('broken.json', '{ "node": "db1", ', 0o600);
    assertConfigError(() => loadConfig(file), new RegExp(`^config ${file}: not valid JSON: `));
  });

  it('loadConfig passes validation errors of the content through as ECONFIG', () => {
    const raw = minimal();
    raw.vip = { address: 'nope', interface: 'eth0' };
    const file = writeConfig('bad-vip.json', JSON.stringify(raw), 0o600);
    assertConfigError(() => loadConfig(file), /vip\.address: expected an IPv4 or IPv6 address, got "nope"/);
  });

  it('loadConfig refuses a file holding a password that others may read (mode 0644) and says chmod 600', () => {
    const file = writeConfig('secret-0644.json', JSON.stringify(minimal({ password: 's3cret' })), 0o644);
    assertConfigError(() => loadConfig(file), /mysqld\.health\.password/, /mode 0644/, new RegExp(`chmod 600 ${file}$`));
  });

  it('loadConfig refuses a file holding a password that the group may read (mode 0640)', () => {
    const file = writeConfig('secret-0640.json', JSON.stringify(minimal({ password: 's3cret' })), 0o640);
    assertConfigError(() => loadConfig(file), /mode 0640/, /chmod 600/);
  });

  it('loadConfig accepts a file holding a password at mode 0600', () => {
    const file = writeConfig('secret-0600.json', JSON.stringify(minimal({ password: 's3cret' })), 0o600);
    assert.equal(loadConfig(file).mysqld.health.password, 's3cret');
  });

  it('loadConfig accepts a world-readable file that holds no password', () => {
    const file = writeConfig('public-0644.json', JSON.stringify(minimal({ user: 'monitor' })), 0o644);
    assert.equal(loadConfig(file).mysqld.health.user, 'monitor');
  });
});

describe('maskSecrets', () => {
  it('maskSecrets replaces the SQL health password with *** and leaves the original untouched', () => {
    const file = writeConfig('mask.json', JSON.stringify(minimal({ password: 's3cret' })), 0o600);
    const config = loadConfig(file);
    const masked = maskSecrets(config);
    assert.equal(masked.mysqld.health.password, '***');
    assert.equal(masked.mysqld.health.user, 'root');
    assert.equal(config.mysqld.health.password, 's3cret');
    assert.ok(!JSON.stringify(masked).includes('s3cret'));
    assert.deepEqual({ ...masked, mysqld: { ...masked.mysqld, health: { ...masked.mysqld.health, password: 's3cret' } } }, config);
  });

  it('maskSecrets keeps a null password null', () => {
    const file = writeConfig('mask-null.json', JSON.stringify(minimal()), 0o600);
    assert.equal(maskSecrets(loadConfig(file)).mysqld.health.password, null);
  });
});

describe('configPathFrom', () => {
  it('configPathFrom prefers the --config flag over FENCE_AGENT_CONFIG', () => {
    assert.equal(configPathFrom('/srv/flag.json', { FENCE_AGENT_CONFIG: '/srv/env.json' }), '/srv/flag.json');
  });

  it('configPathFrom uses FENCE_AGENT_CONFIG when no flag is given', () => {
    assert.equal(configPathFrom(undefined, { FENCE_AGENT_CONFIG: '/srv/env.json' }), '/srv/env.json');
  });

  it('configPathFrom falls back to /etc/fence-agent/config.json', () => {
    assert.equal(DEFAULT_CONFIG_PATH, '/etc/fence-agent/config.json');
    assert.equal(configPathFrom(undefined, {}), '/etc/fence-agent/config.json');
  });

  it('configPathFrom treats an empty FENCE_AGENT_CONFIG or flag as unset', () => {
    assert.equal(configPathFrom('', { FENCE_AGENT_CONFIG: '' }), '/etc/fence-agent/config.json');
  });

  it('configPathFrom resolves a relative flag against the working directory', () => {
    assert.equal(configPathFrom('conf/fa.json', {}), path.resolve(process.cwd(), 'conf/fa.json'));
  });
});
