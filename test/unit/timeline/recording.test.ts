import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseRecording, RECORDING_FORMAT } from '../../../lab/timeline/recording.ts';

const FIXTURE_TEXT = readFileSync(path.resolve(import.meta.dirname, '../../fixtures/timeline/master-crash.json'), 'utf8');

/** The fixture with `change` applied, as JSON text. */
const changed = (change: (value: any) => void): string => {
  const value = JSON.parse(FIXTURE_TEXT);
  change(value);
  return JSON.stringify(value);
};

/** Asserts that parsing `text` fails with code ETIMELINE_FORMAT and a message matching `why`. */
const rejects = (text: string, why: RegExp): void => {
  assert.throws(() => parseRecording(text), (error: any) => error.code === 'ETIMELINE_FORMAT' && why.test(error.message));
};

describe('parseRecording', () => {
  it('reads the fixture back as it was written', () => {
    const recording = parseRecording(FIXTURE_TEXT);
    assert.equal(recording.format, RECORDING_FORMAT);
    assert.deepEqual(recording.nodes, ['node1', 'node2']);
    assert.equal(recording.samples.length, 301);
    assert.deepEqual(recording, JSON.parse(FIXTURE_TEXT));
  });

  it('refuses text that is not JSON, and another format', () => {
    rejects('{', /^not JSON/);
    rejects(changed((v) => (v.format = 'fence-agent-timeline/2')), /format "fence-agent-timeline\/2"/);
  });

  it('refuses a sample without a node field, naming the sample', () => {
    rejects(changed((v) => delete v.samples[7].nodes.node2.vip), /^samples\[7\]\.nodes\.node2/);
    rejects(changed((v) => (v.samples[3].at = 'soon')), /^samples\[3\]/);
  });

  it('refuses an ack that is not three numbers, and an unknown lab or fence', () => {
    rejects(changed((v) => (v.acks[0].server = '1')), /^acks\[0\]/);
    rejects(changed((v) => (v.scenario.lab = 'kvm')), /^scenario/);
    rejects(changed((v) => (v.fence = 'stonith')), /^fence/);
  });
});
