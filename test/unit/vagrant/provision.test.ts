// The Vagrant lab's provisioning scripts (lab/vagrant/provision.ts): node.sh is README "Install"
// step by step, and a README it cannot follow is refused; both scripts are valid shell.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { installBlocks } from '../../../lab/vm/install-steps.ts';
import { nodeScript, sanScript } from '../../../lab/vagrant/provision.ts';
import { vagrantLabSpec, VAGRANT_TARGET_IQN } from '../../../lab/vagrant/spec.ts';

const README = readFileSync(path.join(import.meta.dirname, '..', '..', '..', 'README.md'), 'utf8');
const spec = vagrantLabSpec('node-v20.20.2-linux-x64.tar.gz');

/** `bash -n` of a script: exit 0 when it parses. */
function parses(script: string, shell = 'bash'): void {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'fa-vagrant-sh-')), 'script.sh');
  writeFileSync(file, script);
  execFileSync(shell, ['-n', file]);
}

describe('the Vagrant lab provisioning', () => {
  it("node.sh runs every install-test block of the README, in order, with its placeholders filled from the script's variables", () => {
    const script = nodeScript(README, spec);
    const steps = [...script.matchAll(/^step 'README: ([a-z-]+)'$/gm)].map((m) => m[1]);
    assert.deepEqual(steps, installBlocks(README).map((block) => block.name));
    for (const block of installBlocks(README)) {
      for (const line of block.script.split('\n').filter((l) => !/<[A-Za-z][A-Za-z0-9 -]*>/.test(l) && l.trim() !== '')) {
        assert.ok(script.includes(line), `node.sh has the README's line ${JSON.stringify(line)} (block ${block.name})`);
      }
    }
    assert.doesNotMatch(script, /<(LU|portal|target|priority|this node|the other node|node tarball|agent tarball|interface)>/, 'no placeholder left');
    assert.match(script, /--priority "\$PRIORITY"/);
    assert.match(script, /NODE_TARBALL=\/tmp\/fence-agent-vagrant\/node-v20\.20\.2-linux-x64\.tar\.gz/);
    assert.match(script, /FA_VIP=192\.168\.56\.100\/24/);
    parses(script);
  });

  it('node.sh formats the LU on node1 only: node2 waits for node1 to hold the reservation', () => {
    const script = nodeScript(README, spec);
    const node1Branch = script.slice(script.indexOf('if [ "$ID" = 1 ]; then'), script.indexOf('\nelse\n'));
    assert.match(node1Branch, /mkfs\.ext4 -O mmp/);
    const node2Branch = script.slice(script.indexOf('\nelse\n'), script.indexOf('\nfi\n', script.indexOf('\nelse\n')));
    assert.doesNotMatch(node2Branch, /mkfs/);
    assert.match(node2Branch, /sg_persist --in --readonly --read-keys/);
  });

  it('nodeScript refuses a README whose install blocks are not the ones it knows, naming them', () => {
    const fewer = README.replace('<!-- install-test: doctor -->', '<!-- not-a-test: doctor -->');
    assert.throws(() => nodeScript(fewer, spec), /the install-test blocks are packages, database, iscsi, filesystem, agent, units, start; lab\/vagrant\/provision\.ts knows .*doctor/);
  });

  it('nodeScript refuses a placeholder it has no value for', () => {
    const more = README.replace('fence-agent doctor\n```', 'fence-agent doctor --peer <the peer name>\n```');
    assert.throws(() => nodeScript(more, spec), /has no value for <the peer name>/);
  });

  it('san.sh exports its argument through LIO (configfs) under the lab target name, and is valid sh', () => {
    const script = sanScript();
    assert.match(script, /DEVICE=\$\{1:\?usage: san\.sh DEVICE\}/);
    assert.match(script, /echo udev_path=\$DEVICE > /);
    assert.ok(script.includes(`/iscsi/${VAGRANT_TARGET_IQN}/tpgt_1`));
    assert.match(script, /vpd_unit_serial/, 'a unit serial: the LU gets a WWID and a /dev/disk/by-id link');
    parses(script, 'sh');
  });
});
