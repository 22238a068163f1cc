// `npm run vagrant -- prepare` (lab/vagrant/prepare.ts): a node tarball that is not nodejs.org's
// Linux x64 one of Node ≥ 20.19 is refused with one line and code EVAGRANT_PREPARE, nothing written.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { prepare } from '../../../lab/vagrant/prepare.ts';

describe('vagrant prepare', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'fa-vagrant-prepare-'));
  const dir = path.join(tmp, 'lab');

  it('refuses a file that is not a nodejs.org Linux x64 tarball, and writes nothing', async () => {
    const file = path.join(tmp, 'node.tar.gz');
    writeFileSync(file, '');
    await assert.rejects(prepare({ nodeTarball: file, dir }), { code: 'EVAGRANT_PREPARE', message: /--node-tarball .*node\.tar\.gz: expected nodejs\.org's node-vX\.Y\.Z-linux-x64\.tar\.gz/ });
    assert.equal(existsSync(dir), false);
  });

  it('refuses Node older than 20.19 (Debian 12 ships 18)', async () => {
    const file = path.join(tmp, 'node-v20.18.3-linux-x64.tar.gz');
    writeFileSync(file, '');
    await assert.rejects(prepare({ nodeTarball: file, dir }), { code: 'EVAGRANT_PREPARE', message: /Node 20\.18 is older than 20\.19/ });
    assert.equal(existsSync(dir), false);
  });

  it('refuses a tarball that is not there', async () => {
    await assert.rejects(prepare({ nodeTarball: path.join(tmp, 'node-v22.1.0-linux-x64.tar.xz'), dir }), { code: 'EVAGRANT_PREPARE', message: /no such file/ });
    assert.equal(existsSync(dir), false);
  });
});
