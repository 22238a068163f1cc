import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nodeVersionProblem } from '../../src/node-version.ts';

describe('node version', () => {
  it('nodeVersionProblem accepts 20.19 and later', () => {
    for (const version of ['20.19.0', '20.20.1', '22.0.0', '24.3.1']) assert.equal(nodeVersionProblem(version), null, version);
  });

  it('nodeVersionProblem names an older Node and the way out, in one line', () => {
    assert.equal(nodeVersionProblem('18.19.1'), 'fence-agent needs Node.js 20.19.0 or later; this is 18.19.1 (README "Install": the official binary tarball or NodeSource\'s package)');
    assert.notEqual(nodeVersionProblem('20.18.9'), null);
  });
});
