import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../../src/config/types.ts';
import { FenceAgentError } from '../../../src/errors.ts';
import { normaliseDatadir, startMysqld, waitSqlReady, type SqlBoundary } from '../../../src/mysqld/start.ts';
import type { DatadirAnswer } from '../../../src/probes/sql.ts';
import { Children } from '../../helpers/children.ts';
import { fakeMysqldBinary, startFakeMysqld } from '../../helpers/fake-mysqld.ts';
import { installFakeSystemctl } from '../../helpers/fake-systemctl.ts';
import { testConfig } from '../../helpers/mysqld-config.ts';
import { scratchDir } from '../../helpers/scratch.ts';

const UNIT = 'mariadb.service';
const { dir, fresh } = scratchDir('mysqld-start');
const systemctl = installFakeSystemctl(path.join(dir, 'systemctl'));
const children = new Children();
let binary: string;
let config: Config;
let cgroupRoot: string;

before(() => {
  binary = fakeMysqldBinary(dir);
});

beforeEach(() => {
  systemctl.reset();
  const root = fresh('node');
  config = testConfig({ dir: root });
  mkdirSync(path.join(config.disk.mountpoint, 'mysql'), { recursive: true });
  cgroupRoot = path.join(root, 'cgroup');
  mkdirSync(path.join(cgroupRoot, 'system.slice', UNIT), { recursive: true });
  writeFileSync(procsFile(), '');
});

const killUnit = async (): Promise<void> => {
  for (const pid of readFileSync(procsFile(), 'utf8').split('\n').filter(Boolean).map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await children.killAll();
};
afterEach(killUnit);
after(() => children.killAll());

const procsFile = (): string => path.join(cgroupRoot, 'system.slice', UNIT, 'cgroup.procs');

describe('startMysqld with a systemd unit', () => {
  it('startMysqld resets a failed unit (ignoring its exit code), starts it, and waits until the unit\'s cgroup holds a mysqld', async () => {
    systemctl.on('reset-failed', 'echo "Unit mariadb.service not loaded." >&2; exit 1\n');
    // systemd's side: mysqld appears in the unit's cgroup a moment after the start
    systemctl.on('start', `sh -c 'sleep 0.3; echo $$ >> "${procsFile()}"; exec unshare --mount --propagation private "${binary}" 60' </dev/null >/dev/null 2>&1 &\nexit 0\n`);
    const started = performance.now();
    assert.equal(await startMysqld(config, AbortSignal.timeout(5000), cgroupRoot), 'ok');
    assert.ok(performance.now() - started >= 250, 'waited for the unit\'s mysqld');
    assert.deepEqual(systemctl.calls(), [`reset-failed ${UNIT}`, `start ${UNIT}`]);
  });

  it('startMysqld fails with the unit\'s error when systemctl start fails', async () => {
    systemctl.on('start', 'echo "Job for mariadb.service failed because the control process exited with error code." >&2; exit 1\n');
    await assert.rejects(startMysqld(config, AbortSignal.timeout(5000), cgroupRoot), (error: unknown) => {
      assert.ok(error instanceof FenceAgentError);
      assert.equal(error.code, 'ECOMMAND');
      assert.match(error.message, /^systemctl start mariadb\.service exited 1: Job for mariadb\.service failed/);
      return true;
    });
  });

  it('startMysqld is skipped, with no systemctl call, while the unit\'s mysqld runs', async () => {
    const pid = await startFakeMysqld(children, binary, { cwd: dir, ownNamespace: true });
    appendFileSync(procsFile(), `${pid}\n`);
    assert.equal(await startMysqld(config, AbortSignal.timeout(5000), cgroupRoot), 'skipped');
    assert.deepEqual(systemctl.calls(), []);
  });
});

describe('waitSqlReady', () => {
  /** A fake SQL side: ping answers in turn (the last repeats), then the datadir answers in turn. */
  const fakeSql = (pings: boolean[], datadirs: DatadirAnswer[]): SqlBoundary & { asked: number } => {
    const sql = {
      asked: 0,
      ping: () => Promise.resolve({ ok: pings.length > 1 ? (pings.shift() as boolean) : (pings[0] as boolean), error: null }),
      datadir: () => {
        sql.asked += 1;
        return Promise.resolve(datadirs.length > 1 ? (datadirs.shift() as DatadirAnswer) : (datadirs[0] as DatadirAnswer));
      },
    };
    return sql;
  };
  const served = (datadir: string): DatadirAnswer => ({ ok: true, datadir });

  it('waitSqlReady is ok when mysqld answers and serves a datadir under the mountpoint (trailing slash and all)', async () => {
    assert.equal(await waitSqlReady(config, AbortSignal.timeout(5000), fakeSql([true], [served(`${config.disk.mountpoint}/mysql/`)])), 'ok');
  });

  it('waitSqlReady accepts a datadir that is the mountpoint itself', async () => {
    assert.equal(await waitSqlReady(config, AbortSignal.timeout(5000), fakeSql([true], [served(`${config.disk.mountpoint}/`)])), 'ok');
  });

  it('waitSqlReady refuses a mysqld serving a datadir off the shared disk with EMYSQLD', async () => {
    await assert.rejects(waitSqlReady(config, AbortSignal.timeout(5000), fakeSql([true], [served('/var/lib/mysql/')])), (error: unknown) => {
      assert.ok(error instanceof FenceAgentError);
      assert.equal(error.code, 'EMYSQLD');
      assert.equal(error.message, `mysqld serves datadir /var/lib/mysql/, which is not on the shared disk mounted at ${config.disk.mountpoint}`);
      return true;
    });
  });

  it('waitSqlReady refuses a datadir in a sibling directory whose name starts like the mountpoint', async () => {
    await assert.rejects(waitSqlReady(config, AbortSignal.timeout(5000), fakeSql([true], [served(`${config.disk.mountpoint}2/mysql/`)])), { code: 'EMYSQLD' });
  });

  it('waitSqlReady accepts a datadir named through a symlink onto the mounted disk', async () => {
    const link = fresh('var-lib-mysql');
    symlinkSync(path.join(config.disk.mountpoint, 'mysql'), link);
    assert.equal(await waitSqlReady(config, AbortSignal.timeout(5000), fakeSql([true], [served(`${link}/`)])), 'ok');
  });

  it('waitSqlReady keeps polling while the ping fails and while the datadir query fails, and asks the datadir only after a good ping', async () => {
    const sql = fakeSql([false, false, true], [{ ok: false, error: 'ECONNREFUSED' }, served(`${config.disk.mountpoint}/mysql/`)]);
    assert.equal(await waitSqlReady(config, AbortSignal.timeout(5000), sql), 'ok');
    assert.equal(sql.asked, 2);
  });

  it('waitSqlReady rejects with the deadline when mysqld never answers', async () => {
    const deadline = new AbortController();
    setTimeout(() => deadline.abort(new Error('sql-ready deadline')), 300);
    await assert.rejects(waitSqlReady(config, deadline.signal, fakeSql([false], [served('/var/lib/mysql/')])), /sql-ready deadline/);
  });

  it('normaliseDatadir drops the trailing slash and doubled slashes but keeps /', () => {
    assert.equal(normaliseDatadir('/data/mysql/'), '/data/mysql');
    assert.equal(normaliseDatadir('/data//mysql'), '/data/mysql');
    assert.equal(normaliseDatadir('/'), '/');
  });
});
