// The scenario harness writes a scenario's timeline, pass or fail — on a fake pair: nothing runs
// but the harness itself (the ledger's client is started in a network namespace that does not
// exist and exits at once; this test writes the ack file it would have written).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Cluster, ClusterNode, ClusterObservation } from '../../../lab/cluster.ts';
import { runScenario, type Scenario } from '../../../lab/scenario/harness.ts';
import { parseRecording } from '../../../lab/timeline/recording.ts';

const MASTER = { down: false, mounted: true, superblock: true, vip: true, mysqld: 1 };
const BACKUP = { down: false, mounted: false, superblock: false, vip: false, mysqld: 0 };
const ok = (stdout: string, stderr = '') => Promise.resolve({ exitCode: 0, stdout, stderr });

/** A pair that is always converged (db1 MASTER), whose ledger rows are the acks the test wrote. */
function fakeCluster(dir: string): Cluster {
  const ackFile = path.join(dir, 'ledger.acks');
  writeFileSync(ackFile, '');
  const node = (name: string, serverId: number): ClusterNode =>
    ({
      name,
      serverId,
      timeScale: 1,
      agent: () => ok('', `healthy ${name === 'db1' ? 'MASTER' : 'BACKUP'}: fake`),
      sql: () => ok(readFileSync(ackFile, 'utf8').split('\n').filter(Boolean).map((line) => line.split(' ')).map(([id, , server]) => `${id}\t${server}\n`).join('')),
      logTail: () => Promise.resolve(''),
      fullLog: () => Promise.resolve(''),
    }) as unknown as ClusterNode;
  const [db1, db2] = [node('db1', 1), node('db2', 2)];
  let id = 0;
  const writer = setInterval(() => appendFileSync(ackFile, `${++id} ${Date.now()} 1\n`), 10);
  const observation: ClusterObservation = { nodes: { db1: MASTER, db2: BACKUP }, leaseHolder: 'db1' };
  return {
    kind: 'netns',
    timeScale: 1,
    nodes: [db1, db2],
    dir,
    clientNetns: `fa-timeline-test-${process.pid}-none`,
    vip: '127.0.0.1',
    waitConverged: () => Promise.resolve({ master: db1, backup: db2 }),
    observer: () => ({ nodeNames: ['db1', 'db2'], start: () => Promise.resolve(), observe: () => observation, stop: () => undefined }),
    vipHolder: () => Promise.resolve(db1),
    watchdogFires: () => Promise.resolve([]),
    destroy: () => {
      clearInterval(writer);
      return Promise.resolve(null);
    },
  } as unknown as Cluster;
}

const scenario = (body: Scenario['body']): Scenario => ({ id: 'fake-scenario', group: 'pair', title: 'a fake scenario', body });
const dirs: string[] = [];
const tmp = (): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fa-harness-timeline-'));
  dirs.push(dir);
  return dir;
};
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('runScenario and the timeline', () => {
  it('writes <id>.svg and <id>.json to the path asked, with the samples and the acks of the run', async () => {
    const out = tmp();
    const lines: string[] = [];
    const result = await runScenario(scenario(async ({ master }) => { await new Promise((r) => setTimeout(r, 300)); return master; }), () => Promise.resolve(fakeCluster(tmp())), 'netns', { timelinePath: path.join(out, 'fake-scenario.svg'), log: (l) => lines.push(l) });
    assert.match(readFileSync(path.join(out, 'fake-scenario.svg'), 'utf8'), /^<svg /);
    const recording = parseRecording(readFileSync(path.join(out, 'fake-scenario.json'), 'utf8'));
    assert.equal(recording.passed, result.passed);
    assert.deepEqual(recording.nodes, ['db1', 'db2']);
    assert.deepEqual(recording.servers, { '1': 'db1', '2': 'db2' });
    assert.ok(recording.samples.length > 3, `samples: ${recording.samples.length}`);
    assert.equal(recording.acks.length, result.acked);
    assert.equal(lines.length, 1);
    assert.match(lines[0] as string, /^timeline: .*fake-scenario\.svg/);
  });

  it('writes it for a failed scenario too, marked FAILED', async () => {
    const out = tmp();
    const result = await runScenario(scenario(() => Promise.reject(new Error('the body failed'))), () => Promise.resolve(fakeCluster(tmp())), 'netns', { timelinePath: path.join(out, 'x.svg'), log: () => undefined });
    assert.equal(result.passed, false);
    assert.equal(parseRecording(readFileSync(path.join(out, 'x.json'), 'utf8')).passed, false);
    assert.match(readFileSync(path.join(out, 'x.svg'), 'utf8'), /fake-scenario \(netns lab\): FAILED/);
  });

  it('does not fail a scenario because the picture could not be made: one line says why', async () => {
    const blocker = path.join(tmp(), 'a-file');
    writeFileSync(blocker, '');
    const lines: string[] = [];
    const result = await runScenario(scenario(({ master }) => Promise.resolve(master)), () => Promise.resolve(fakeCluster(tmp())), 'netns', { timelinePath: path.join(blocker, 'x.svg'), log: (l) => lines.push(l) });
    assert.doesNotMatch(result.error ?? '', /timeline|a-file/);
    assert.equal(lines.length, 1);
    assert.match(lines[0] as string, /^timeline: no picture for fake-scenario/);
  });

  it('writes nothing without a path or SCENARIO_TIMELINE_DIR', async () => {
    const dir = tmp();
    const saved = process.env.SCENARIO_TIMELINE_DIR;
    delete process.env.SCENARIO_TIMELINE_DIR;
    try {
      const lines: string[] = [];
      await runScenario(scenario(({ master }) => Promise.resolve(master)), () => Promise.resolve(fakeCluster(dir)), 'netns', { log: (l) => lines.push(l) });
      assert.deepEqual(lines, []);
      assert.equal(existsSync(path.join(dir, 'fake-scenario.svg')), false);
    } finally {
      if (saved !== undefined) process.env.SCENARIO_TIMELINE_DIR = saved;
    }
  });

  it('writes <dir>/<id>.svg when SCENARIO_TIMELINE_DIR names a directory', async () => {
    const out = tmp();
    const saved = process.env.SCENARIO_TIMELINE_DIR;
    process.env.SCENARIO_TIMELINE_DIR = out;
    try {
      await runScenario(scenario(({ master }) => Promise.resolve(master)), () => Promise.resolve(fakeCluster(tmp())), 'netns', { log: () => undefined });
      assert.ok(existsSync(path.join(out, 'fake-scenario.svg')));
      assert.ok(existsSync(path.join(out, 'fake-scenario.json')));
    } finally {
      if (saved === undefined) delete process.env.SCENARIO_TIMELINE_DIR;
      else process.env.SCENARIO_TIMELINE_DIR = saved;
    }
  });
});
