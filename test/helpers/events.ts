// An event as the daemon emits it (src/events/types.ts), for the events and history tests.
import type { AgentEvent } from '../../src/events/types.ts';

/** Event number `n`: a promotion of db1 at 10:00:n on 2026-12-05, `detail` `event n`; `patch` overrides. */
export const agentEvent = (n: number, patch: Partial<AgentEvent> = {}): AgentEvent => ({
  version: 1,
  kind: 'promotion',
  at: new Date(Date.UTC(2026, 11, 5, 10, 0, n)).toISOString(),
  node: 'db1',
  cluster: 'pair1',
  role: 'MASTER',
  detail: `event ${n}`,
  durationMs: 4200,
  outcome: 'ok',
  ...patch,
});
