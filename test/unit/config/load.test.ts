import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
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

  // trust, as keepalived's enable_script_security (src/config/trust.ts); uid 0: only root owns
  it('loadConfig refuses a file group or other may write, with or without a password (modes 0666, 0602, 0620)', () => {
    for (const [name, mode, health] of [['w-0666.json', 0o666, undefined], ['w-0602.json', 0o602, { password: 's3cret' }], ['w-0620.json', 0o620, undefined]] as const) {
      const file = writeConfig(name, JSON.stringify(minimal(health)), mode);
      assertConfigError(() => loadConfig(file, { uid: 0 }), new RegExp(`^config ${file}: not trusted: ${file} is writable by group or other \\(mode 0${mode.toString(8)}\\); expected no group/other write: chmod go-w ${file}$`));
    }
  });

  it('loadConfig refuses a file owned by another user', () => {
    const file = writeConfig('other-owner.json', JSON.stringify(minimal()), 0o600);
    chownSync(file, 1000, 1000);
    assertConfigError(() => loadConfig(file, { uid: 0 }), new RegExp(`: not trusted: ${file} is owned by uid 1000; expected root: chown root ${file}$`));
  });

  it('loadConfig refuses a file in a directory others may write, and accepts one in a sticky directory such as /tmp', () => {
    const open = path.join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const file = path.join(open, 'config.json');
    writeFileSync(file, JSON.stringify(minimal()), { mode: 0o600 });
    assertConfigError(() => loadConfig(file, { uid: 0 }), new RegExp(`: not trusted: its directory ${open} is writable by group or other \\(mode 0777\\); expected no group/other write: chmod go-w ${open}$`));
    chmodSync(open, 0o1777);
    assert.equal(loadConfig(file, { uid: 0 }).node, 'db1');
  });

  it('loadConfig judges a symlinked configuration by the file it points to', () => {
    const open = path.join(dir, 'open-target');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const target = path.join(open, 'config.json');
    writeFileSync(target, JSON.stringify(minimal()), { mode: 0o600 });
    const link = path.join(dir, 'linked.json');
    symlinkSync(target, link);
    assertConfigError(() => loadConfig(link, { uid: 0 }), new RegExp(`not trusted: its directory ${open} is writable by group or other`));
  });

  it('loadConfig refuses a mysqld start program, a stop program or a state directory that others may write', () => {
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    const program = path.join(bin, 'mariadbd');
    writeFileSync(program, '#!/bin/sh\n', { mode: 0o755 });
    const stateDir = path.join(dir, 'state');
    mkdirSync(stateDir, { mode: 0o700 });
    const base = { ...minimal(), stateDir, runDir: path.join(dir, 'no-such-run') };
    const withStart = { ...base, mysqld: { start: [program], pidFile: '/run/mysqld/mysqld.pid' } };
    const ok = writeConfig('start-ok.json', JSON.stringify(withStart), 0o600);
    assert.deepEqual(loadConfig(ok, { uid: 0 }).mysqld.start, [program]);
    chmodSync(program, 0o775);
    assertConfigError(() => loadConfig(ok, { uid: 0 }), new RegExp(`: mysqld\\.start\\[0\\] not trusted: ${program} is writable by group or other \\(mode 0775\\)`));
    chmodSync(program, 0o755);
    const openBin = path.join(dir, 'open-bin');
    mkdirSync(openBin);
    chmodSync(openBin, 0o777);
    const stopper = path.join(openBin, 'stop-mysqld');
    writeFileSync(stopper, '#!/bin/sh\n', { mode: 0o755 });
    const withStop = writeConfig('stop.json', JSON.stringify({ ...base, mysqld: { ...withStart.mysqld, stop: [stopper] } }), 0o600);
    assertConfigError(() => loadConfig(withStop, { uid: 0 }), new RegExp(`: mysqld\\.stop\\[0\\] not trusted: its directory ${openBin} is writable by group or other \\(mode 0777\\)`));
    chmodSync(stateDir, 0o733);
    assertConfigError(() => loadConfig(ok, { uid: 0 }), new RegExp(`: stateDir not trusted: ${stateDir} is writable by group or other \\(mode 0733\\)`));
  });
});

describe('loadConfig events.exec', () => {
  it('loadConfig refuses an event hook that others may write, or that a non-root user owns, as keepalived refuses such a script', () => {
    const bin = path.join(dir, 'hooks');
    mkdirSync(bin);
    const hook = path.join(bin, 'on-event');
    writeFileSync(hook, '#!/bin/sh\n', { mode: 0o700 });
    const file = writeConfig('hook.json', JSON.stringify({ ...minimal(), events: { exec: hook } }), 0o600);
    assert.equal(loadConfig(file, { uid: 0 }).events.exec, hook);
    chmodSync(hook, 0o722);
    assertConfigError(() => loadConfig(file, { uid: 0 }), new RegExp(`: events\\.exec not trusted: ${hook} is writable by group or other \\(mode 0722\\); expected no group/other write: chmod go-w ${hook}$`));
    chmodSync(hook, 0o700);
    chownSync(hook, 1000, 1000);
    assertConfigError(() => loadConfig(file, { uid: 0 }), new RegExp(`: events\\.exec not trusted: ${hook} is owned by uid 1000; expected root: chown root ${hook}$`));
    chownSync(hook, 0, 0);
    chmodSync(bin, 0o777);
    assertConfigError(() => loadConfig(file, { uid: 0 }), new RegExp(`: events\\.exec not trusted: its directory ${bin} is writable by group or other`));
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
