import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LeaseObserver } from '../../../../fence/lease/observer.ts';

describe('LeaseObserver', () => {
  it('knows nothing before its first read', () => {
    const observer = new LeaseObserver(6000);
    assert.equal(observer.unchangedForMs(1000), null);
    assert.equal(observer.mayTakeOver(1_000_000), false);
    assert.equal(observer.remainingMs(0), null);
  });

  it('allows a takeover only once the same text has been seen for takeoverAfterMs on its own clock', () => {
    const observer = new LeaseObserver(6000);
    observer.saw('A', 1000);
    assert.equal(observer.mayTakeOver(6999), false);
    assert.equal(observer.remainingMs(6999), 1);
    observer.saw('A', 5000); // more reads of the same text change nothing
    assert.equal(observer.mayTakeOver(7000), true);
    assert.equal(observer.unchangedForMs(7000), 6000);
  });

  it('restarts the observation when the text changes (the holder refreshed)', () => {
    const observer = new LeaseObserver(6000);
    assert.equal(observer.saw('counter 1', 0), true);
    assert.equal(observer.saw('counter 2', 5000), true);
    assert.equal(observer.mayTakeOver(10_999), false);
    assert.equal(observer.mayTakeOver(11_000), true);
  });

  it('treats a missing file as a value like any other', () => {
    const observer = new LeaseObserver(100);
    observer.saw(null, 0);
    assert.equal(observer.saw(null, 50), false);
    assert.equal(observer.mayTakeOver(100), true);
    assert.equal(observer.saw('A', 120), true);
    assert.equal(observer.mayTakeOver(130), false);
  });

  it('forgets everything on reset', () => {
    const observer = new LeaseObserver(100);
    observer.saw('A', 0);
    observer.reset();
    assert.equal(observer.lastText, undefined);
    assert.equal(observer.saw('A', 500), true);
    assert.equal(observer.unchangedForMs(550), 50);
  });
});
