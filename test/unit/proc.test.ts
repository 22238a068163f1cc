import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bootMsNow, forkedAtBootMs, forkedAtEpochMs, isAlive, isPathUnder, readComm } from '../../src/proc.ts';
import { withTwoForkedInOrder } from '../helpers/children.ts';

describe('forkedAtEpochMs', () => {
  it('forkedAtEpochMs of this process lies between its start and now', () => {
    const forked = forkedAtEpochMs();
    assert.ok(forked <= Date.now() + 20, `${forked} is not in the future`);
    assert.ok(forked >= performance.timeOrigin - 2000, 'within the 2 s before Node started');
  });

  it('forkedAtBootMs keeps the fork order of a child that was stopped before it ran, and forkedAtEpochMs follows it', async () => {
    await withTwoForkedInOrder((first, second) => {
      assert.ok(forkedAtBootMs(first) < forkedAtBootMs(second), `first forked at ${forkedAtBootMs(first)}, second at ${forkedAtBootMs(second)} ms since boot`);
      assert.ok(forkedAtBootMs(second) <= bootMsNow(), 'not in the future');
      assert.ok(forkedAtEpochMs(first) < forkedAtEpochMs(second));
      assert.ok(Math.abs(forkedAtEpochMs(second) - Date.now()) < 1000, 'close to now');
    });
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
