import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { resolveConfig } from '../../src/config/schema.ts';
import type { Config } from '../../src/config/types.ts';
import { FenceAgentError } from '../../src/errors.ts';
import { agentCommandProblem, formatSeconds, instanceSpecProblem, keepalivedConf, type KeepalivedInstanceSpec } from '../../src/keepalived-conf.ts';
import { sh } from '../../lab/sh.ts';
import { scratchDir } from '../helpers/scratch.ts';

const { dir } = scratchDir('keepalived-conf');

const REPO = path.resolve(import.meta.dirname, '../..');
const CONFIG_PATH = '/etc/fence-agent/config.json';
const AGENT = '/usr/local/bin/fence-agent';

type Raw = Record<string, unknown>;

const config = (patch: Raw = {}): Config =>
  resolveConfig(
    {
      node: 'db1',
      cluster: 'shop',
      vip: { address: '192.168.6.176', prefix: 24, interface: 'eth0' },
      disk: { device: '/dev/sdb1', mountpoint: '/data' },
      mysqld: { systemdUnit: 'mariadb.service' },
      fence: { method: 'none' },
      ...patch,
    },
    CONFIG_PATH,
  );

const SPEC: KeepalivedInstanceSpec = { interface: 'eth0', virtualRouterId: 51, priority: 150 };

/** The generated file's lines without comments and indentation, comments stripped as keepalived does. */
const directives = (text: string): string[] =>
  text
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line !== '');

/** The directives between `header {` and its closing brace (one level; nested blocks included). */
const block = (text: string, header: string): string[] => {
  const lines = directives(text);
  const start = lines.indexOf(`${header} {`);
  assert.ok(start >= 0, `no block ${header}`);
  const out: string[] = [];
  let depth = 1;
  for (const line of lines.slice(start + 1)) {
    if (line.endsWith('{')) depth += 1;
    if (line === '}') depth -= 1;
    if (depth === 0) break;
    out.push(line);
  }
  return out;
};

const assertThrowsCode = (fn: () => unknown, code: string, exitCode: number, pattern: RegExp): void => {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof FenceAgentError, String(error));
    assert.equal(error.code, code);
    assert.equal(error.exitCode, exitCode);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes('\n'), error.message);
    return true;
  });
};

describe('keepalivedConf', () => {
  it('keepalivedConf reproduces contrib/keepalived.conf.example from contrib/config.example.json', () => {
    const example = JSON.parse(readFileSync(path.join(REPO, 'contrib/config.example.json'), 'utf8')) as unknown;
    const text = keepalivedConf(
      resolveConfig(example, CONFIG_PATH),
      { ...SPEC, unicastSrcIp: '192.168.6.174', unicastPeers: ['192.168.6.175'], routerId: 'db1', garpMasterRefreshS: 2 },
      { agentCommand: AGENT },
    );
    assert.equal(text, readFileSync(path.join(REPO, 'contrib/keepalived.conf.example'), 'utf8'));
  });

  it('keepalivedConf writes global_defs with script security and root as the script user', () => {
    assert.deepEqual(block(keepalivedConf(config(), SPEC, { agentCommand: AGENT }), 'global_defs'), ['enable_script_security', 'script_user root']);
  });

  it('keepalivedConf adds router_id only when given and notify_fifo only when keepalived.notifyFifo is set', () => {
    const text = keepalivedConf(config({ keepalived: { notifyFifo: '/run/keepalived/fa.fifo' } }), { ...SPEC, routerId: 'db1' }, { agentCommand: AGENT });
    assert.deepEqual(block(text, 'global_defs'), ['enable_script_security', 'script_user root', 'router_id db1', 'notify_fifo /run/keepalived/fa.fifo']);
  });

  it('keepalivedConf takes the vrrp_script timing from the keepalived section, in seconds, and gives it no weight', () => {
    const text = keepalivedConf(
      config({ deadlines: { checkMs: 2500 }, keepalived: { checkIntervalMs: 5000, checkTimeoutMs: 3000, checkFall: 3, checkRise: 4 } }),
      SPEC,
      { agentCommand: AGENT },
    );
    assert.deepEqual(block(text, 'vrrp_script chk_fence_agent'), [`script "${AGENT} check"`, 'interval 5', 'timeout 3', 'fall 3', 'rise 4']);
    assert.ok(!/\bweight\b/.test(block(text, 'vrrp_script chk_fence_agent').join('\n')), 'no weight directive');
    assert.match(text, /# no weight: a failing check must put the instance in FAULT/);
  });

  it("keepalivedConf tracks the daemon's health file under runDir with weight 0", () => {
    const text = keepalivedConf(config({ runDir: '/run/fa' }), SPEC, { agentCommand: AGENT });
    assert.deepEqual(block(text, 'track_file fence_agent_health'), ['file "/run/fa/health"', 'weight 0']);
    assert.deepEqual(block(block(text, 'vrrp_instance VI_1').join('\n'), 'track_file'), ['fence_agent_health']);
  });

  it("keepalivedConf writes a BACKUP, nopreempt instance tracking the daemon's health file and the check, and notifying the agent", () => {
    const text = keepalivedConf(config(), SPEC, { agentCommand: AGENT });
    assert.deepEqual(block(text, 'vrrp_instance VI_1'), [
      'state BACKUP',
      'nopreempt',
      'interface eth0',
      'virtual_router_id 51',
      'priority 150',
      'advert_int 1',
      'virtual_ipaddress {',
      '192.168.6.176/24 dev eth0',
      '}',
      'track_file {',
      'fence_agent_health',
      '}',
      'track_script {',
      'chk_fence_agent',
      '}',
      `notify "${AGENT} notify"`,
    ]);
  });

  it('keepalivedConf names the instance after keepalived.instance when it is set', () => {
    const text = keepalivedConf(config({ keepalived: { instance: 'VI_DB' } }), SPEC, { agentCommand: AGENT });
    assert.ok(directives(text).includes('vrrp_instance VI_DB {'));
    assert.match(text, /keepalived appends "INSTANCE VI_DB <STATE> <PRIORITY>"/);
  });

  it('keepalivedConf adds the unicast addresses, advert_int and garp_master_refresh when given', () => {
    const text = keepalivedConf(
      config(),
      { ...SPEC, advertIntervalMs: 3000, unicastSrcIp: '192.168.6.174', unicastPeers: ['192.168.6.175', '192.168.6.177'], garpMasterRefreshS: 5 },
      { agentCommand: AGENT },
    );
    const instance = block(text, 'vrrp_instance VI_1');
    assert.ok(instance.includes('advert_int 3'));
    assert.ok(instance.includes('unicast_src_ip 192.168.6.174'));
    assert.deepEqual(block(text, 'unicast_peer'), ['192.168.6.175', '192.168.6.177']);
    assert.equal(instance.at(-1), 'garp_master_refresh 5');
  });

  it('keepalivedConf passes --config PATH to check and notify when a config path is given', () => {
    const text = keepalivedConf(config(), SPEC, { agentCommand: '/usr/bin/node /opt/fence-agent/dist/cli.cjs', configPath: '/srv/fa/config.json' });
    assert.ok(directives(text).includes('script "/usr/bin/node /opt/fence-agent/dist/cli.cjs check --config /srv/fa/config.json"'));
    assert.ok(directives(text).includes('notify "/usr/bin/node /opt/fence-agent/dist/cli.cjs notify --config /srv/fa/config.json"'));
  });

  it('keepalivedConf writes an IPv6 VIP and a sub-second advert_int for it (VRRPv3)', () => {
    const text = keepalivedConf(config({ vip: { address: 'fd00::100', prefix: 64, interface: 'eth1' } }), { ...SPEC, advertIntervalMs: 50, unicastPeers: ['fd00::2'] }, { agentCommand: AGENT });
    const instance = block(text, 'vrrp_instance VI_1');
    assert.ok(instance.includes('advert_int 0.05'));
    assert.ok(instance.includes('fd00::100/64 dev eth1'));
  });

  it('keepalivedConf refuses check timing that is not whole seconds: keepalived would ignore it (a Config not from the schema, which refuses it first)', () => {
    const at = (keepalived: Partial<Config['keepalived']>): Config => {
      const resolved = config();
      return { ...resolved, keepalived: { ...resolved.keepalived, ...keepalived } };
    };
    assertThrowsCode(
      () => keepalivedConf(at({ checkIntervalMs: 2500, checkTimeoutMs: 2000 }), SPEC, { agentCommand: AGENT }),
      'ECONFIG',
      6,
      /^config \/etc\/fence-agent\/config\.json: keepalived\.checkIntervalMs: expected whole seconds for keepalived\.conf \(vrrp_script interval and timeout are integers, keepalived\.conf\(5\)\), got 2500$/,
    );
    assertThrowsCode(
      () => keepalivedConf(at({ checkTimeoutMs: 1600 }), SPEC, { agentCommand: AGENT }),
      'ECONFIG',
      6,
      /keepalived\.checkTimeoutMs: expected whole seconds/,
    );
  });

  it('keepalivedConf refuses a bad instance spec with EUSAGE naming the field', () => {
    const refuse = (spec: Partial<KeepalivedInstanceSpec>, pattern: RegExp): void =>
      assertThrowsCode(() => keepalivedConf(config(), { ...SPEC, ...spec }, { agentCommand: AGENT }), 'EUSAGE', 2, pattern);
    refuse({ virtualRouterId: 0 }, /^keepalived\.conf: virtualRouterId: expected an integer 1\.\.255, got 0$/);
    refuse({ virtualRouterId: 256 }, /virtualRouterId: expected an integer 1\.\.255, got 256/);
    refuse({ priority: 255 }, /priority: expected an integer 1\.\.254, got 255/);
    refuse({ interface: 'a-very-long-ifname' }, /interface: expected an interface name \(at most 15 bytes\)/);
    refuse({ advertIntervalMs: 1500 }, /advertIntervalMs: expected whole seconds in ms, 1000\.\.255000 \(an IPv4 VIP means VRRPv2/);
    refuse({ unicastSrcIp: 'fd00::1' }, /unicastSrcIp: expected an IPv4 address \(the VIP's family\), got "fd00::1"/);
    refuse({ unicastPeers: ['192.168.6.175', 'db2'] }, /unicastPeers: expected an IPv4 address \(the VIP's family\), got "db2"/);
    refuse({ routerId: 'db 1' }, /routerId: expected a router id without white space/);
    refuse({ garpMasterRefreshS: 0 }, /garpMasterRefreshS: expected whole seconds 1\.\.86400, got 0/);
  });

  it('keepalivedConf refuses an agent command or config path keepalived would split or cut', () => {
    assertThrowsCode(() => keepalivedConf(config(), SPEC, { agentCommand: 'fence-agent' }), 'EUSAGE', 2, /agent command: expected an absolute path/);
    assertThrowsCode(() => keepalivedConf(config(), SPEC, { agentCommand: '/usr/bin/fence-agent "x"' }), 'EUSAGE', 2, /agent command/);
    assertThrowsCode(() => keepalivedConf(config(), SPEC, { agentCommand: AGENT, configPath: '/srv/my config.json' }), 'EUSAGE', 2, /config path: expected an absolute path without white space/);
    assertThrowsCode(() => keepalivedConf(config(), SPEC, { agentCommand: AGENT, configPath: 'config.json' }), 'EUSAGE', 2, /config path/);
  });

  it('keepalivedConf output passes keepalived --config-test without a warning', async () => {
    // Needs root and keepalived, as the rest of the suite (scripts/setup.sh). keepalived checks that
    // the interfaces exist: a throw-away network namespace gets a veth pair named like the config's.
    // /bin/true stands in for the agent: enable_script_security wants an existing root-owned script.
    const text = keepalivedConf(
      config({ vip: { address: '192.168.6.176', prefix: 24, interface: 'fa0' }, keepalived: { notifyFifo: path.join(dir, 'notify.fifo') } }),
      { ...SPEC, interface: 'fa0', unicastSrcIp: '192.168.6.174', unicastPeers: ['192.168.6.175'], routerId: 'db1', garpMasterRefreshS: 2 },
      { agentCommand: '/bin/true' },
    );
    const file = path.join(dir, 'keepalived.conf');
    writeFileSync(file, text);
    const ran = await sh(['unshare', '--net', 'sh', '-c', 'ip link add fa0 type veth peer name fa1 && exec keepalived --config-test -f "$0"', file]);
    assert.equal(ran.exitCode, 0, ran.stderr);
    assert.equal(ran.stderr.trim(), '');
  });
});

describe('instanceSpecProblem', () => {
  it('instanceSpecProblem without a VIP address checks only what does not depend on its family', () => {
    assert.equal(instanceSpecProblem({ ...SPEC, advertIntervalMs: 50, unicastSrcIp: 'fd00::1', unicastPeers: ['10.0.0.2'] }, null), null);
    assert.deepEqual(instanceSpecProblem({ ...SPEC, unicastSrcIp: 'db1' }, null), { field: 'unicastSrcIp', expected: 'an IPv4 or IPv6 address', got: 'db1' });
    assert.deepEqual(instanceSpecProblem({ ...SPEC, advertIntervalMs: 5 }, null), { field: 'advertIntervalMs', expected: 'an integer 10..255000 (ms)', got: 5 });
  });

  it('instanceSpecProblem wants centiseconds up to 40.95 s for an IPv6 VIP', () => {
    assert.equal(instanceSpecProblem({ ...SPEC, advertIntervalMs: 40950 }, 'fd00::100'), null);
    assert.equal(instanceSpecProblem({ ...SPEC, advertIntervalMs: 40960 }, 'fd00::100')?.field, 'advertIntervalMs');
    assert.equal(instanceSpecProblem({ ...SPEC, advertIntervalMs: 55 }, 'fd00::100')?.field, 'advertIntervalMs');
  });

  it('instanceSpecProblem accepts the edges of the VRRP ranges', () => {
    assert.equal(instanceSpecProblem({ ...SPEC, virtualRouterId: 1, priority: 1, advertIntervalMs: 255000, garpMasterRefreshS: 1 }, '10.0.0.1'), null);
    assert.equal(instanceSpecProblem({ ...SPEC, virtualRouterId: 255, priority: 254, advertIntervalMs: 1000 }, '10.0.0.1'), null);
  });
});

describe('agentCommandProblem and formatSeconds', () => {
  it('agentCommandProblem accepts an absolute path with arguments and refuses a bare name, quotes and backslashes', () => {
    assert.equal(agentCommandProblem('/usr/local/bin/fence-agent'), null);
    assert.equal(agentCommandProblem('/usr/bin/node /opt/fence-agent/dist/cli.cjs'), null);
    assert.notEqual(agentCommandProblem('fence-agent'), null);
    assert.notEqual(agentCommandProblem("/usr/bin/fence-agent 'x'"), null);
    assert.notEqual(agentCommandProblem('/usr/bin/fence\\-agent'), null);
    assert.notEqual(agentCommandProblem(''), null);
  });

  it('formatSeconds prints whole seconds as integers and anything else with up to three decimals', () => {
    assert.equal(formatSeconds(2000), '2');
    assert.equal(formatSeconds(1500), '1.5');
    assert.equal(formatSeconds(1234), '1.234');
    assert.equal(formatSeconds(50), '0.05');
    assert.equal(formatSeconds(100), '0.1');
  });
});
