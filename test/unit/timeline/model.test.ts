import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeSample } from '../../../lab/cluster.ts';
import type { Ack } from '../../../lab/ledger.ts';
import type { Sample } from '../../../lab/monitor.ts';
import { gapLabel, intervalsOf, longestGap, roleOf, timelineModel, type Interval } from '../../../lab/timeline/model.ts';
import { RECORDING_FORMAT, type TimelineRecording } from '../../../lab/timeline/recording.ts';

const T0 = 1_700_000_000_000;
const BACKUP: NodeSample = { down: false, mounted: false, superblock: false, vip: false, mysqld: 0 };
const MASTER: NodeSample = { down: false, mounted: true, superblock: true, vip: true, mysqld: 1 };
const DOWN: NodeSample = { down: true, mounted: false, superblock: false, vip: false, mysqld: 0 };

/** A sample `ms` after T0. */
const at = (ms: number, db1: NodeSample, db2: NodeSample, leaseHolder: string | null): Sample => ({ at: T0 + ms, mono: ms, nodes: { db1, db2 }, leaseHolder });
const ack = (id: number, ms: number, server: number): Ack => ({ id, at: T0 + ms, server });
const SERVERS = { '1': 'db1', '2': 'db2' };

/** The intervals of one node's row, as `state from–to` strings. */
const row = (intervals: Interval[], node: string, track: Interval['track']): string[] =>
  intervals.filter((i) => i.node === node && i.track === track).map((i) => `${i.state} ${i.fromMs}–${i.toMs}`);

describe('roleOf: the role a sample shows, derived from what is observed', () => {
  it('is MASTER with the VIP, the mount and mysqld, BACKUP with none of them', () => {
    assert.equal(roleOf(MASTER), 'MASTER');
    assert.equal(roleOf(BACKUP), 'BACKUP');
  });

  it('is transition with some but not all of them (a promotion half done, an unhealthy MASTER)', () => {
    assert.equal(roleOf({ ...BACKUP, vip: true }), 'transition');
    assert.equal(roleOf({ ...MASTER, mysqld: 0 }), 'transition');
  });

  it('is down for a node with nothing observable, and for a node missing from the sample', () => {
    assert.equal(roleOf(DOWN), 'down');
    assert.equal(roleOf({ ...DOWN, superblock: true }), 'down');
    assert.equal(roleOf(undefined), 'down');
  });
});

describe('intervalsOf: samples merged into bars', () => {
  const samples = [
    at(0, MASTER, BACKUP, 'db1'),
    at(100, MASTER, BACKUP, 'db1'),
    at(200, MASTER, BACKUP, 'db1'),
    at(300, DOWN, BACKUP, 'db1'),
    at(400, DOWN, { ...BACKUP, vip: true }, 'db1'),
    at(500, DOWN, { ...BACKUP, vip: true }, 'db2'),
    at(600, DOWN, MASTER, 'db2'),
    at(700, BACKUP, MASTER, 'db2'),
  ];
  const intervals = intervalsOf(samples, ['db1', 'db2'], T0);

  it('merges consecutive samples of one state into one interval, which lasts until the next state is seen', () => {
    assert.deepEqual(row(intervals, 'db1', 'VIP'), ['on 0–300']);
    assert.deepEqual(row(intervals, 'db2', 'role'), ['BACKUP 0–400', 'transition 400–600', 'MASTER 600–700']);
  });

  it('shows a crashed node as down on its role row and draws nothing on its VIP, mount and mysqld rows meanwhile', () => {
    assert.deepEqual(row(intervals, 'db1', 'role'), ['MASTER 0–300', 'down 300–700', 'BACKUP 700–700']);
    assert.deepEqual(row(intervals, 'db1', 'mount'), ['on 0–300']);
    assert.deepEqual(row(intervals, 'db1', 'mysqld'), ['on 0–300']);
  });

  it('puts the fence on the node the sample names as holder, even while that node is down', () => {
    assert.deepEqual(row(intervals, 'db1', 'fence'), ['on 0–500']);
    assert.deepEqual(row(intervals, 'db2', 'fence'), ['on 500–700']);
  });

  it('draws nothing for a row that is never on', () => {
    assert.deepEqual(row(intervalsOf(samples.slice(0, 3), ['db1', 'db2'], T0), 'db2', 'VIP'), []);
  });

  it('returns the intervals in time order, relative to the start given', () => {
    const starts = intervals.map((i) => i.fromMs);
    assert.deepEqual(starts, [...starts].sort((a, b) => a - b));
    assert.deepEqual(row(intervalsOf(samples, ['db1'], T0 - 1000), 'db1', 'VIP'), ['on 1000–1300']);
  });

  it('returns no interval without samples', () => {
    assert.deepEqual(intervalsOf([], ['db1', 'db2'], T0), []);
  });
});

describe('longestGap: the failover gap from the ledger', () => {
  it('is the longest time between two consecutive acknowledged writes, from the old server to the new one', () => {
    const acks = [ack(1, 0, 1), ack(2, 100, 1), ack(3, 250, 1), ack(4, 4_250, 2), ack(5, 4_300, 2)];
    assert.deepEqual(longestGap(acks, SERVERS, T0), { fromMs: 250, toMs: 4_250, gapMs: 4_000, fromNode: 'db1', toNode: 'db2', failover: true });
  });

  it('orders the acks by time first (the file is in the order they were written, not always of their times)', () => {
    const acks = [ack(1, 0, 1), ack(3, 3_000, 2), ack(2, 200, 1)];
    assert.equal(longestGap(acks, SERVERS, T0)?.gapMs, 2_800);
  });

  it('says no failover when the same server acknowledged both sides of the gap (a restart in place)', () => {
    const gap = longestGap([ack(1, 0, 1), ack(2, 2_000, 1), ack(3, 2_050, 1)], SERVERS, T0);
    assert.equal(gap?.failover, false);
    assert.equal(gapLabel(gap), 'longest write gap 2.0 s (db1)');
  });

  it('is null with fewer than two acknowledged writes', () => {
    assert.equal(longestGap([], SERVERS, T0), null);
    assert.equal(longestGap([ack(1, 0, 1)], SERVERS, T0), null);
  });

  it('is labelled with its duration in seconds and the two nodes', () => {
    const gap = longestGap([ack(1, 0, 1), ack(2, 13_640, 2)], SERVERS, T0);
    assert.equal(gapLabel(gap!), 'failover gap 13.6 s (db1 → db2)');
  });
});

describe('timelineModel: a recording as the picture needs it', () => {
  const recording = (acks: Ack[]): TimelineRecording => ({
    format: RECORDING_FORMAT,
    scenario: { id: 'master-crash', title: 'MASTER node crash', lab: 'netns' },
    passed: false,
    fence: 'lockfile',
    nodes: ['db1', 'db2'],
    servers: SERVERS,
    samples: [at(1_000, MASTER, BACKUP, 'db1'), at(9_000, DOWN, MASTER, 'db2')],
    acks,
  });

  it('starts at the first sample or ack, whichever came first, and lasts until the last one', () => {
    const model = timelineModel(recording([ack(1, 500, 1), ack(2, 8_000, 2)]));
    assert.equal(model.startAt, T0 + 500);
    assert.equal(model.durationMs, 8_500);
    assert.deepEqual(row(model.intervals, 'db1', 'role'), ['MASTER 500–8500', 'down 8500–8500']);
  });

  it("puts each acknowledged write in the lane of the node whose server took it, and a server no node has in a lane of its own", () => {
    const model = timelineModel(recording([ack(1, 1_000, 1), ack(2, 2_000, 2), ack(3, 3_000, 9)]));
    assert.deepEqual(model.acks.map((a) => `${a.id} ${a.node} ${a.atMs}`), ['1 db1 0', '2 db2 1000', '3 server_id 9 2000']);
    assert.deepEqual(model.nodes, ['db1', 'db2', 'server_id 9']);
  });

  it("names the scenario, its lab and its verdict in the title", () => {
    const model = timelineModel(recording([]));
    assert.equal(model.title, 'master-crash (netns lab): FAILED');
    assert.equal(model.gap, null);
  });
});
