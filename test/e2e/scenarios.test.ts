// The behaviours of the two-node pair (issue 3), end to end on the netns lab: real keepalived
// electing a MASTER and moving the VIP, the fence-agent daemons moving the shared disk and
// MariaDB, a client writing through the VIP the whole time. Each scenario (lab/scenario/catalog.ts)
// is checked by the harness: the invariants held at ≥ 20 Hz, every acknowledged row survived, no
// unexpected watchdog reset, and fsck -n is clean after lab down.
import { describe, test } from 'node:test';
import { scenariosOf } from '../../lab/scenario/catalog.ts';
import { runOnNetns } from './run.ts';

describe('two-node lab with real keepalived', () => {
  for (const scenario of scenariosOf('pair', 'netns')) test(scenario.title, () => runOnNetns(scenario));
});
