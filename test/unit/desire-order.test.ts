import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareIssued, issueOrderProblem, latestIssued, orderNow, orderOfForkedProcess, type Issued } from '../../src/desire-order.ts';
import { bootId } from '../../src/proc.ts';
import { withTwoForkedInOrder } from '../helpers/children.ts';

const BOOT = 'b0000000-0000-4000-8000-000000000001';
const OTHER = 'b0000000-0000-4000-8000-000000000002';
const at = (issuedAt: number, bootMs?: number, tie = 0, boot = BOOT): Issued => (bootMs === undefined ? { issuedAt } : { issuedAt, order: { boot, bootMs, tie } });
const HOUR = 3_600_000;

describe('compareIssued', () => {
  it('orders two requests of this boot by their place on the boot clock, whatever their wall times say (a backward clock step)', () => {
    const beforeStep = at(1_800_000_000_000 + HOUR, 50_000);
    const afterStep = at(1_800_000_000_000 + 10, 50_020);
    assert.ok(compareIssued(afterStep, beforeStep, BOOT) > 0);
    assert.ok(compareIssued(beforeStep, afterStep, BOOT) < 0);
  });

  it('breaks a tie within one 10 ms tick by pid: keepalived forked the larger pid later', () => {
    assert.ok(compareIssued(at(5, 700, 4101), at(9, 700, 4100), BOOT) > 0);
    assert.ok(compareIssued(at(9, 700, 4100), at(5, 700, 4101), BOOT) < 0);
  });

  it('takes a pid that wrapped past pid_max within one tick for the later one', () => {
    assert.ok(compareIssued(at(0, 700, 301), at(0, 700, 32_760), BOOT) > 0, 'pid_max 32768');
    assert.ok(compareIssued(at(0, 700, 12), at(0, 700, 4_194_300), BOOT) > 0, 'pid_max 4194304');
  });

  it('calls two requests of one tick without pids equal: the later arrival wins', () => {
    assert.equal(compareIssued(at(5, 700, 0), at(9, 700, 0), BOOT), 0);
    assert.equal(compareIssued(at(5, 700, 4100), at(9, 700, 0), BOOT), 0);
  });

  it('takes a request of this boot for newer than one of another boot or one recorded without an order', () => {
    assert.ok(compareIssued(at(1, 10), at(9 * HOUR, 99_999_999, 0, OTHER), BOOT) > 0);
    assert.ok(compareIssued(at(1, 10), at(9 * HOUR), BOOT) > 0);
    assert.ok(compareIssued(at(9 * HOUR), at(1, 10), BOOT) < 0);
  });

  it('falls back to the wall clock between requests of which neither is from this boot', () => {
    assert.ok(compareIssued(at(2, 10, 0, OTHER), at(1, 99, 0, OTHER), BOOT) > 0);
    assert.ok(compareIssued(at(1), at(2), BOOT) < 0);
    assert.equal(compareIssued(at(3), at(3), BOOT), 0);
  });
});

describe('latestIssued', () => {
  it('picks the request issued last, and of equals the later arrival', () => {
    const a = at(0, 100);
    const b = at(0, 300);
    const c = at(0, 200);
    assert.equal(latestIssued([a, b, c], BOOT), b);
    const d = at(0, 300);
    assert.equal(latestIssued([a, b, c, d], BOOT), d);
  });

  it('refuses an empty list with a TypeError', () => {
    assert.throws(() => latestIssued([], BOOT), TypeError);
  });
});

describe('orders made here', () => {
  it('orderNow is on this boot and not before this process was forked', () => {
    const now = orderNow();
    const self = orderOfForkedProcess();
    assert.equal(now.boot, bootId());
    assert.equal(self.tie, process.pid);
    assert.ok(now.bootMs >= self.bootMs, `${now.bootMs} ≥ ${self.bootMs}`);
    assert.equal(issueOrderProblem(now), null);
  });

  it('orderOfForkedProcess keeps the fork order of two children, the first stopped before it ran', async () => {
    await withTwoForkedInOrder((first, second) => {
      const a = { issuedAt: 0, order: orderOfForkedProcess(first) };
      const b = { issuedAt: 0, order: orderOfForkedProcess(second) };
      assert.ok(compareIssued(b, a) > 0, `first ${JSON.stringify(a.order)}, second ${JSON.stringify(b.order)}`);
    });
  });

  it('issueOrderProblem names the field that is wrong', () => {
    assert.match(issueOrderProblem(null) ?? '', /expected an object/);
    assert.match(issueOrderProblem({ boot: '', bootMs: 1, tie: 0 }) ?? '', /^boot:/);
    assert.match(issueOrderProblem({ boot: BOOT, bootMs: -1, tie: 0 }) ?? '', /^bootMs:/);
    assert.match(issueOrderProblem({ boot: BOOT, bootMs: 1, tie: 1.5 }) ?? '', /^tie:/);
  });
});
