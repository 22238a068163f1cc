import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { forkedAtEpochMs, isAlive, isPathUnder, readComm } from '../../src/proc.ts';

describe('forkedAtEpochMs', () => {
  it('forkedAtEpochMs of this process lies between its start and now', () => {
    const forked = forkedAtEpochMs();
    assert.ok(forked <= Date.now() + 20, `${forked} is not in the future`);
    assert.ok(forked >= performance.timeOrigin - 2000, 'within the 2 s before Node started');
  });

  it('forkedAtEpochMs keeps the fork order of a child that was stopped before it ran', async () => {
    const first = spawn('sleep', ['30']);
    await new Promise((resolve) => first.once('spawn', resolve));
    first.kill('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = spawn('sleep', ['30']);
    await new Promise((resolve) => second.once('spawn', resolve));
    try {
      const a = forkedAtEpochMs(first.pid);
      const b = forkedAtEpochMs(second.pid);
      assert.ok(a < b, `first forked at ${a}, second at ${b}`);
      assert.ok(Math.abs(b - Date.now()) < 1000, 'close to now');
    } finally {
      first.kill('SIGKILL');
      second.kill('SIGKILL');
    }
  });
});

describe('/proc readers', () => {
  it('readComm and isAlive see this process and not a pid that does not exist', () => {
    assert.equal(readComm(process.pid), 'node');
    assert.equal(isAlive(process.pid), true);
    assert.equal(readComm(2 ** 22 + 1), null);
    assert.equal(isAlive(2 ** 22 + 1), false);
  });

  it('isPathUnder compares whole path components', () => {
    assert.equal(isPathUnder('/data', '/data'), true);
    assert.equal(isPathUnder('/data/mysql', '/data'), true);
    assert.equal(isPathUnder('/data2/mysql', '/data'), false);
    assert.equal(isPathUnder('/srv/data/mysql', '/data'), false);
  });
});
