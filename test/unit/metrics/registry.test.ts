// The metrics' content: names, types, labels and units (Prometheus conventions), read from the
// daemon's snapshot and counted from its events; and `promtool check metrics` on the text.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { AgentMetrics, ROLES } from '../../../src/metrics/registry.ts';
import { HEALTH_PARTS } from '../../../src/metrics/health-parts.ts';
import { agentState, healthyMaster, promotion, snapshot } from './fixtures.ts';

const identity = { node: 'db1', cluster: 'pair1', fenceMethod: 'lockfile' } as const;

/** The sample lines of `text` (no comments), as `name{labels} value`. */
const samples = (text: string): string[] => text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
/** The value of the one sample whose `name{labels}` is exactly `series`, or undefined. */
const value = (text: string, series: string): number | undefined => {
  const line = samples(text).find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};
/** `# TYPE` of each metric family. */
const types = (text: string): Map<string, string> =>
  new Map(text.split('\n').flatMap((line) => {
    const m = /^# TYPE (\S+) (\S+)$/.exec(line);
    return m ? [[m[1] as string, m[2] as string] as const] : [];
  }));

/** Runs `promtool check metrics` on `text`: its exit status and whatever it said. */
const promtool = (text: string): { status: number | null; said: string; error?: Error } => {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
  return { status: run.status, said: `${run.stdout ?? ''}${run.stderr ?? ''}`.trim(), error: run.error };
};

describe('AgentMetrics', () => {
  it('names every family fence_agent_*, with the Prometheus types and units: counters _total, durations and times _seconds', async () => {
    const text = await new AgentMetrics(identity).render(snapshot());
    assert.deepEqual(Object.fromEntries(types(text)), {
      fence_agent_info: 'gauge',
      fence_agent_start_time_seconds: 'gauge',
      fence_agent_role: 'gauge',
      fence_agent_healthy: 'gauge',
      fence_agent_health_problem: 'gauge',
      fence_agent_health_file_fault: 'gauge',
      fence_agent_in_transition: 'gauge',
      fence_agent_maintenance: 'gauge',
      fence_agent_self_fenced: 'gauge',
      fence_agent_fence_held: 'gauge',
      fence_agent_fence_holder: 'gauge',
      fence_agent_last_transition_timestamp_seconds: 'gauge',
      fence_agent_last_transition_duration_seconds: 'gauge',
      fence_agent_transitions_total: 'counter',
      fence_agent_transition_duration_seconds: 'histogram',
      fence_agent_step_duration_seconds: 'histogram',
      fence_agent_self_fences_total: 'counter',
      fence_agent_local_restarts_total: 'counter',
      fence_agent_notify_events_total: 'counter',
    });
    for (const line of text.split('\n').filter((l) => l.startsWith('# HELP '))) assert.match(line, /^# HELP fence_agent_\S+ \S.+$/, 'every family has a help text');
    assert.doesNotMatch(text, /^(process|nodejs)_/m, 'no default metrics: they would collide with node_exporter’s own in a textfile');
  });

  it('reads role, health, fence and the last transition from the snapshot (seconds, epoch seconds)', async () => {
    const text = await new AgentMetrics(identity).render(snapshot());
    assert.equal(value(text, 'fence_agent_info{node="db1",cluster="pair1",fence_method="lockfile"}'), 1);
    assert.equal(value(text, 'fence_agent_start_time_seconds'), Date.parse('2026-12-05T09:00:00.000Z') / 1000);
    for (const role of ROLES) assert.equal(value(text, `fence_agent_role{role="${role}"}`), role === 'MASTER' ? 1 : 0);
    assert.equal(value(text, 'fence_agent_healthy'), 1);
    for (const part of HEALTH_PARTS) assert.equal(value(text, `fence_agent_health_problem{part="${part}"}`), 0);
    assert.equal(value(text, 'fence_agent_health_file_fault'), 0);
    assert.equal(value(text, 'fence_agent_fence_held'), 1);
    assert.equal(value(text, 'fence_agent_fence_holder{holder="db1"}'), 1);
    assert.equal(value(text, 'fence_agent_in_transition'), 0);
    assert.equal(value(text, 'fence_agent_last_transition_timestamp_seconds{kind="promote",outcome="ok"}'), Date.parse('2026-12-05T10:00:04.200Z') / 1000);
    assert.equal(value(text, 'fence_agent_last_transition_duration_seconds{kind="promote",outcome="ok"}'), 4.2);
  });

  it('an unhealthy, fenced node: its failing parts, the FAULT for keepalived, the peer as holder; old label values disappear', async () => {
    const metrics = new AgentMetrics(identity);
    await metrics.render(snapshot());
    const verdict = { ...healthyMaster, healthy: false, role: 'BACKUP' as const, problems: ['FENCED: the fence was lost at x (lease taken over); ...', 'mysqld running (pid 7) without the VIP'] };
    const text = await metrics.render(
      snapshot({
        state: agentState({ role: 'FENCED', selfFence: { at: 'x', reason: 'lease taken over' }, transition: promotion({ outcome: null, endedAt: null, durationMs: null }), lastTransition: promotion({ kind: 'demote', outcome: 'aborted', durationMs: 800 }) }),
        verdict,
        healthFile: 1,
        fence: { method: 'lockfile', held: false, holder: 'db2' },
      }),
    );
    assert.equal(value(text, 'fence_agent_role{role="FENCED"}'), 1);
    assert.equal(value(text, 'fence_agent_role{role="MASTER"}'), 0);
    assert.equal(value(text, 'fence_agent_healthy'), 0);
    assert.equal(value(text, 'fence_agent_health_problem{part="self-fence"}'), 1);
    assert.equal(value(text, 'fence_agent_health_problem{part="mysqld"}'), 1);
    assert.equal(value(text, 'fence_agent_health_problem{part="mount"}'), 0);
    assert.equal(value(text, 'fence_agent_health_file_fault'), 1);
    assert.equal(value(text, 'fence_agent_self_fenced'), 1);
    assert.equal(value(text, 'fence_agent_in_transition'), 1);
    assert.equal(value(text, 'fence_agent_fence_held'), 0);
    assert.equal(value(text, 'fence_agent_fence_holder{holder="db2"}'), 1);
    assert.equal(value(text, 'fence_agent_fence_holder{holder="db1"}'), undefined, 'the old holder is gone');
    assert.equal(value(text, 'fence_agent_last_transition_duration_seconds{kind="demote",outcome="aborted"}'), 0.8);
    assert.equal(value(text, 'fence_agent_last_transition_duration_seconds{kind="promote",outcome="ok"}'), undefined, 'the previous last transition is gone');
    const free = await metrics.render(snapshot({ fence: { method: 'lockfile', held: false, holder: null } }));
    assert.ok(!samples(free).some((l) => l.startsWith('fence_agent_fence_holder')), 'no holder series when free or unknown');
  });

  it('counts transitions by kind and outcome, and observes transition and step durations in seconds', async () => {
    const metrics = new AgentMetrics(identity);
    const before = await metrics.render(snapshot());
    for (const kind of ['promote', 'demote']) for (const outcome of ['ok', 'rolled-back', 'failed', 'aborted']) assert.equal(value(before, `fence_agent_transitions_total{kind="${kind}",outcome="${outcome}"}`), 0, 'every known combination at 0 from the start');
    metrics.record({ type: 'transition', record: promotion() });
    metrics.record({ type: 'transition', record: promotion({ outcome: 'rolled-back', durationMs: 30_000, steps: [{ name: 'fence.acquire', startedAt: '', deadlineMs: 25000, durationMs: 25_000, outcome: 'failed', detail: 'EFENCE' }] }) });
    metrics.record({ type: 'transition', record: promotion({ outcome: null }) }); // not ended: not counted
    const text = await metrics.render(snapshot());
    assert.equal(value(text, 'fence_agent_transitions_total{kind="promote",outcome="ok"}'), 1);
    assert.equal(value(text, 'fence_agent_transitions_total{kind="promote",outcome="rolled-back"}'), 1);
    assert.equal(value(text, 'fence_agent_transition_duration_seconds_count{kind="promote",outcome="ok"}'), 1);
    assert.equal(value(text, 'fence_agent_transition_duration_seconds_sum{kind="promote",outcome="ok"}'), 4.2);
    assert.equal(value(text, 'fence_agent_transition_duration_seconds_bucket{le="5",kind="promote",outcome="ok"}'), 1);
    assert.equal(value(text, 'fence_agent_transition_duration_seconds_bucket{le="2.5",kind="promote",outcome="ok"}'), 0);
    assert.equal(value(text, 'fence_agent_step_duration_seconds_sum{kind="promote",step="mysqld.sql-ready",outcome="ok"}'), 2.28);
    assert.equal(value(text, 'fence_agent_step_duration_seconds_count{kind="promote",step="fence.acquire",outcome="failed"}'), 1);
    assert.equal(value(text, 'fence_agent_step_duration_seconds_sum{kind="promote",step="fence.acquire",outcome="failed"}'), 25);
    assert.equal(value(text, 'fence_agent_step_duration_seconds_bucket{le="+Inf",kind="promote",step="mount",outcome="ok"}'), 1);
  });

  it('counts self-fences, local restarts and notify events by state and source', async () => {
    const metrics = new AgentMetrics(identity);
    metrics.record({ type: 'self-fence' });
    metrics.record({ type: 'local-restart' });
    metrics.record({ type: 'local-restart' });
    metrics.record({ type: 'notify', state: 'MASTER', source: 'notify' });
    metrics.record({ type: 'notify', state: 'MASTER', source: 'fifo' });
    metrics.record({ type: 'notify', state: 'FAULT', source: 'notify' });
    metrics.record({ type: 'notify', state: 'FAULT', source: 'notify' });
    const text = await metrics.render(snapshot());
    assert.equal(value(text, 'fence_agent_self_fences_total'), 1);
    assert.equal(value(text, 'fence_agent_local_restarts_total'), 2);
    assert.equal(value(text, 'fence_agent_notify_events_total{state="MASTER",source="notify"}'), 1);
    assert.equal(value(text, 'fence_agent_notify_events_total{state="MASTER",source="fifo"}'), 1);
    assert.equal(value(text, 'fence_agent_notify_events_total{state="FAULT",source="notify"}'), 2);
    assert.equal(value(text, 'fence_agent_notify_events_total{state="DELETED",source="fifo"}'), 0);
  });

  it('with fence.method none: no fence series', async () => {
    const text = await new AgentMetrics({ ...identity, fenceMethod: 'none' }).render(snapshot({ fence: { method: 'none', held: null, holder: null } }));
    assert.ok(!text.includes('fence_agent_fence_held') && !text.includes('fence_agent_fence_holder'));
    assert.equal(value(text, 'fence_agent_info{node="db1",cluster="pair1",fence_method="none"}'), 1);
  });

  it('serves the Prometheus text format 0.0.4', () => {
    assert.equal(new AgentMetrics(identity).contentType, 'text/plain; version=0.0.4; charset=utf-8');
  });

  // promtool comes with Debian's prometheus package (scripts/setup.sh installs it)
  it('promtool check metrics finds nothing to say about the text, idle or after every kind of event', async () => {
    const metrics = new AgentMetrics(identity);
    const texts = [await metrics.render(snapshot({ verdict: null, healthFile: null, state: agentState({ role: 'UNKNOWN', daemon: null }) }))];
    metrics.record({ type: 'transition', record: promotion() });
    metrics.record({ type: 'transition', record: promotion({ kind: 'demote', outcome: 'failed', steps: [{ name: 'rollback.unmount', startedAt: '', deadlineMs: 1, durationMs: 30_000, outcome: 'failed', detail: 'busy' }] }) });
    metrics.record({ type: 'self-fence' });
    metrics.record({ type: 'local-restart' });
    metrics.record({ type: 'notify', state: 'BACKUP', source: 'fifo' });
    texts.push(await metrics.render(snapshot({ verdict: { ...healthyMaster, healthy: false, problems: ['fenced-in: x', 'weird'] }, healthFile: 1, fence: { method: 'lockfile', held: false, holder: 'db2' } })));
    for (const text of texts) {
      const result = promtool(text);
      assert.equal(result.error, undefined, `promtool could not run (${result.error?.message ?? ''}): apt-get install prometheus`);
      assert.equal(result.status, 0, `promtool check metrics failed:\n${result.said}`);
      assert.equal(result.said, '', `promtool check metrics complained:\n${result.said}`);
    }
  });
});
