// The event hook, with real executables written to a temp dir (mode 0700): the event on stdin,
// the bound (SIGTERM, then SIGKILL to the hook and what it started), failures described and
// never thrown, and the queue: in order, one at a time, bounded, never waited for.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { EventHook, KILL_GRACE_MS, describeRun, runHook } from '../../../src/events/hook.ts';
import type { AgentEvent } from '../../../src/events/types.ts';
import { logStub } from '../../helpers/log-stub.ts';
import { scratchDir } from '../../helpers/scratch.ts';
import { agentEvent } from '../../helpers/events.ts';

const { fresh } = scratchDir('hook');

/** Writes an executable sh script (mode 0700) and returns its path. */
const script = (name: string, body: string): string => {
  const file = fresh(name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o700 });
  return file;
};

const event = (n: number, patch: Partial<AgentEvent> = {}): AgentEvent => agentEvent(n, { kind: 'failover', at: `2026-12-05T10:00:0${n % 10}.000Z`, ...patch });

/** The process runs (a zombie — dead, not yet reaped by whoever adopted it — does not). */
const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

const lines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

describe('runHook', () => {
  it('hands the event to the executable as one JSON line on stdin, with FENCE_AGENT_EVENT set to its kind', async () => {
    const out = fresh('stdin.out');
    const hook = script('write-stdin', `cat > ${out}\necho "$FENCE_AGENT_EVENT" > ${out}.kind`);
    const run = await runHook(hook, event(1), 5000);
    assert.deepEqual({ ...run, durationMs: 0 }, { exitCode: 0, signal: null, timedOut: false, error: null, stderr: '', durationMs: 0 });
    assert.equal(readFileSync(out, 'utf8'), `${JSON.stringify(event(1))}\n`);
    assert.equal(readFileSync(`${out}.kind`, 'utf8'), 'failover\n');
    assert.equal(describeRun(run, 5000), 'ok');
  });

  it('a hook that fails says its exit status and the end of its stderr', async () => {
    const hook = script('exit-3', 'echo "pager: no route to host" >&2\nexit 3');
    const run = await runHook(hook, event(1), 5000);
    assert.equal(run.exitCode, 3);
    assert.equal(run.stderr, 'pager: no route to host');
    assert.equal(describeRun(run, 5000), 'exited 3');
  });

  it('a hook past its bound gets SIGTERM at the bound', async () => {
    const hook = script('sleep-forever', 'exec sleep 1000');
    const started = performance.now();
    const run = await runHook(hook, event(1), 300);
    const took = performance.now() - started;
    assert.ok(took >= 300 && took < 300 + KILL_GRACE_MS, `ended after ${Math.round(took)} ms`);
    assert.equal(run.timedOut, true);
    assert.equal(run.signal, 'SIGTERM');
    assert.equal(describeRun(run, 300), 'killed by SIGTERM at its 300 ms bound');
  });

  it('a hook that ignores SIGTERM is SIGKILLed after the grace, and so is everything it started', async () => {
    const pidFile = fresh('child.pid');
    const hook = script('ignore-term', `trap '' TERM\nsleep 1000 &\necho $! > ${pidFile}\nwait`);
    const started = performance.now();
    const run = await runHook(hook, event(1), 300);
    const took = performance.now() - started;
    assert.ok(took >= 300 + KILL_GRACE_MS && took < 300 + KILL_GRACE_MS + 900, `ended after ${Math.round(took)} ms`);
    assert.equal(run.timedOut, true);
    assert.equal(run.signal, 'SIGKILL');
    const child = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(alive(child), false, `the hook's own child ${child} was killed with it`);
  });

  it('a hook that exits while something it left in a session of its own holds its stderr ends when it exits', async () => {
    const pidFile = fresh('escaped.pid');
    const hook = script('escape', `setsid sleep 1000 &\necho $! > ${pidFile}\necho leaving >&2\nexit 0`);
    const started = performance.now();
    const run = await runHook(hook, event(1), 5000);
    const escaped = Number(readFileSync(pidFile, 'utf8'));
    process.kill(escaped, 'SIGKILL'); // the test's own leftover
    assert.ok(performance.now() - started < 2000, `ended after ${Math.round(performance.now() - started)} ms, not at the bound`);
    assert.equal(run.exitCode, 0);
    assert.equal(run.timedOut, false);
    assert.equal(run.stderr, 'leaving');
    assert.equal(describeRun(run, 5000), 'ok');
  });

  it('a hook that cannot run (missing, not executable) is described, not thrown', async () => {
    const missing = await runHook(fresh('missing'), event(1), 1000);
    assert.equal(missing.exitCode, null);
    assert.match(describeRun(missing, 1000), /^could not run: .*ENOENT/);
    const notExecutable = fresh('not-executable');
    writeFileSync(notExecutable, '#!/bin/sh\nexit 0\n', { mode: 0o600 });
    const refused = await runHook(notExecutable, event(1), 1000);
    assert.match(describeRun(refused, 1000), /^could not run: .*EACCES/);
  });

  it('the daemon stopping (its signal) kills a running hook at once', async () => {
    const hook = script('sleep-stop', 'exec sleep 1000');
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 100);
    const started = performance.now();
    const run = await runHook(hook, event(1), 30_000, stop.signal);
    assert.ok(performance.now() - started < 1000);
    assert.equal(run.signal, 'SIGKILL');
  });
});

describe('EventHook', () => {
  it('runs the hook once per event, in order, one at a time', async () => {
    const out = fresh('order.out');
    const hook = script('order', `echo "start $FENCE_AGENT_EVENT" >> ${out}\ncat >> ${out}\nsleep 0.05\necho "end $FENCE_AGENT_EVENT" >> ${out}`);
    const { log } = logStub();
    const queue = new EventHook({ file: hook, timeoutMs: 5000, log });
    const kinds = ['fenced', 'self-fenced', 'fenced-in', 'demotion'] as const;
    kinds.forEach((kind, n) => queue.enqueue(event(n, { kind })));
    await queue.idle();
    const expected = kinds.flatMap((kind, n) => [`start ${kind}`, JSON.stringify(event(n, { kind })), `end ${kind}`]);
    assert.deepEqual(lines(out), expected, 'each run ended before the next began, in the order of the events');
  });

  it('enqueue never waits for the hook', () => {
    const { log } = logStub();
    const queue = new EventHook({ file: script('slow', 'exec sleep 1000'), timeoutMs: 200, log });
    const started = performance.now();
    queue.enqueue(event(1));
    queue.enqueue(event(2));
    assert.ok(performance.now() - started < 50, `enqueue took ${Math.round(performance.now() - started)} ms`);
    return queue.stop(0);
  });

  it('a full queue drops new events and counts them in the log', async () => {
    const out = fresh('full.out');
    const hook = script('full', `cat >> ${out}\nsleep 0.2`);
    const { log, lines: logged } = logStub();
    const queue = new EventHook({ file: hook, timeoutMs: 5000, log, maxQueued: 2 });
    for (let n = 1; n <= 6; n++) queue.enqueue(event(n));
    await queue.idle();
    assert.deepEqual(lines(out).map((line) => (JSON.parse(line) as AgentEvent).detail), ['event 1', 'event 2', 'event 3'], 'the one running and the two queued');
    const warnings = logged.filter((l) => l.level === 'warn').map((l) => l.message);
    assert.deepEqual(warnings, ['events.exec: 2 events wait for the hook; dropping new ones until the queue drains', 'events.exec: 3 events were dropped while the queue was full']);
  });

  it('a failing hook is one warn line per run and the queue goes on', async () => {
    const out = fresh('fail.out');
    const hook = script('fail', `cat >> ${out}\necho boom >&2\nexit 3`);
    const { log, lines: logged } = logStub();
    const queue = new EventHook({ file: hook, timeoutMs: 5000, log });
    queue.enqueue(event(1, { kind: 'fenced' }));
    queue.enqueue(event(2));
    await queue.idle();
    assert.equal(lines(out).length, 2);
    const warnings = logged.filter((l) => l.level === 'warn');
    assert.deepEqual(warnings.map((l) => l.message), [`events.exec: ${hook} for the fenced event: exited 3; stderr: boom`, `events.exec: ${hook} for the failover event: exited 3; stderr: boom`]);
    assert.equal(warnings[0]?.fields.exit_code, 3);
  });

  it('stop waits for the queued events within its bound; past it the running hook is killed and the rest dropped', async () => {
    const out = fresh('stop.out');
    const quick = new EventHook({ file: script('quick', `cat >> ${out}`), timeoutMs: 5000, log: logStub().log });
    quick.enqueue(event(1));
    quick.enqueue(event(2));
    await quick.stop(5000);
    assert.equal(lines(out).length, 2, 'both handed over before stop returned');

    const { log, lines: logged } = logStub();
    const stuck = new EventHook({ file: script('stuck', 'exec sleep 1000'), timeoutMs: 30_000, log });
    stuck.enqueue(event(1));
    stuck.enqueue(event(2));
    const started = performance.now();
    await stuck.stop(200);
    assert.ok(performance.now() - started < 1500, `stop took ${Math.round(performance.now() - started)} ms`);
    assert.match(logged.map((l) => l.message).join('\n'), /the daemon is stopping; the running hook killed, 1 queued events not handed to it/);
    stuck.enqueue(event(3));
    assert.match(logged.at(-1)?.message ?? '', /the daemon is stopping; failover event not handed to the hook/);
  });
});
