// The node_exporter textfile: replaced atomically (a reader in another process never sees a
// partial file), its temp file hidden from node_exporter and removed, also when a write fails.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { textfileTempPath, writeTextfile } from '../../../src/metrics/textfile.ts';
import { scratchDir } from '../../helpers/scratch.ts';

const scratch = scratchDir('metrics-textfile');

describe('writeTextfile', () => {
  it('writes the text (mode 0644) and leaves nothing else in the directory', () => {
    const dir = scratch.fresh('dir');
    mkdirSync(dir);
    const file = path.join(dir, 'fence-agent.prom');
    writeTextfile(file, 'a 1\n');
    writeTextfile(file, 'a 2\n');
    assert.equal(readFileSync(file, 'utf8'), 'a 2\n');
    assert.equal(statSync(file).mode & 0o777, 0o644);
    assert.deepEqual(readdirSync(dir), ['fence-agent.prom']);
  });

  it('goes through a temp file node_exporter does not read (hidden, not *.prom) in the same directory', () => {
    const temp = textfileTempPath('/var/lib/node_exporter/textfile/fence-agent.prom', 1234);
    assert.equal(temp, '/var/lib/node_exporter/textfile/.fence-agent.prom.1234.tmp');
    assert.doesNotMatch(path.basename(temp), /\.prom$/);
  });

  it('a reader in another process sees the old file or the new one, never a part of one', async () => {
    const dir = scratch.fresh('race');
    mkdirSync(dir);
    const file = path.join(dir, 'fence-agent.prom');
    // two versions of 1 MB each: a torn read would mix them or come short
    const versions = ['a', 'b'].map((c) => `${`${c}`.repeat(1023)}\n`.repeat(1024));
    writeTextfile(file, versions[0] as string);
    const reader = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('node:fs'); const [file, a, b] = process.argv.slice(1);
         const ok = new Set([a, b]); let reads = 0, torn = 0; const end = Date.now() + 1500;
         while (Date.now() < end) { const text = fs.readFileSync(file, 'latin1'); reads++; const key = text.length === 1024 * 1024 && text[0] === text[text.length - 2] ? text[0] : null; if (key === null || !ok.has(key)) torn++; }
         process.stdout.write(JSON.stringify({ reads, torn }));`,
        file,
        'a',
        'b',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    reader.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const done = new Promise<void>((resolve) => reader.on('close', () => resolve()));
    let writes = 0;
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      writeTextfile(file, versions[writes % 2] as string);
      writes++;
      if (writes % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await done;
    const { reads, torn } = JSON.parse(out) as { reads: number; torn: number };
    assert.ok(reads > 10 && writes > 10, `reads ${reads}, writes ${writes}`);
    assert.equal(torn, 0, `${torn} of ${reads} reads saw a partial file`);
    assert.deepEqual(readdirSync(dir), ['fence-agent.prom'], 'no temp file left');
  });

  it('a failed write throws the fs error and removes its temp file; the old file stays', () => {
    const dir = scratch.fresh('fail');
    mkdirSync(dir);
    const asDirectory = path.join(dir, 'taken.prom');
    mkdirSync(asDirectory); // the rename over a directory fails (EISDIR) after the temp file is written
    assert.throws(() => writeTextfile(asDirectory, 'a 1\n'), (error: NodeJS.ErrnoException) => error.code === 'EISDIR');
    assert.deepEqual(readdirSync(dir), ['taken.prom']);
    assert.throws(() => writeTextfile(path.join(dir, 'missing', 'x.prom'), 'a 1\n'), (error: NodeJS.ErrnoException) => error.code === 'ENOENT');
    const file = path.join(dir, 'kept.prom');
    writeFileSync(file, 'old 1\n');
    mkdirSync(textfileTempPath(file)); // the temp path cannot be written
    assert.throws(() => writeTextfile(file, 'new 1\n'));
    assert.equal(readFileSync(file, 'utf8'), 'old 1\n');
  });
});
