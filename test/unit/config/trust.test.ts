// src/config/trust.ts with a faked stat(2): the rule itself, path by path. loadConfig's use of it,
// on real files, is in load.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { untrustedReason, type TrustStat } from '../../../src/config/trust.ts';

const dir = (mode: number, uid = 0): TrustStat => ({ uid, mode: 0o040000 | mode, isDirectory: () => true });
const file = (mode: number, uid = 0): TrustStat => ({ uid, mode: 0o100000 | mode, isDirectory: () => false });

/** untrustedReason over a fake tree: `tree` maps each path to its stat; realpath follows `links`, and fails for a path the tree lacks. */
const judge = (path: string, tree: Record<string, TrustStat>, links: Record<string, string> = {}, uid = 0): string | null =>
  untrustedReason(path, {
    uid,
    realpath: (p) => {
      const real = links[p] ?? p;
      if (tree[real] === undefined) throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
      return real;
    },
    stat: (p) => {
      const s = tree[p];
      if (s === undefined) throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
      return s;
    },
  });

const safe = { '/': dir(0o755), '/etc': dir(0o755), '/etc/fa': dir(0o700) };

describe('untrustedReason', () => {
  it('trusts a root-owned file not writable by group or other, in root-owned directories', () => {
    assert.equal(judge('/etc/fa/config.json', { ...safe, '/etc/fa/config.json': file(0o600) }), null);
    assert.equal(judge('/etc/fa/config.json', { ...safe, '/etc/fa/config.json': file(0o644) }), null);
  });

  it('names the first unsafe path from the file up: the file itself, then each directory', () => {
    assert.match(judge('/etc/fa/config.json', { ...safe, '/etc/fa/config.json': file(0o664) }) ?? '', /^\/etc\/fa\/config\.json is writable by group or other \(mode 0664\)/);
    assert.match(judge('/etc/fa/config.json', { ...safe, '/etc/fa': dir(0o757), '/etc/fa/config.json': file(0o600) }) ?? '', /^its directory \/etc\/fa is writable by group or other \(mode 0757\); expected no group\/other write: chmod go-w \/etc\/fa$/);
    assert.match(judge('/etc/fa/config.json', { ...safe, '/': dir(0o775), '/etc/fa/config.json': file(0o600) }) ?? '', /^its directory \/ is writable/);
  });

  it('accepts a world-writable directory above the file only with the sticky bit, never the file or a sticky directory judged itself', () => {
    const tmp = { '/': dir(0o755), '/tmp': dir(0o1777), '/tmp/x': dir(0o700), '/tmp/x/config.json': file(0o600) };
    assert.equal(judge('/tmp/x/config.json', tmp), null);
    assert.match(judge('/tmp', tmp) ?? '', /^\/tmp is writable by group or other \(mode 1777\)/);
  });

  it('refuses an owner other than root, unless it is the user running the agent', () => {
    const tree = { ...safe, '/etc/fa/config.json': file(0o600, 1000) };
    assert.equal(judge('/etc/fa/config.json', tree), '/etc/fa/config.json is owned by uid 1000; expected root: chown root /etc/fa/config.json');
    assert.equal(judge('/etc/fa/config.json', tree, {}, 1000), null);
  });

  it('judges a symlink by its real path and names both', () => {
    const tree = { ...safe, '/srv': dir(0o777), '/srv/config.json': file(0o600) };
    assert.match(judge('/etc/fa/config.json', tree, { '/etc/fa/config.json': '/srv/config.json' }) ?? '', /^its directory \/srv is writable/);
    assert.match(judge('/etc/fa/link', { ...tree, '/srv/config.json': file(0o666) }, { '/etc/fa/link': '/srv/config.json' }) ?? '', /^\/etc\/fa\/link \(\/srv\/config\.json\) is writable/);
  });

  it('leaves a missing file to whoever needs it (null)', () => {
    assert.equal(judge('/etc/fa/missing.json', safe), null);
    assert.equal(untrustedReason('/no/such/file/anywhere'), null);
  });
});
