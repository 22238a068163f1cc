// The sample alert rules (contrib/alerts.rules.yml): valid for Prometheus (`promtool check
// rules`), each alert firing on the series that mean it and not on others (`promtool test rules`
// with alerts.rules.test.yml beside this file), and every fence_agent_* name they use one the
// daemon exports (src/metrics/registry.ts). promtool comes with Debian's prometheus package
// (scripts/setup.sh installs it).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AgentMetrics } from '../../../src/metrics/registry.ts';
import { snapshot } from '../metrics/fixtures.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const RULES = path.join(ROOT, 'contrib/alerts.rules.yml');
const RULE_TESTS = path.join(import.meta.dirname, 'alerts.rules.test.yml');

const promtool = (args: string[]): { status: number | null; said: string; error?: Error } => {
  const run = spawnSync('promtool', args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, said: `${run.stdout ?? ''}${run.stderr ?? ''}`.trim(), error: run.error };
};

const alertNames = (text: string): string[] => [...text.matchAll(/^\s*- alert: (\S+)$/gm)].map((m) => m[1] as string);

describe('contrib/alerts.rules.yml', () => {
  it('promtool check rules finds every rule valid', () => {
    const result = promtool(['check', 'rules', RULES]);
    assert.equal(result.error, undefined, `promtool could not run (${result.error?.message ?? ''}): apt-get install prometheus`);
    assert.equal(result.status, 0, result.said);
    const count = alertNames(readFileSync(RULES, 'utf8')).length;
    assert.match(result.said, new RegExp(`SUCCESS: ${count} rules found`));
  });

  it('promtool test rules: each alert fires on its series, with its labels and annotations, and not on the others', () => {
    const result = promtool(['test', 'rules', RULE_TESTS]);
    assert.equal(result.error, undefined, `promtool could not run (${result.error?.message ?? ''})`);
    assert.equal(result.status, 0, result.said);
    assert.match(result.said, /SUCCESS/);
  });

  it('every alert has a case in the promtool tests', () => {
    const tested = new Set([...readFileSync(RULE_TESTS, 'utf8').matchAll(/alertname: (\S+)/g)].map((m) => m[1]));
    const untested = alertNames(readFileSync(RULES, 'utf8')).filter((name) => !tested.has(name));
    assert.deepEqual(untested, []);
  });

  it('uses only metric names the daemon exports', async () => {
    const text = await new AgentMetrics({ node: 'db1', cluster: 'pair1', fenceMethod: 'lockfile' }).render(snapshot());
    const exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    const used = new Set([...readFileSync(RULES, 'utf8').matchAll(/\b(fence_agent_[a-z_]+)\b/g)].map((m) => m[1] as string));
    assert.ok(used.size >= 8, `found ${used.size} names`);
    assert.deepEqual([...used].filter((name) => !exported.has(name)), []);
  });
});
