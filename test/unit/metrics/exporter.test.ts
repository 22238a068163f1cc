// The daemon's metrics outputs end to end (./sink.ts → ./exporter.ts): events queued before the
// exporter loads are replayed, the textfile follows changes and the interval, the listener serves
// the same text, a failing output is a log line and never an exception, and stop() writes last.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import type { MetricsConfig } from '../../../src/config/types.ts';
import { MetricsSink } from '../../../src/metrics/sink.ts';
import { CHANGE_DELAY_MS, startExporter } from '../../../src/metrics/exporter.ts';
import type { MetricsSnapshot } from '../../../src/metrics/types.ts';
import { delay } from '../../../lab/wait.ts';
import { logStub } from '../../helpers/log-stub.ts';
import { scratchDir } from '../../helpers/scratch.ts';
import { agentState, promotion, snapshot } from './fixtures.ts';

const scratch = scratchDir('metrics-exporter');

const textfileIn = (name: string): string => {
  const dir = scratch.fresh(name);
  mkdirSync(dir);
  return path.join(dir, 'fence-agent.prom');
};

const get = (port: number): Promise<string> =>
  new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/metrics', timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });

const line = (text: string, series: string): string | undefined => text.split('\n').find((l) => l.startsWith(`${series} `));

describe('MetricsSink', () => {
  it('with both outputs off it is disabled: start() loads nothing and writes nothing, events are ignored', async () => {
    const { log, lines } = logStub();
    const sink = new MetricsSink({ config: { textfile: null, listen: null, intervalMs: 5000 }, node: 'db1', cluster: 'c', snapshot: () => snapshot(), log });
    assert.equal(sink.enabled, false);
    sink.record({ type: 'self-fence' });
    sink.changed();
    await sink.start();
    await sink.stop();
    assert.deepEqual(lines, []);
  });

  it('replays the events recorded before start(), writes the textfile, and writes the end state at stop()', async () => {
    const file = textfileIn('sink');
    const { log, messages } = logStub();
    let current: MetricsSnapshot = snapshot();
    const sink = new MetricsSink({ config: { textfile: file, listen: null, intervalMs: 60_000 }, node: 'db1', cluster: 'c', snapshot: () => current, log });
    sink.record({ type: 'notify', state: 'MASTER', source: 'notify' });
    sink.record({ type: 'transition', record: promotion() });
    await sink.start();
    assert.deepEqual(messages('error'), []);
    await delay(CHANGE_DELAY_MS + 300);
    const first = readFileSync(file, 'utf8');
    assert.equal(line(first, 'fence_agent_notify_events_total{state="MASTER",source="notify"}'), 'fence_agent_notify_events_total{state="MASTER",source="notify"} 1');
    assert.equal(line(first, 'fence_agent_transitions_total{kind="promote",outcome="ok"}'), 'fence_agent_transitions_total{kind="promote",outcome="ok"} 1');
    current = snapshot({ state: agentState({ role: 'BACKUP', daemon: null }) });
    await sink.stop();
    const last = readFileSync(file, 'utf8');
    assert.equal(line(last, 'fence_agent_role{role="BACKUP"}'), 'fence_agent_role{role="BACKUP"} 1');
    assert.deepEqual(readdirSync(path.dirname(file)), ['fence-agent.prom']);
  });
});

describe('startExporter', () => {
  const config = (patch: Partial<MetricsConfig>): MetricsConfig => ({ textfile: null, listen: null, intervalMs: 60_000, ...patch });

  it('rewrites the textfile once shortly after a burst of changes, and the listener serves the same text', async () => {
    const file = textfileIn('burst');
    const { log } = logStub();
    let role: 'MASTER' | 'BACKUP' = 'BACKUP';
    let renders = 0;
    const exporter = await startExporter({
      config: config({ textfile: file, listen: { host: '127.0.0.1', port: 0 } }),
      node: 'db1',
      cluster: 'c',
      snapshot: () => {
        renders++;
        return snapshot({ state: agentState({ role }) });
      },
      log,
    });
    try {
      assert.notEqual(exporter.listening, null);
      role = 'MASTER';
      const before = renders;
      for (let i = 0; i < 20; i++) exporter.changed();
      assert.equal(existsSync(file), false, 'not written synchronously');
      await delay(CHANGE_DELAY_MS + 300);
      assert.equal(renders - before, 1, 'one write for the burst');
      const text = readFileSync(file, 'utf8');
      assert.match(text, /^fence_agent_role\{role="MASTER"\} 1$/m);
      const served = await get(exporter.listening?.port ?? 0);
      assert.match(served, /^fence_agent_role\{role="MASTER"\} 1$/m);
    } finally {
      await exporter.stop();
    }
    await assert.rejects(get(exporter.listening?.port ?? 0), 'the listener is closed at stop()');
  });

  it('rewrites the textfile every intervalMs without a change', async () => {
    const file = textfileIn('interval');
    const { log } = logStub();
    const exporter = await startExporter({ config: config({ textfile: file, intervalMs: 1000 }), node: 'db1', cluster: 'c', snapshot: () => snapshot(), log });
    try {
      await delay(1300);
      assert.ok(existsSync(file));
      rmSync(file);
      await delay(1100);
      assert.ok(existsSync(file), 'written again by the interval');
    } finally {
      await exporter.stop();
    }
  });

  it('a textfile that cannot be written is one error line per different error, and recovers', async () => {
    const dir = scratch.fresh('missing-dir');
    const file = path.join(dir, 'fence-agent.prom');
    const { log, messages } = logStub();
    const exporter = await startExporter({ config: config({ textfile: file }), node: 'db1', cluster: 'c', snapshot: () => snapshot(), log });
    try {
      await exporter.flush();
      await exporter.flush();
      assert.equal(messages('error').length, 1);
      assert.match(messages('error')[0] ?? '', /^metrics: cannot write the textfile .*ENOENT/);
      mkdirSync(dir);
      await exporter.flush();
      assert.ok(existsSync(file));
      assert.deepEqual(messages('info').filter((m) => m.includes('written again')), ['metrics: textfile written again']);
    } finally {
      await exporter.stop();
    }
  });

  it('a listener that cannot listen is one error line; the exporter runs on', async () => {
    const { log, messages } = logStub();
    const exporter = await startExporter({ config: config({ listen: { host: '192.0.2.1', port: 9720 } }), node: 'db1', cluster: 'c', snapshot: () => snapshot(), log });
    try {
      assert.equal(exporter.listening, null);
      assert.match(messages('error')[0] ?? '', /^metrics: cannot listen on 192\.0\.2\.1 port 9720 .*no listener, the daemon runs on$/);
    } finally {
      await exporter.stop();
    }
  });
});
