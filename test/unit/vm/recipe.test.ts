import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GUEST_DIR } from '../../../lab/vm/image.ts';
import { canonicalJson, recipe, recipeFiles, recipeHash } from '../../../lab/vm/recipe.ts';
import { scratchDir } from '../../helpers/scratch.ts';

const { fresh } = scratchDir('vm-recipe');

describe('the guest image recipe hash (the cache key)', () => {
  it('canonical JSON does not depend on key order', () => {
    assert.equal(canonicalJson({ b: 1, a: [{ y: 2, x: 1 }] }), canonicalJson({ a: [{ x: 1, y: 2 }], b: 1 }));
    assert.equal(canonicalJson({ a: 1, b: undefined }), '{"a":1}');
  });

  it('covers every guest file: content, name and executable bit', () => {
    const dir = fresh('guest');
    cpSync(GUEST_DIR, dir, { recursive: true });
    const base = recipeHash(recipe(dir, 'v20.20.2'));
    assert.match(base, /^[0-9a-f]{16}$/);
    assert.equal(recipeHash(recipe(dir, 'v20.20.2')), base, 'stable');
    writeFileSync(path.join(dir, 'rootfs/etc/extra.conf'), 'x\n');
    const added = recipeHash(recipe(dir, 'v20.20.2'));
    assert.notEqual(added, base);
    chmodSync(path.join(dir, 'rootfs/etc/extra.conf'), 0o755);
    assert.notEqual(recipeHash(recipe(dir, 'v20.20.2')), added, 'a mode change is a new recipe');
    assert.notEqual(recipeHash(recipe(dir, 'v20.20.3')), recipeHash(recipe(dir, 'v20.20.2')), 'a new node binary is a new recipe');
  });

  it('lists files sorted by path, nested directories included', () => {
    const dir = fresh('tree');
    mkdirSync(path.join(dir, 'b/c'), { recursive: true });
    writeFileSync(path.join(dir, 'b/c/d'), '1');
    writeFileSync(path.join(dir, 'a'), '2');
    writeFileSync(path.join(dir, 'b/a'), '3');
    assert.deepEqual(
      recipeFiles(dir).map((f) => f.path),
      ['a', 'b/a', 'b/c/d'],
    );
  });

  it('holds the real guest files: the identity, login and lease units and the customize script', () => {
    const paths = recipe(GUEST_DIR, 'v0').files.map((f) => f.path);
    for (const want of ['customize.sh', 'rootfs/usr/local/sbin/vmlab-identity', 'rootfs/etc/systemd/system/vmlab-iscsi.service', 'rootfs/etc/modprobe.d/vmlab.conf']) {
      assert.ok(paths.includes(want), want);
    }
  });
});
