// lab/vm/build-sandbox.ts: a build command and everything it started die with the builder, even
// when the builder is SIGKILLed (no handler runs); without the sandbox the grandchild is orphaned
// and lives on — the control, so that the test can fail. Real setpriv and unshare (root).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { inBuildSandbox } from '../../../lab/vm/build-sandbox.ts';
import { delay, waitFor } from '../../../lab/wait.ts';

/** pids whose command line holds `marker` */
function pidsWith(marker: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').includes(marker)) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

const BUILDER = `const { spawn } = require('node:child_process');
const argv = JSON.parse(process.argv[1]);
spawn(argv[0], argv.slice(1), { stdio: 'ignore' });
setInterval(() => {}, 1000);`;

/**
 * Starts a builder (a node process) that runs `argv`, whose shell starts a `sleep <marker>` in the
 * background; waits for the sleep, SIGKILLs the builder, waits `graceMs`; returns the sleeps left.
 */
async function killBuilderUnder(wrap: (argv: string[]) => string[], marker: string, graceMs: number): Promise<number[]> {
  const builder = spawn(process.execPath, ['-e', BUILDER, JSON.stringify(wrap(['sh', '-c', `sleep ${marker} & wait`]))], { stdio: 'ignore' });
  try {
    await waitFor(`sleep ${marker} started`, () => pidsWith(marker).length > 0, 10_000, 50);
  } finally {
    builder.kill('SIGKILL');
  }
  if (builder.exitCode === null && builder.signalCode === null) await once(builder, 'exit');
  await delay(graceMs);
  return pidsWith(marker);
}

describe('the image build sandbox', () => {
  it('kills a build command and what it started when the builder is SIGKILLed', async () => {
    const marker = `7${Math.floor(Math.random() * 1e6)}.5`;
    const left = await killBuilderUnder(inBuildSandbox, marker, 0);
    const gone = await waitFor('the sandboxed sleep gone', () => pidsWith(marker).length === 0, 5000, 50).then(() => true, () => false);
    for (const pid of pidsWith(marker)) process.kill(pid, 'SIGKILL');
    assert.ok(gone, `the sleep outlived its SIGKILLed builder: pids ${left.join(', ')}`);
  });

  it('(control) without it, the grandchild outlives a SIGKILLed builder', async () => {
    const marker = `8${Math.floor(Math.random() * 1e6)}.5`;
    const left = await killBuilderUnder((argv) => argv, marker, 500);
    for (const pid of left) process.kill(pid, 'SIGKILL');
    assert.ok(left.length > 0, 'an unsandboxed grandchild lives on (else the first test proves nothing)');
  });
});
