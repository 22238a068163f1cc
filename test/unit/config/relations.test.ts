import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertRelations, relationProblems } from '../../../src/config/relations.ts';
import { resolveConfig } from '../../../src/config/schema.ts';
import type { Config, Deadlines, KeepalivedConfig, LockfileFenceConfig } from '../../../src/config/types.ts';
import { FenceAgentError } from '../../../src/errors.ts';

const CONFIG_PATH = '/etc/fence-agent/config.json';
const PREFIX = `config ${CONFIG_PATH}: `;

type Raw = Record<string, unknown>;

const raw = (fence: Raw): Raw => ({
  node: 'db1',
  vip: { address: '10.0.0.100', interface: 'eth0' },
  disk: { device: '/dev/sdb1', mountpoint: '/data' },
  mysqld: { systemdUnit: 'mariadb.service' },
  fence,
});

const WATCHDOG = { device: '/dev/watchdog0', timeoutMs: 5000 };

/** The defaults with a lockfile fence and a 5 s watchdog: S 15000, R 2000, T_io 2000, M 1000, W 5000. */
const withWatchdog = (): Config => resolveConfig(raw({ method: 'lockfile', path: '/nfs/lease', watchdog: WATCHDOG }), CONFIG_PATH);
const withoutWatchdog = (): Config => resolveConfig(raw({ method: 'lockfile', path: '/nfs/lease', allowNoWatchdog: true }), CONFIG_PATH);
const noFence = (): Config => resolveConfig(raw({ method: 'none' }), CONFIG_PATH);

/** `base` with some lease fields, deadlines or keepalived settings replaced (the relations module is pure). */
const change = (
  base: Config,
  patch: { fence?: Partial<LockfileFenceConfig>; watchdog?: Partial<NonNullable<LockfileFenceConfig['watchdog']>>; deadlines?: Partial<Deadlines>; keepalived?: Partial<KeepalivedConfig> },
): Config => {
  let fence = base.fence;
  if (fence.method === 'lockfile') {
    fence = { ...fence, ...patch.fence };
    if (patch.watchdog !== undefined && fence.watchdog !== null) fence = { ...fence, watchdog: { ...fence.watchdog, ...patch.watchdog } };
  }
  return { ...base, fence, deadlines: { ...base.deadlines, ...patch.deadlines }, keepalived: { ...base.keepalived, ...patch.keepalived } };
};

/** Asserts that `config` violates exactly one relation, with exactly this line. */
const assertOnly = (config: Config, line: string): void => {
  assert.deepEqual(relationProblems(config), [`${PREFIX}${line}`]);
};

/** Asserts resolveConfig refuses `rawConfig` with ECONFIG / exit 6 and exactly this line. */
const assertResolveRefuses = (rawConfig: Raw, line: string): void => {
  assert.throws(
    () => resolveConfig(rawConfig, CONFIG_PATH),
    (error: unknown) => {
      assert.ok(error instanceof FenceAgentError, String(error));
      assert.equal(error.code, 'ECONFIG');
      assert.equal(error.exitCode, 6);
      assert.equal(error.message, `${PREFIX}${line}`);
      return true;
    },
  );
};

describe('timer relations with the defaults', () => {
  it('the defaults with a 5 s watchdog satisfy every relation', () => {
    assert.deepEqual(relationProblems(withWatchdog()), []);
  });

  it('the defaults without a watchdog (allowNoWatchdog) satisfy every relation', () => {
    assert.deepEqual(relationProblems(withoutWatchdog()), []);
  });

  it('the defaults with fence method none satisfy every relation', () => {
    assert.deepEqual(relationProblems(noFence()), []);
  });

  it('assertRelations returns quietly when every relation holds', () => {
    assert.doesNotThrow(() => assertRelations(withWatchdog()));
  });
});

describe('timer relation (a): 2·updateMs + ioTimeoutMs ≤ staleMs − marginMs − W', () => {
  it('relation (a) holds at the boundary and fails 1 ms past it, with the watchdog term', () => {
    // S − M − W = 15000 − 1000 − 5000 = 9000
    assert.deepEqual(relationProblems(change(withWatchdog(), { fence: { updateMs: 3500, ioTimeoutMs: 2000 } })), []);
    assertOnly(
      change(withWatchdog(), { fence: { updateMs: 3500, ioTimeoutMs: 2001 } }),
      'timer relation (a): 2·fence.updateMs + fence.ioTimeoutMs = 9001 ms must be ≤ fence.staleMs − fence.marginMs − fence.watchdog.timeoutMs = 9000 ms (the holder needs two refresh attempts before its right to write ends)',
    );
  });

  it('relation (a) counts W as 0 without a watchdog and leaves its term out of the line', () => {
    // S − M = 14000
    assert.deepEqual(relationProblems(change(withoutWatchdog(), { fence: { updateMs: 6000, ioTimeoutMs: 2000 } })), []);
    assertOnly(
      change(withoutWatchdog(), { fence: { updateMs: 6000, ioTimeoutMs: 2001 } }),
      'timer relation (a): 2·fence.updateMs + fence.ioTimeoutMs = 14001 ms must be ≤ fence.staleMs − fence.marginMs = 14000 ms (the holder needs two refresh attempts before its right to write ends)',
    );
  });

  it('resolveConfig refuses a configuration violating relation (a) by 1 ms', () => {
    assertResolveRefuses(
      raw({ method: 'lockfile', path: '/nfs/lease', watchdog: WATCHDOG, updateMs: 3500, ioTimeoutMs: 2001 }),
      'timer relation (a): 2·fence.updateMs + fence.ioTimeoutMs = 9001 ms must be ≤ fence.staleMs − fence.marginMs − fence.watchdog.timeoutMs = 9000 ms (the holder needs two refresh attempts before its right to write ends)',
    );
  });
});

describe('timer relation (b): takeoverAfterMs ≥ staleMs + marginMs', () => {
  it('relation (b) holds at the boundary and fails 1 ms below it', () => {
    assert.deepEqual(relationProblems(change(withWatchdog(), { fence: { takeoverAfterMs: 16000 } })), []);
    assertOnly(
      change(withWatchdog(), { fence: { takeoverAfterMs: 15999 } }),
      'timer relation (b): fence.takeoverAfterMs = 15999 ms must be ≥ fence.staleMs + fence.marginMs = 16000 ms (the peer waits out the whole lease plus the margin on its own clock before taking over)',
    );
  });

  it('resolveConfig refuses a configuration violating relation (b) by 1 ms', () => {
    assertResolveRefuses(
      raw({ method: 'lockfile', path: '/nfs/lease', watchdog: WATCHDOG, takeoverAfterMs: 15999 }),
      'timer relation (b): fence.takeoverAfterMs = 15999 ms must be ≥ fence.staleMs + fence.marginMs = 16000 ms (the peer waits out the whole lease plus the margin on its own clock before taking over)',
    );
  });
});

describe('timer relation (c): fenceAcquireMs ≥ takeoverAfterMs + 2·ioTimeoutMs; promoteMs ≥ fenceAcquireMs + mountMs + mysqldStartMs', () => {
  it('relation (c) for the fence holds at the boundary and fails 1 ms below it', () => {
    // takeoverAfterMs + 2·T_io = 16000 + 4000
    assert.deepEqual(relationProblems(change(withWatchdog(), { deadlines: { fenceAcquireMs: 20000 } })), []);
    assertOnly(
      change(withWatchdog(), { deadlines: { fenceAcquireMs: 19999 } }),
      "timer relation (c): deadlines.fenceAcquireMs = 19999 ms must be ≥ fence.takeoverAfterMs + 2·fence.ioTimeoutMs = 20000 ms (acquiring must outlast the wait for a dead holder's lease and the reads on either side of it)",
    );
  });

  it('relation (c) for the promotion holds at the boundary and fails 1 ms below it', () => {
    // fenceAcquireMs + mountMs + mysqldStartMs = 25000 + 30000 + 30000
    assert.deepEqual(relationProblems(change(withWatchdog(), { deadlines: { promoteMs: 85000 } })), []);
    assertOnly(
      change(withWatchdog(), { deadlines: { promoteMs: 84999 } }),
      'timer relation (c): deadlines.promoteMs = 84999 ms must be ≥ deadlines.fenceAcquireMs + deadlines.mountMs + deadlines.mysqldStartMs = 85000 ms (the promotion must leave room for acquiring the fence, mounting and starting mysqld)',
    );
  });

  it('relation (c) for the promotion applies to fence method none too, and the fence part does not', () => {
    assert.deepEqual(relationProblems(change(noFence(), { deadlines: { fenceAcquireMs: 50, promoteMs: 60050 } })), []);
    assertOnly(
      change(noFence(), { deadlines: { fenceAcquireMs: 50, promoteMs: 60049 } }),
      'timer relation (c): deadlines.promoteMs = 60049 ms must be ≥ deadlines.fenceAcquireMs + deadlines.mountMs + deadlines.mysqldStartMs = 60050 ms (the promotion must leave room for acquiring the fence, mounting and starting mysqld)',
    );
  });

  it('resolveConfig refuses a configuration violating either part of relation (c) by 1 ms', () => {
    assertResolveRefuses(
      { ...raw({ method: 'lockfile', path: '/nfs/lease', watchdog: WATCHDOG }), deadlines: { fenceAcquireMs: 19999 } },
      "timer relation (c): deadlines.fenceAcquireMs = 19999 ms must be ≥ fence.takeoverAfterMs + 2·fence.ioTimeoutMs = 20000 ms (acquiring must outlast the wait for a dead holder's lease and the reads on either side of it)",
    );
    assertResolveRefuses(
      { ...raw({ method: 'none' }), deadlines: { promoteMs: 84999 } },
      'timer relation (c): deadlines.promoteMs = 84999 ms must be ≥ deadlines.fenceAcquireMs + deadlines.mountMs + deadlines.mysqldStartMs = 85000 ms (the promotion must leave room for acquiring the fence, mounting and starting mysqld)',
    );
  });
});

describe('timer relation (c) for scsi-pr: fenceAcquireMs ≥ MMP wait + drainMs + 2·commandTimeoutMs', () => {
  const scsiPr = (fence: Raw = {}, deadlines: Raw = {}): Raw => ({ ...raw({ method: 'scsi-pr', ...fence }), deadlines });
  const line = (acquireMs: number, needMs: number): string =>
    `timer relation (c): deadlines.fenceAcquireMs = ${acquireMs} ms must be ≥ MMP wait (11000) + fence.drainMs + 2·fence.commandTimeoutMs = ${needMs} ms (acquiring must outlast the wait on a silent holder's heartbeat, the drain after a plain PREEMPT and the commands around them)`;

  it('the scsi-pr defaults satisfy every relation (11000 + 5000 + 2·3000 ≤ 25000)', () => {
    assert.deepEqual(relationProblems(resolveConfig(scsiPr(), CONFIG_PATH)), []);
  });

  it('relation (c) for scsi-pr holds at the boundary and resolveConfig refuses 1 ms below it', () => {
    assert.doesNotThrow(() => resolveConfig(scsiPr({ drainMs: 8000 }), CONFIG_PATH)); // 11000 + 8000 + 6000 = 25000
    assertResolveRefuses(scsiPr({ drainMs: 8001 }), line(25000, 25001));
    assertResolveRefuses(scsiPr({ commandTimeoutMs: 5000 }, { fenceAcquireMs: 20999 }), line(20999, 26000));
  });
});

describe('timer relation (d): watchdog.timeoutMs > watchdog.daemonRestartMs', () => {
  it('relation (d) holds 1 ms above the daemon restart time and fails at it', () => {
    assert.deepEqual(relationProblems(change(withWatchdog(), { watchdog: { daemonRestartMs: 4999 } })), []);
    assertOnly(
      change(withWatchdog(), { watchdog: { daemonRestartMs: 5000 } }),
      'timer relation (d): fence.watchdog.timeoutMs = 5000 ms must be > fence.watchdog.daemonRestartMs = 5000 ms (a daemon restarted after a crash must pet the watchdog again before it resets the node)',
    );
  });

  it('relation (d) does not apply without a watchdog', () => {
    assert.deepEqual(relationProblems(withoutWatchdog()), []);
  });

  it('resolveConfig refuses a configuration violating relation (d)', () => {
    assertResolveRefuses(
      raw({ method: 'lockfile', path: '/nfs/lease', watchdog: { ...WATCHDOG, daemonRestartMs: 5000 } }),
      'timer relation (d): fence.watchdog.timeoutMs = 5000 ms must be > fence.watchdog.daemonRestartMs = 5000 ms (a daemon restarted after a crash must pet the watchdog again before it resets the node)',
    );
  });
});

describe('timer relation (e): checkMs < keepalived.checkTimeoutMs ≤ keepalived.checkIntervalMs', () => {
  it('relation (e) holds with checkMs 1 ms below the check timeout and fails at it', () => {
    assert.deepEqual(relationProblems(change(withWatchdog(), { deadlines: { checkMs: 1999 } })), []);
    assertOnly(
      change(withWatchdog(), { deadlines: { checkMs: 2000 } }),
      'timer relation (e): deadlines.checkMs = 2000 ms must be < keepalived.checkTimeoutMs = 2000 ms (check must answer before keepalived kills it and counts a failure)',
    );
  });

  it('relation (e) holds with the check timeout equal to the interval and fails one step (1 s: keepalived counts whole seconds) above it', () => {
    assert.deepEqual(relationProblems(change(withWatchdog(), { keepalived: { checkTimeoutMs: 2000, checkIntervalMs: 2000 } })), []);
    assertOnly(
      change(withWatchdog(), { keepalived: { checkTimeoutMs: 3000, checkIntervalMs: 2000 } }),
      'timer relation (e): keepalived.checkTimeoutMs = 3000 ms must be ≤ keepalived.checkIntervalMs = 2000 ms (a check must end before the next one is due, so fall and rise count whole intervals)',
    );
  });

  it('relation (e) applies to fence method none too', () => {
    assertOnly(
      change(noFence(), { deadlines: { checkMs: 2000 } }),
      'timer relation (e): deadlines.checkMs = 2000 ms must be < keepalived.checkTimeoutMs = 2000 ms (check must answer before keepalived kills it and counts a failure)',
    );
  });

  it('resolveConfig refuses a configuration violating either part of relation (e) by one step', () => {
    assertResolveRefuses(
      { ...raw({ method: 'none' }), deadlines: { checkMs: 2000 } },
      'timer relation (e): deadlines.checkMs = 2000 ms must be < keepalived.checkTimeoutMs = 2000 ms (check must answer before keepalived kills it and counts a failure)',
    );
    assertResolveRefuses(
      { ...raw({ method: 'none' }), keepalived: { checkTimeoutMs: 3000, checkIntervalMs: 2000 } },
      'timer relation (e): keepalived.checkTimeoutMs = 3000 ms must be ≤ keepalived.checkIntervalMs = 2000 ms (a check must end before the next one is due, so fall and rise count whole intervals)',
    );
  });
});

describe('timer relations together', () => {
  it('relationProblems lists every violated relation in the order (a) to (e)', () => {
    const config = change(withWatchdog(), {
      fence: { updateMs: 5000, takeoverAfterMs: 15000 },
      watchdog: { daemonRestartMs: 6000 },
      deadlines: { fenceAcquireMs: 1000, promoteMs: 1000, checkMs: 3000 },
    });
    const letters = relationProblems(config).map((line) => /timer relation \((.)\)/.exec(line)?.[1]);
    assert.deepEqual(letters, ['a', 'b', 'c', 'c', 'd', 'e']);
  });

  it('assertRelations throws the first violated relation as ECONFIG, exit 6', () => {
    const config = change(withWatchdog(), { fence: { takeoverAfterMs: 15999 }, deadlines: { checkMs: 2000 } });
    assert.throws(
      () => assertRelations(config),
      (error: unknown) => {
        assert.ok(error instanceof FenceAgentError);
        assert.equal(error.code, 'ECONFIG');
        assert.equal(error.exitCode, 6);
        assert.match(error.message, /^config \/etc\/fence-agent\/config\.json: timer relation \(b\): /);
        assert.ok(!error.message.includes('\n'));
        return true;
      },
    );
  });

  it('resolveConfig reports a bad key before any timer relation', () => {
    assert.throws(
      () => resolveConfig({ ...raw({ method: 'lockfile', path: '/nfs/lease', watchdog: WATCHDOG, takeoverAfterMs: 15999 }), keepalived: { checkFall: 0 } }, CONFIG_PATH),
      /keepalived\.checkFall: expected an integer 1\.\.100, got 0/,
    );
  });
});
