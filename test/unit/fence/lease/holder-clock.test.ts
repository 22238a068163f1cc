import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HolderClock } from '../../../../fence/lease/holder-clock.ts';

// S 15 s, M 1 s, T_io 2 s, W 5 s: the right lasts S − M − W = 9 s after t_g, death by S − M = 14 s.
const timers = { staleMs: 15_000, marginMs: 1000, ioTimeoutMs: 2000, watchdogMs: 5000 };

describe('HolderClock', () => {
  it('gives no right to write before a good write', () => {
    const clock = new HolderClock(timers);
    assert.equal(clock.mayWrite(0), false);
    assert.equal(clock.rightEndsAtMs, null);
    assert.equal(clock.mayStartRefresh(0), false);
  });

  it('ends the right to write at t_g + S − M − W and death at t_g + S − M', () => {
    const clock = new HolderClock(timers);
    assert.equal(clock.good(1000, 1500), true);
    assert.equal(clock.lastGoodStartMs, 1000, 't_g is the START of the write');
    assert.equal(clock.rightEndsAtMs, 10_000);
    assert.equal(clock.deadByMs, 15_000);
    assert.equal(clock.mayWrite(10_000), true);
    assert.equal(clock.mayWrite(10_001), false);
  });

  it('starts a refresh only when it can land within T_io before the right ends', () => {
    const clock = new HolderClock(timers);
    clock.good(0, 10);
    assert.equal(clock.mayStartRefresh(7000), true);
    assert.equal(clock.mayStartRefresh(7001), false);
  });

  it('does not count a refresh that took longer than T_io', () => {
    const clock = new HolderClock(timers);
    clock.good(0, 10);
    assert.equal(clock.good(3000, 5001), false);
    assert.equal(clock.lastGoodStartMs, 0);
    assert.equal(clock.good(3000, 5000), true);
    assert.equal(clock.lastGoodStartMs, 3000);
  });

  it('never lets a refresh started after the right ended revive it', () => {
    const clock = new HolderClock(timers);
    clock.good(0, 10);
    assert.equal(clock.good(9001, 9100), false);
    assert.equal(clock.mayWrite(9500), false);
  });

  it('keeps the latest t_g when refreshes complete out of order', () => {
    const clock = new HolderClock(timers);
    clock.good(2000, 2100);
    clock.good(1000, 2200);
    assert.equal(clock.lastGoodStartMs, 2000);
  });

  it('without a watchdog the right lasts S − M', () => {
    const clock = new HolderClock({ ...timers, watchdogMs: 0 });
    clock.good(0, 1);
    assert.equal(clock.rightEndsAtMs, 14_000);
    assert.equal(clock.deadByMs, 14_000);
  });
});
