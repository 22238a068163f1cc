// The lease as a fence, end to end on the netns lab (issue "Close the lease hole"): a MASTER that
// stops — frozen whole, its daemon killed, its lease storage hung — must be reset by its watchdog or
// fence itself before the peer mounts, and acknowledge nothing after the peer took over. The
// scenarios are in lab/scenario/catalog.ts (group `fence`); the harness adds its usual checks.
import { describe, test } from 'node:test';
import { scenariosOf } from '../../lab/scenario/catalog.ts';
import { runOnNetns } from './run.ts';

describe('the lease is a fence (watchdog, expiry, SIGKILL on loss)', () => {
  for (const scenario of scenariosOf('fence', 'netns')) test(scenario.title, () => runOnNetns(scenario));
});
