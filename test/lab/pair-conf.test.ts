// lab/pair.ts withoutTrackFile: the health-failover bench's old layout (no health file), made
// from the generator's own keepalived.conf (contrib's example is that output, pinned by
// test/unit/keepalived-conf.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { withoutTrackFile } from '../../lab/pair.ts';

const EXAMPLE = readFileSync(path.resolve(import.meta.dirname, '..', '..', 'contrib', 'keepalived.conf.example'), 'utf8');

test('withoutTrackFile takes out the track_file block and the instance\'s reference, and nothing else', () => {
  const out = withoutTrackFile(EXAMPLE);
  assert.doesNotMatch(out, /track_file/);
  assert.match(out, /^ {4}track_script \{\n {8}chk_fence_agent\n {4}\}$/m, 'the check is still tracked');
  const removed = EXAMPLE.split('\n').filter((line) => !out.split('\n').includes(line));
  assert.deepEqual(removed.map((line) => line.trim().split(/\s+/)[0]), ['track_file', 'file', 'weight', 'track_file', 'fence_agent_health']);
  assert.equal(out.split('\n').length, EXAMPLE.split('\n').length - 7, 'the two blocks, with their closing braces');
});

test('withoutTrackFile refuses a configuration without the health file rather than pass it on', () => {
  assert.throws(() => withoutTrackFile(withoutTrackFile(EXAMPLE)), /no track_file block and reference to take out/);
});
