// `npm run vagrant -- …` (lab/vagrant/cli.ts): bad usage is one line and exit 2, before anything
// runs (the commands themselves need libvirt and minutes: test/vm/vagrant.vmtest.ts runs them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const CLI = path.resolve(import.meta.dirname, '..', '..', '..', 'lab', 'vagrant', 'cli.ts');
const vagrantCli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
const USAGE = '(usage: npm run vagrant -- prepare [--node-tarball FILE] | up | status | ssh NAME [command…] | demo [--suspend-s N] | down)';

test('an unknown command is refused in one line with the usage', () => {
  const ran = vagrantCli('provision');
  assert.equal(ran.status, 2);
  assert.equal(ran.stderr, `vagrant: unknown command provision ${USAGE}\n`);
  assert.equal(ran.stdout, '');
});

test('no command is refused', () => {
  const ran = vagrantCli();
  assert.equal(ran.status, 2);
  assert.equal(ran.stderr, `vagrant: which command? ${USAGE}\n`);
});

test('demo refuses a suspension out of range', () => {
  const ran = vagrantCli('demo', '--suspend-s', '2');
  assert.equal(ran.status, 2);
  assert.equal(ran.stderr, `vagrant: --suspend-s 2: expected whole seconds from 5 to 600 ${USAGE}\n`);
});

test('an option without its value is refused', () => {
  const ran = vagrantCli('prepare', '--node-tarball');
  assert.equal(ran.status, 2);
  assert.equal(ran.stderr, `vagrant: --node-tarball needs a value ${USAGE}\n`);
});

test('up and down take no arguments', () => {
  for (const command of ['up', 'down']) {
    const ran = vagrantCli(command, 'now');
    assert.equal(ran.status, 2);
    assert.equal(ran.stderr, `vagrant: ${command}: unexpected now ${USAGE}\n`);
  }
});
