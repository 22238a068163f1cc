import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gapLabel, timelineModel, TRACKS, type TimelineModel } from '../../../lab/timeline/model.ts';
import { parseRecording, RECORDING_FORMAT, type TimelineRecording } from '../../../lab/timeline/recording.ts';
import { renderTimelineSvg, rowLabel, wrap } from '../../../lab/timeline/render.ts';

// A made-up master-crash on the VM lab (test/fixtures/timeline/make-master-crash.ts): node1
// powered off at 8.1 s, node2 the MASTER from 18 s, writes resume at 21.4 s.
const FIXTURE = path.resolve(import.meta.dirname, '../../fixtures/timeline/master-crash.json');

/** The marks of one named layer of the picture (`<g class="mark-… role-mark NAME_marks">…</g>`, or `…/>` when empty). */
function layer(svg: string, name: string): string {
  const match = new RegExp(`<g class="mark-[a-z]+ role-mark ${name}_marks"[^>]*?(?:/>|>(.*?)</g>)`, 's').exec(svg);
  assert.ok(match !== null, `the picture has a layer ${name}`);
  return match[1] ?? '';
}
const count = (text: string, what: string): number => text.split(what).length - 1;
/** The texts of the picture: each `<text>`, and each line (`<tspan>`) of a text of several lines. */
const texts = (svg: string): string[] => [...svg.matchAll(/<(text|tspan)[^>]*>([^<]*)<\/\1>/g)].map((m) => m[2] as string);

describe('wrap', () => {
  it('wraps at spaces within the width, and gives a longer word its own line', () => {
    assert.deepEqual(wrap('aa bb cc dd', 5), ['aa bb', 'cc dd']);
    assert.deepEqual(wrap('a verylongword b', 4), ['a', 'verylongword', 'b']);
    assert.deepEqual(wrap('', 10), []);
  });
});

describe('renderTimelineSvg on the fixture', () => {
  let model: TimelineModel;
  let svg: string;

  before(async () => {
    model = timelineModel(parseRecording(readFileSync(FIXTURE, 'utf8')));
    svg = await renderTimelineSvg(model);
  });

  it('gives an SVG document', () => {
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  });

  it("labels every row of each node's lane: role, VIP, mount, mysqld, fence and writes", () => {
    const labels = texts(svg);
    for (const node of ['node1', 'node2']) for (const track of TRACKS) assert.ok(labels.includes(rowLabel(node, track)), `a label ${rowLabel(node, track)}`);
  });

  it('marks the failover gap with its duration', () => {
    assert.equal(gapLabel(model.gap!), 'failover gap 13.6 s (node1 → node2)');
    assert.deepEqual(texts(layer(svg, 'gap_label')), ['failover gap 13.6 s (node1 → node2)']);
    assert.equal(count(layer(svg, 'gap'), '<path'), 1);
  });

  it('draws one tick per acknowledged write', () => {
    assert.equal(model.acks.length, 114);
    assert.equal(count(layer(svg, 'acks'), '<path'), 114);
  });

  it('draws one bar per interval', () => {
    assert.equal(count(layer(svg, 'intervals'), '<path'), model.intervals.length);
  });

  it('says in the picture how a role is derived and what the fence row means', () => {
    const labels = texts(svg);
    assert.ok(labels.some((t) => t.includes('MASTER = VIP + mount + mysqld')));
    assert.ok(labels.includes('fence: the lease holder (lockfile)'));
  });
});

describe('renderTimelineSvg on hand-made recordings', () => {
  const recording = (acks: TimelineRecording['acks'], fence: TimelineRecording['fence'] = 'lockfile'): TimelineRecording => ({
    format: RECORDING_FORMAT,
    scenario: { id: 'pr-master-crash', title: 'a few writes', lab: 'vm' },
    passed: true,
    fence,
    nodes: ['node1', 'node2'],
    servers: { '1': 'node1', '2': 'node2' },
    samples: [0, 500, 1000].map((ms) => ({ at: 1_000 + ms, mono: ms, nodes: { node1: { down: false, mounted: true, superblock: true, vip: true, mysqld: 1 }, node2: { down: false, mounted: false, superblock: false, vip: false, mysqld: 0 } }, leaseHolder: 'node1' })),
    acks,
  });

  it('draws as many ticks as there are acks, here three', async () => {
    const svg = await renderTimelineSvg(timelineModel(recording([{ id: 1, at: 1_000, server: 1 }, { id: 2, at: 1_100, server: 1 }, { id: 3, at: 1_900, server: 1 }])));
    assert.equal(count(layer(svg, 'acks'), '<path'), 3);
    assert.deepEqual(texts(layer(svg, 'gap_label')), ['longest write gap 0.8 s (node1)']);
  });

  it('marks no gap without two acknowledged writes, and says so', async () => {
    const svg = await renderTimelineSvg(timelineModel(recording([], 'scsi-pr')));
    assert.equal(count(layer(svg, 'acks'), '<path'), 0);
    assert.equal(count(layer(svg, 'gap_label'), '<text'), 0);
    assert.ok(texts(svg).includes('fewer than two acknowledged writes: no gap to mark'));
    assert.ok(texts(svg).includes('fence: the SCSI-PR reservation holder, as a third initiator reads the keys'));
  });
});
