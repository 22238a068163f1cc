import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { heartbeat, withHeartbeat } from '../../../lab/vm/progress.ts';

describe('heartbeat: a line while a long step runs', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setInterval', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it('logs every period with the time elapsed since it started, until stopped', () => {
    const lines: string[] = [];
    const stop = heartbeat((line) => lines.push(line), (ms) => `debootstrap: still running, ${ms / 1000} s`, 30_000);
    mock.timers.tick(29_999);
    assert.deepEqual(lines, []);
    mock.timers.tick(1);
    mock.timers.tick(30_000);
    assert.deepEqual(lines, ['debootstrap: still running, 30 s', 'debootstrap: still running, 60 s']);
    stop();
    mock.timers.tick(90_000);
    assert.equal(lines.length, 2);
  });

  it('stops when the step ends, also when it fails', async () => {
    const lines: string[] = [];
    await assert.rejects(
      withHeartbeat((line) => lines.push(line), () => 'boot: no ssh yet', () => Promise.reject(new Error('QEMU exited')), 1_000),
      /QEMU exited/,
    );
    mock.timers.tick(5_000);
    assert.deepEqual(lines, []);
  });
});
