import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { jobTypesOf, systemdRestartJob, unitOfCgroup } from '../../../src/daemon/restart-job.ts';
import { installFakeSystemctl } from '../../helpers/fake-systemctl.ts';
import { scratchDir } from '../../helpers/scratch.ts';

const { dir } = scratchDir('restart-job');
const systemctl = installFakeSystemctl(path.join(dir, 'systemctl'));
const CGROUP = '0::/system.slice/fence-agent.service\n';

beforeEach(() => systemctl.reset());

describe('unitOfCgroup', () => {
  it('names the service of a cgroup v2 membership', () => {
    assert.equal(unitOfCgroup('0::/system.slice/fence-agent.service\n'), 'fence-agent.service');
  });

  it('reads the name=systemd hierarchy of cgroup v1', () => {
    assert.equal(unitOfCgroup('12:cpu,cpuacct:/\n1:name=systemd:/system.slice/fence-agent.service\n'), 'fence-agent.service');
  });

  it('is null outside a service (a login session, a container root)', () => {
    assert.equal(unitOfCgroup('0::/user.slice/user-0.slice/session-3.scope\n'), null);
    assert.equal(unitOfCgroup('0::/\n'), null);
  });
});

describe('jobTypesOf', () => {
  it("lists the unit's job types from systemctl list-jobs --no-legend", () => {
    const out = '  412 fence-agent.service restart running\n  413 keepalived.service start waiting\n';
    assert.deepEqual(jobTypesOf(out, 'fence-agent.service'), ['restart']);
    assert.deepEqual(jobTypesOf(out, 'keepalived.service'), ['start']);
  });

  it('ignores the "No jobs running." line and other units', () => {
    assert.deepEqual(jobTypesOf('No jobs running.\n', 'fence-agent.service'), []);
  });
});

describe('systemdRestartJob', () => {
  it('is restarting when systemd lists a restart job for our unit', async () => {
    systemctl.on('list-jobs', 'echo "  7 fence-agent.service restart running"');
    const job = await systemdRestartJob({ cgroup: CGROUP });
    assert.deepEqual(job, { unit: 'fence-agent.service', restarting: true, why: 'fence-agent.service job: restart' });
    assert.deepEqual(systemctl.calls(), ['list-jobs --no-legend --no-pager fence-agent.service']);
  });

  it('is not restarting during a stop job', async () => {
    systemctl.on('list-jobs', 'echo "  9 fence-agent.service stop running"');
    const job = await systemdRestartJob({ cgroup: CGROUP });
    assert.equal(job.restarting, false);
    assert.equal(job.why, 'fence-agent.service job: stop');
  });

  it('is not restarting when no job is queued (a kill(1) from a shell)', async () => {
    systemctl.on('list-jobs', 'echo "No jobs running."');
    const job = await systemdRestartJob({ cgroup: CGROUP });
    assert.equal(job.restarting, false);
    assert.equal(job.why, 'no job queued for fence-agent.service');
  });

  it('answers not restarting, without asking systemd, outside a service unit', async () => {
    const job = await systemdRestartJob({ cgroup: '0::/user.slice/session-1.scope\n' });
    assert.deepEqual(job, { unit: null, restarting: false, why: 'not running in a systemd service unit' });
    assert.deepEqual(systemctl.calls(), []);
  });

  it('answers not restarting when systemctl fails', async () => {
    systemctl.on('list-jobs', 'echo "Failed to connect to bus" >&2; exit 1');
    const job = await systemdRestartJob({ cgroup: CGROUP });
    assert.equal(job.restarting, false);
    assert.match(job.why, /exit 1: Failed to connect to bus/);
  });

  it('answers not restarting when systemctl hangs past its bound', async () => {
    systemctl.on('list-jobs', 'echo "  7 fence-agent.service restart running"; exec sleep 30');
    const started = Date.now();
    const job = await systemdRestartJob({ cgroup: CGROUP, timeoutMs: 300 });
    assert.equal(job.restarting, false);
    assert.match(job.why, /did not answer within 300 ms/);
    assert.ok(Date.now() - started < 10_000, 'returned on its bound');
  });
});
