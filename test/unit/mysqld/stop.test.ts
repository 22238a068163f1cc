import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../../src/config/types.ts';
import { FenceAgentError } from '../../../src/errors.ts';
import { stopMysqld } from '../../../src/mysqld/stop.ts';
import { isAlive } from '../../../src/proc.ts';
import { Children } from '../../helpers/children.ts';
import { fakeMysqldBinary, startFakeMysqld } from '../../helpers/fake-mysqld.ts';
import { installFakeSystemctl } from '../../helpers/fake-systemctl.ts';
import { logStub } from '../../helpers/log-stub.ts';
import { testConfig } from '../../helpers/mysqld-config.ts';
import { scratchDir } from '../../helpers/scratch.ts';

const UNIT = 'mariadb.service';
const { dir, fresh } = scratchDir('mysqld-stop');
const systemctl = installFakeSystemctl(path.join(dir, 'systemctl'));
const children = new Children();
let binary: string;
let config: Config;
let cgroupRoot: string;
let datadir: string;

before(() => {
  binary = fakeMysqldBinary(dir);
});

beforeEach(() => {
  systemctl.reset();
  const root = fresh('node');
  config = testConfig({ dir: root });
  datadir = path.join(config.disk.mountpoint, 'mysql');
  mkdirSync(datadir, { recursive: true });
  mkdirSync(path.dirname(config.mysqld.pidFile), { recursive: true });
  cgroupRoot = path.join(root, 'cgroup');
  mkdirSync(path.join(cgroupRoot, 'system.slice', UNIT), { recursive: true });
  writeFileSync(procsFile(), '');
});

afterEach(async () => {
  // processes the fake systemctl started on its own (a "restarted" mysqld) are in the fake cgroup
  for (const pid of readFileSync(procsFile(), 'utf8').split('\n').filter(Boolean).map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await children.killAll();
});

after(() => children.killAll());

const procsFile = (): string => path.join(cgroupRoot, 'system.slice', UNIT, 'cgroup.procs');

/** A fake mysqld of the unit: in its own mount namespace (ProtectSystem=), in the unit's cgroup, in its datadir. */
const unitMysqld = async (ignoreTerm = false): Promise<number> => {
  const pid = await startFakeMysqld(children, binary, { cwd: datadir, ownNamespace: true, ignoreTerm });
  appendFileSync(procsFile(), `${pid}\n`);
  writeFileSync(path.join(systemctl.dir, 'pid'), `${pid}\n`);
  return pid;
};

/** The stop as the demotion runs it: under `deadlines.mysqldStopMs`. */
const stop = (mode: 'graceful' | 'fenced' = 'graceful', log = logStub().log): Promise<'ok' | 'skipped'> =>
  stopMysqld(config, AbortSignal.timeout(config.deadlines.mysqldStopMs), log, mode, cgroupRoot);

const sh = (script: string): string => `d="$FAKE_SYSTEMCTL_DIR"\n${script}\n`;
/** on-stop: whether the unit's first mysqld still lived when systemctl stop was called, appended to `saw` */
const RECORD_ALIVE = sh(`pid=$(cat "$d/pid"); s=$(sed 's/.*) \\(.\\).*/\\1/' /proc/$pid/stat 2>/dev/null); if [ -n "$s" ] && [ "$s" != Z ]; then echo alive; else echo dead; fi >> "$d/saw"`);

describe('stopMysqld with a systemd unit', () => {
  it('stopMysqld stops the unit within the grace, then stops it again and reads is-active until inactive', async () => {
    const pid = await unitMysqld();
    systemctl.on('stop', sh('kill -TERM $(cat "$d/pid") 2>/dev/null; exit 0'));
    systemctl.answers(['inactive']);
    assert.equal(await stop(), 'ok');
    assert.equal(isAlive(pid), false);
    assert.deepEqual(systemctl.calls(), [`stop ${UNIT}`, `stop ${UNIT}`, `is-active ${UNIT}`]);
  });

  it('stopMysqld SIGKILLs the unit\'s mysqld that outlives its grace (SendSIGKILL=no) and still leaves the unit inactive', async () => {
    config.deadlines.mysqldTermGraceMs = 400;
    const pid = await unitMysqld(true);
    // the first stop hangs as systemd's would (TimeoutStopSec=900) and is cut at the grace
    systemctl.on('stop', sh(`if [ "$(grep -c '^stop' "$d/calls")" -eq 1 ]; then exec sleep 30; fi\n${RECORD_ALIVE}`));
    systemctl.answers(['inactive']);
    const { log, messages } = logStub();
    const started = performance.now();
    assert.equal(await stop('graceful', log), 'ok');
    assert.ok(performance.now() - started < 3000, 'done soon after the grace');
    assert.equal(isAlive(pid), false);
    assert.ok(messages('warn').includes('mysqld survived its grace; SIGKILL'), messages('warn').join(' | '));
    assert.deepEqual(systemctl.calls(), [`stop ${UNIT}`, `stop ${UNIT}`, `is-active ${UNIT}`]);
    assert.equal(readFileSync(path.join(systemctl.dir, 'saw'), 'utf8'), 'dead\n', 'the unit is stopped again only once mysqld is gone');
  });

  it('stopMysqld in fenced mode SIGKILLs at once, before any systemctl call, then stops the unit and verifies it', async () => {
    const pid = await unitMysqld(true);
    systemctl.on('stop', RECORD_ALIVE);
    systemctl.answers(['inactive']);
    const started = performance.now();
    assert.equal(await stop('fenced'), 'ok');
    assert.ok(performance.now() - started < config.deadlines.mysqldTermGraceMs, 'no grace');
    assert.equal(isAlive(pid), false);
    assert.deepEqual(systemctl.calls(), [`stop ${UNIT}`, `is-active ${UNIT}`]);
    assert.equal(readFileSync(path.join(systemctl.dir, 'saw'), 'utf8'), 'dead\n');
  });

  it('stopMysqld stops the unit even when no mysqld runs any more (the fence-loss kill came first; Restart= is pending)', async () => {
    systemctl.answers(['activating', 'inactive']);
    assert.equal(await stop('fenced'), 'skipped');
    assert.deepEqual(systemctl.calls(), [`stop ${UNIT}`, `is-active ${UNIT}`, `stop ${UNIT}`, `is-active ${UNIT}`]);
  });

  it('stopMysqld SIGKILLs a mysqld that Restart= brought back and stops the unit again until is-active says inactive', async () => {
    const first = await unitMysqld();
    // the first stop finds mysqld gone (SIGKILLed) and systemd "restarts" it: a new mysqld in the cgroup
    systemctl.on('stop', sh(`if [ "$(grep -c '^stop' "$d/calls")" -eq 1 ]; then "${binary}" 60 </dev/null >/dev/null 2>&1 & echo $! >> "${procsFile()}"; echo $! > "$d/restarted"; sleep 0.2; fi`));
    systemctl.answers(['active', 'activating', 'inactive']);
    const { log, messages } = logStub();
    assert.equal(await stop('fenced', log), 'ok');
    const restarted = Number(readFileSync(path.join(systemctl.dir, 'restarted'), 'utf8'));
    assert.equal(isAlive(first), false);
    assert.equal(isAlive(restarted), false, 'the restarted mysqld is SIGKILLed');
    assert.deepEqual(systemctl.calls(), [`stop ${UNIT}`, `is-active ${UNIT}`, `stop ${UNIT}`, `is-active ${UNIT}`, `stop ${UNIT}`, `is-active ${UNIT}`]);
    assert.ok(messages('warn').some((m) => m.startsWith(`${UNIT} is active again after its stop`)), messages('warn').join(' | '));
    assert.ok(messages('warn').some((m) => m === `${UNIT}: SIGKILL to mysqld ${restarted} before stopping the unit`), messages('warn').join(' | '));
  });

  it('stopMysqld keeps reading is-active while the unit is deactivating, and takes failed as down', async () => {
    systemctl.answers(['deactivating', 'deactivating', 'failed']);
    assert.equal(await stop(), 'skipped');
    assert.deepEqual(systemctl.calls(), [`stop ${UNIT}`, `is-active ${UNIT}`, `is-active ${UNIT}`, `is-active ${UNIT}`]);
  });

  it('stopMysqld fails with EMYSQLD naming the unit and its state when the unit cannot be made inactive within the stop deadline', async () => {
    config.deadlines.mysqldStopMs = 1600;
    config.deadlines.mysqldTermGraceMs = 500;
    systemctl.answers(['activating']);
    const started = performance.now();
    await assert.rejects(stop(), (error: unknown) => {
      assert.ok(error instanceof FenceAgentError);
      assert.equal(error.code, 'EMYSQLD');
      assert.match(error.message, /^mariadb\.service could not be made inactive in time: systemctl is-active says activating$/);
      return true;
    });
    const took = performance.now() - started;
    assert.ok(took < 1600, `the verdict comes before the step's own deadline (${Math.round(took)} ms)`);
  });
});

describe('stopMysqld without a systemd unit', () => {
  it('stopMysqld in mysqld.start mode SIGTERMs our mysqld and runs no systemctl', async () => {
    config = testConfig({ dir: fresh('node'), unit: null });
    mkdirSync(path.join(config.disk.mountpoint, 'mysql'), { recursive: true });
    const pid = await startFakeMysqld(children, binary, { cwd: path.join(config.disk.mountpoint, 'mysql') });
    assert.equal(await stop(), 'ok');
    assert.equal(isAlive(pid), false);
    assert.deepEqual(systemctl.calls(), []);
  });

  it('stopMysqld bounds a stop command that hangs by the grace: a mysqld ignoring SIGTERM is SIGKILLed at the grace, not at the step deadline', async () => {
    const base = testConfig({ dir: fresh('node'), unit: null });
    config = { ...base, mysqld: { ...base.mysqld, stop: ['/bin/sleep', '30'] }, deadlines: { ...base.deadlines, mysqldTermGraceMs: 400, mysqldStopMs: 20_000 } };
    mkdirSync(path.join(config.disk.mountpoint, 'mysql'), { recursive: true });
    const pid = await startFakeMysqld(children, binary, { cwd: path.join(config.disk.mountpoint, 'mysql'), ignoreTerm: true });
    const { log, lines } = logStub();
    const started = performance.now();
    assert.equal(await stop('graceful', log), 'ok');
    const took = performance.now() - started;
    assert.equal(isAlive(pid), false);
    assert.ok(took < 5000, `stopped in ${Math.round(took)} ms: the grace (400 ms), then SIGKILL — not the step's 20 s`);
    assert.ok(lines.some((line) => /graceful stop failed or ran out of grace/.test(line.message)), 'the stop command was cut at the grace');
    assert.ok(lines.some((line) => /mysqld survived its grace; SIGKILL/.test(line.message)), 'SIGKILL after the grace');
  });

  it('stopMysqld in mysqld.start mode with no mysqld running is skipped without any systemctl call', async () => {
    config = testConfig({ dir: fresh('node'), unit: null });
    assert.equal(await stop(), 'skipped');
    assert.deepEqual(systemctl.calls(), []);
  });
});
