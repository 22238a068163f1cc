// src/doctor/gather.ts peerReport: the peer's `doctor --json` over ssh ($FENCE_AGENT_SSH stands in
// for ssh here: a script that answers as the peer would, or fails as ssh does).
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { peerReport } from '../../../src/doctor/gather.ts';
import { scratchDir } from '../../helpers/scratch.ts';

const { dir } = scratchDir('doctor-peer');
const facts = { node: 'db2', cluster: 'shop', machineId: 'm2', vip: '10.0.0.10/24', disk: { device: '/dev/sdb1', wwid: 'naa.1', uuid: 'u' }, fence: { method: 'lockfile', identity: 'db2', target: '/nfs/lease' } };

function fakeSsh(name: string, body: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

afterEach(() => {
  delete process.env.FENCE_AGENT_SSH;
});

describe('doctor --peer', () => {
  it('peerReport runs fence-agent doctor --json on the host in batch mode and returns its facts', async () => {
    const args = path.join(dir, 'args');
    process.env.FENCE_AGENT_SSH = fakeSsh('answers', `echo "$@" > ${args}\necho '${JSON.stringify({ version: 1, facts, findings: [] })}'`);
    const report = await peerReport('db2.example', 30_000);
    assert.deepEqual(report.facts, facts);
    const { readFileSync } = await import('node:fs');
    assert.equal(readFileSync(args, 'utf8').trim(), '-o BatchMode=yes -o ConnectTimeout=10 db2.example fence-agent doctor --json');
  });

  it('peerReport says why when ssh fails, in one line', async () => {
    process.env.FENCE_AGENT_SSH = fakeSsh('refused', 'echo "ssh: connect to host db2.example port 22: Connection refused" >&2\nexit 255');
    await assert.rejects(peerReport('db2.example', 30_000), /fence-agent doctor --json: ssh: connect to host db2.example port 22: Connection refused$/);
  });

  it('peerReport gives up at its bound and names the option that sets it', async () => {
    process.env.FENCE_AGENT_SSH = fakeSsh('slow', 'sleep 5');
    await assert.rejects(peerReport('db2.example', 1000), /fence-agent doctor --json: no answer within 1 s \(--peer-timeout-ms\)$/);
  });
});
