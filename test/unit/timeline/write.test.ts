import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseRecording } from '../../../lab/timeline/recording.ts';
import { jsonPathFor, saveTimeline, timelinePathFromEnv } from '../../../lab/timeline/write.ts';

const REPO = path.resolve(import.meta.dirname, '../../..');
const FIXTURE = path.join(REPO, 'test/fixtures/timeline/master-crash.json');
const recording = parseRecording(readFileSync(FIXTURE, 'utf8'));
const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'fa-timeline-'));

describe('where a timeline goes', () => {
  it('is <dir>/<scenario id>.svg under SCENARIO_TIMELINE_DIR, and nowhere when it is unset or empty', () => {
    assert.equal(timelinePathFromEnv('master-crash', { SCENARIO_TIMELINE_DIR: '/var/tmp/t' }), '/var/tmp/t/master-crash.svg');
    assert.equal(timelinePathFromEnv('master-crash', { SCENARIO_TIMELINE_DIR: '' }), null);
    assert.equal(timelinePathFromEnv('master-crash', {}), null);
  });

  it('keeps its data beside the picture, as .json', () => {
    assert.equal(jsonPathFor('/x/demo.svg'), '/x/demo.json');
    assert.equal(jsonPathFor('/x/demo'), '/x/demo.json');
  });
});

describe('saveTimeline', () => {
  it('writes the data and the picture, making the directory, and logs one line naming both and the gap', async () => {
    const svgPath = path.join(tmp(), 'new-dir', 'master-crash.svg');
    const lines: string[] = [];
    assert.equal(await saveTimeline(recording, svgPath, (line) => lines.push(line)), true);
    assert.match(readFileSync(svgPath, 'utf8'), /^<svg /);
    assert.deepEqual(parseRecording(readFileSync(jsonPathFor(svgPath), 'utf8')), recording);
    assert.equal(lines.length, 1);
    assert.match(lines[0] as string, /^timeline: .*master-crash\.svg \(data .*master-crash\.json; 301 samples, 114 acks; failover gap 13\.6 s \(node1 → node2\)\)$/);
  });

  it('never throws when the files cannot be written: it returns false and logs one line saying why', async () => {
    const blocker = path.join(tmp(), 'a-file');
    writeFileSync(blocker, '');
    const lines: string[] = [];
    assert.equal(await saveTimeline(recording, path.join(blocker, 'master-crash.svg'), (line) => lines.push(line)), false);
    assert.equal(lines.length, 1);
    assert.match(lines[0] as string, /^timeline: no picture for made-up-master-crash at .*: .*(EEXIST|ENOTDIR)/);
  });
});

describe('lab/timeline/cli.ts', () => {
  /** As `npm run timeline -- ARGS` typed in `typedIn`: npm runs it in the repository, INIT_CWD says where it was typed. */
  const cli = (args: string[], typedIn = REPO) => spawnSync(process.execPath, ['--import', 'tsx', 'lab/timeline/cli.ts', ...args], { cwd: REPO, encoding: 'utf8', env: { ...process.env, INIT_CWD: typedIn } });

  it('draws a saved recording to the SVG named, or beside it, paths relative to where the command was typed', () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'run.json'), readFileSync(FIXTURE));
    const named = cli(['run.json', 'picture.svg'], dir);
    assert.equal(named.status, 0, named.stderr);
    assert.match(named.stdout, /failover gap 13\.6 s/);
    assert.match(readFileSync(path.join(dir, 'picture.svg'), 'utf8'), /^<svg /);
    const beside = cli(['run.json'], dir);
    assert.equal(beside.status, 0, beside.stderr);
    assert.ok(existsSync(path.join(dir, 'run.svg')));
  });

  it('exits 1 with one line on a file that is no recording, 2 without arguments', () => {
    const bad = cli(['package.json', path.join(tmp(), 'x.svg')]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^timeline: package\.json: format undefined.*\(ETIMELINE_FORMAT\)\n$/);
    assert.equal(cli([]).status, 2);
  });
});
