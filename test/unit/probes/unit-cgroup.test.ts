import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_CGROUP_ROOT, unitCgroupProcsFiles, unitPids } from '../../../src/probes/unit-cgroup.ts';
import { scratchDir } from '../../helpers/scratch.ts';

const { fresh } = scratchDir('unit-cgroup');

/** Writes `<root>/<hierarchy>/system.slice/<unit>/cgroup.procs` with `text`. */
const procs = (root: string, hierarchy: string, unit: string, text: string): void => {
  const dir = path.join(root, hierarchy, 'system.slice', unit);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'cgroup.procs'), text);
};

describe('unitPids', () => {
  it('unitPids reads the unit\'s cgroup.procs under system.slice (cgroup v2)', () => {
    const root = fresh('cgroup');
    procs(root, '', 'mariadb.service', '812\n4711\n');
    assert.deepEqual(unitPids('mariadb.service', root), [812, 4711]);
  });

  it('unitPids returns no pid when the unit has no cgroup (systemd removed it with the last process)', () => {
    assert.deepEqual(unitPids('mariadb.service', fresh('empty')), []);
  });

  it('unitPids returns no pid for an empty cgroup.procs and does not look further', () => {
    const root = fresh('cgroup');
    procs(root, '', 'mariadb.service', '');
    procs(root, 'systemd', 'mariadb.service', '99\n');
    assert.deepEqual(unitPids('mariadb.service', root), []);
  });

  it('unitPids falls back to the hybrid layout\'s unified hierarchy, then to name=systemd', () => {
    const unified = fresh('cgroup');
    procs(unified, 'unified', 'mariadb.service', '7\n');
    assert.deepEqual(unitPids('mariadb.service', unified), [7]);
    const v1 = fresh('cgroup');
    procs(v1, 'systemd', 'mariadb.service', '8\n');
    assert.deepEqual(unitPids('mariadb.service', v1), [8]);
  });

  it('unitPids does not mistake another unit\'s cgroup for this one', () => {
    const root = fresh('cgroup');
    procs(root, '', 'mysql.service', '5\n');
    assert.deepEqual(unitPids('mariadb.service', root), []);
  });

  it('unitCgroupProcsFiles names the cgroup v2 file under /sys/fs/cgroup first', () => {
    assert.equal(DEFAULT_CGROUP_ROOT, '/sys/fs/cgroup');
    assert.deepEqual(unitCgroupProcsFiles('mariadb.service'), [
      '/sys/fs/cgroup/system.slice/mariadb.service/cgroup.procs',
      '/sys/fs/cgroup/unified/system.slice/mariadb.service/cgroup.procs',
      '/sys/fs/cgroup/systemd/system.slice/mariadb.service/cgroup.procs',
    ]);
  });
});
