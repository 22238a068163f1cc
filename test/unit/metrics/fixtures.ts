// Snapshots and events for the metrics tests.
import type { Verdict } from '../../../src/health.ts';
import type { MetricsSnapshot } from '../../../src/metrics/types.ts';
import type { AgentState, TransitionRecord } from '../../../src/state.ts';

export const agentState = (patch: Partial<AgentState> = {}): AgentState => ({
  version: 1,
  node: 'db1',
  bootId: 'boot-1',
  watchdog: null,
  keepalivedState: 'MASTER',
  daemon: { pid: 100, startedAt: '2026-12-05T09:00:00.000Z' },
  desired: null,
  role: 'MASTER',
  transition: null,
  lastTransition: null,
  selfFence: null,
  updatedAt: '2026-12-05T09:59:59.000Z',
  ...patch,
});

/** An ended promotion: fence 0.12 s, mount 0.3 s, mysqld start 1.5 s, SQL ready 2.28 s; 4.2 s in all. */
export const promotion = (patch: Partial<TransitionRecord> = {}): TransitionRecord => ({
  id: 't-1-1',
  kind: 'promote',
  reason: 'notify',
  desire: { vrrpState: 'MASTER', source: 'notify', issuedAt: 0 },
  startedAt: '2026-12-05T10:00:00.000Z',
  startedMono: 1000,
  deadlineMs: 145000,
  endedAt: '2026-12-05T10:00:04.200Z',
  durationMs: 4200,
  outcome: 'ok',
  error: null,
  steps: [
    { name: 'fence.acquire', startedAt: '2026-12-05T10:00:00.000Z', deadlineMs: 25000, durationMs: 120, outcome: 'ok', detail: null },
    { name: 'mount', startedAt: '2026-12-05T10:00:00.120Z', deadlineMs: 30000, durationMs: 300, outcome: 'ok', detail: null },
    { name: 'mysqld.start', startedAt: '2026-12-05T10:00:00.420Z', deadlineMs: 30000, durationMs: 1500, outcome: 'ok', detail: null },
    { name: 'mysqld.sql-ready', startedAt: '2026-12-05T10:00:01.920Z', deadlineMs: 60000, durationMs: 2280, outcome: 'ok', detail: null },
  ],
  ...patch,
});

export const healthyMaster: Verdict = { healthy: true, known: true, role: 'MASTER', inTransition: false, line: 'healthy MASTER: ...', problems: [] };

export const snapshot = (patch: Partial<MetricsSnapshot> = {}): MetricsSnapshot => ({
  state: agentState({ lastTransition: promotion() }),
  verdict: healthyMaster,
  healthFile: 0,
  fence: { method: 'lockfile', held: true, holder: 'db1' },
  ...patch,
});
