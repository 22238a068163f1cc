import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeadlineError, pollUntil, sleep, withDeadline } from '../../src/deadline.ts';
import { FenceAgentError } from '../../src/errors.ts';

const after = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('withDeadline', () => {
  it('withDeadline resolves with the value of work that finishes in time', async () => {
    assert.equal(await withDeadline('quick step', 1000, () => Promise.resolve(42)), 42);
  });

  it('withDeadline passes a signal that is not aborted when work finishes in time', async () => {
    let seen: AbortSignal | undefined;
    await withDeadline('quick step', 1000, (signal) => {
      seen = signal;
      return Promise.resolve();
    });
    assert.ok(seen);
    assert.equal(seen.aborted, false);
  });

  it('withDeadline rejects with the error of work that fails in time', async () => {
    const failure = new Error('mount: wrong fs type');
    await assert.rejects(withDeadline('mount', 1000, () => Promise.reject(failure)), (error: unknown) => error === failure);
  });

  it('withDeadline rejects with a DeadlineError code EDEADLINE when work runs past the deadline', async () => {
    const started = Date.now();
    await assert.rejects(
      withDeadline('mount /data', 50, () => new Promise<never>(() => undefined)),
      (error: unknown) => {
        assert.ok(error instanceof DeadlineError);
        assert.ok(error instanceof FenceAgentError);
        assert.equal(error.code, 'EDEADLINE');
        assert.equal(error.deadlineMs, 50);
        assert.equal(error.message, 'mount /data did not finish within 50 ms');
        return true;
      },
    );
    assert.ok(Date.now() - started >= 45, 'it waited for the deadline');
  });

  it('withDeadline aborts the signal with the DeadlineError at the deadline', async () => {
    let signal: AbortSignal | undefined;
    let thrown: unknown;
    try {
      await withDeadline('probe', 30, (s) => {
        signal = s;
        return new Promise<never>(() => undefined);
      });
    } catch (error) {
      thrown = error;
    }
    assert.ok(thrown instanceof DeadlineError);
    assert.ok(signal);
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, thrown);
  });

  it('withDeadline without settleGraceMs rejects before slow work has settled', async () => {
    let finished = false;
    await assert.rejects(
      withDeadline('slow step', 30, async () => {
        await after(200);
        finished = true;
      }),
      { code: 'EDEADLINE' },
    );
    assert.equal(finished, false);
  });

  it('withDeadline with settleGraceMs waits for work that settles shortly after the deadline', async () => {
    let finished = false;
    await assert.rejects(
      withDeadline(
        'mount',
        30,
        async () => {
          await after(100); // ignores the abort, like a mount(8) that completes anyway
          finished = true;
        },
        { settleGraceMs: 1000 },
      ),
      { code: 'EDEADLINE' },
    );
    assert.equal(finished, true, 'the work had settled before withDeadline rejected');
  });

  it('withDeadline with settleGraceMs gives up after the grace when work never settles', async () => {
    const started = Date.now();
    await assert.rejects(
      withDeadline('hung step', 30, () => new Promise<never>(() => undefined), { settleGraceMs: 100 }),
      { code: 'EDEADLINE' },
    );
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 120, `waited deadline + grace (${elapsed} ms)`);
    assert.ok(elapsed < 1000, `did not wait much longer than deadline + grace (${elapsed} ms)`);
  });

  it('withDeadline with settleGraceMs still rejects with EDEADLINE when the work fails after the abort', async () => {
    await assert.rejects(
      withDeadline(
        'step',
        30,
        (signal) =>
          new Promise<never>((_resolve, reject) => {
            signal.addEventListener('abort', () => reject(new Error('aborted by signal')));
          }),
        { settleGraceMs: 500 },
      ),
      { code: 'EDEADLINE' },
    );
  });
});

describe('sleep', () => {
  it('sleep resolves after about the given time', async () => {
    const started = Date.now();
    await sleep(40);
    assert.ok(Date.now() - started >= 35);
  });

  it('sleep rejects at once with the reason of an already aborted signal', async () => {
    const reason = new Error('gone');
    await assert.rejects(sleep(10_000, AbortSignal.abort(reason)), (error: unknown) => error === reason);
  });

  it('sleep rejects with the abort reason as soon as the signal aborts', async () => {
    const controller = new AbortController();
    const reason = new DeadlineError('wait', 20);
    setTimeout(() => controller.abort(reason), 20);
    const started = Date.now();
    await assert.rejects(sleep(10_000, controller.signal), (error: unknown) => error === reason);
    assert.ok(Date.now() - started < 1000);
  });

  it('sleep resolves normally when its signal never aborts', async () => {
    const controller = new AbortController();
    await sleep(10, controller.signal);
    assert.equal(controller.signal.aborted, false);
  });
});

describe('pollUntil', () => {
  it('pollUntil returns the first value other than undefined', async () => {
    let calls = 0;
    const value = await pollUntil(
      () => {
        calls += 1;
        return calls >= 3 ? `ready after ${calls}` : undefined;
      },
      5,
      new AbortController().signal,
    );
    assert.equal(value, 'ready after 3');
    assert.equal(calls, 3);
  });

  it('pollUntil accepts falsy values other than undefined, such as null, 0 and false', async () => {
    const signal = new AbortController().signal;
    assert.equal(await pollUntil(() => null, 5, signal), null);
    assert.equal(await pollUntil(() => 0, 5, signal), 0);
    assert.equal(await pollUntil(() => Promise.resolve(false), 5, signal), false);
  });

  it('pollUntil waits the interval between probes', async () => {
    const times: number[] = [];
    await pollUntil(
      () => {
        times.push(Date.now());
        return times.length === 3 ? true : undefined;
      },
      30,
      new AbortController().signal,
    );
    assert.equal(times.length, 3);
    assert.ok((times[2] ?? 0) - (times[0] ?? 0) >= 55);
  });

  it('pollUntil rejects with the abort reason when the signal aborts first, and stops probing', async () => {
    let calls = 0;
    const controller = new AbortController();
    const reason = new DeadlineError('wait for mysqld', 40);
    setTimeout(() => controller.abort(reason), 40);
    await assert.rejects(
      pollUntil(
        () => {
          calls += 1;
          return undefined;
        },
        10,
        controller.signal,
      ),
      (error: unknown) => error === reason,
    );
    assert.ok(calls >= 2, `probed more than once (${calls})`);
    const callsAtAbort = calls;
    await after(50);
    assert.equal(calls, callsAtAbort, 'no probe after the abort');
  });

  it('pollUntil rejects after one probe when the signal is already aborted', async () => {
    let calls = 0;
    const reason = new Error('stop');
    await assert.rejects(
      pollUntil(
        () => {
          calls += 1;
          return undefined;
        },
        10,
        AbortSignal.abort(reason),
      ),
      (error: unknown) => error === reason,
    );
    assert.equal(calls, 1);
  });
});
