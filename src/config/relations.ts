// The timer relations (README "Lease timers", DESIGN §5): rules between keys that each pass their
// own range but together would let the lease, the watchdog, the promotion or keepalived's check
// undercut one another. Checked by resolveConfig after every key is read; pure, so tests and
// other tools can list every violation at once.
import { configError } from '../errors.ts';
import type { Config } from './types.ts';

/**
 * The wait relation (c) assumes for the holder's MMP heartbeat (fence/scsi-pr/mmp.ts), ms: ext4's
 * default mmp_update_interval of 5 s gives 2·5 + 1 s. `config check` reads the filesystem's own.
 */
export const DEFAULT_MMP_WAIT_MS = 11000;

/**
 * Every violated timer relation of `config`, in the order (a)..(e), one line each:
 * `config FILE: timer relation (X): LEFT = N ms must be OP RIGHT = M ms (why)`, where LEFT and
 * RIGHT name the keys. Empty when all hold. W = `fence.watchdog.timeoutMs`, or 0 without a watchdog.
 *
 * - (a) lockfile: 2·updateMs + ioTimeoutMs ≤ staleMs − marginMs − W
 * - (b) lockfile: takeoverAfterMs ≥ staleMs + marginMs
 * - (c) lockfile: deadlines.fenceAcquireMs ≥ takeoverAfterMs + 2·ioTimeoutMs;
 *       scsi-pr: deadlines.fenceAcquireMs ≥ MMP wait (11 000 ms) + drainMs + 2·commandTimeoutMs;
 *       every method: deadlines.promoteMs ≥ fenceAcquireMs + mountMs + mysqldStartMs
 * - (d) lockfile with a watchdog: W > watchdog.daemonRestartMs
 * - (e) every method: deadlines.checkMs < keepalived.checkTimeoutMs ≤ keepalived.checkIntervalMs
 */
export function relationProblems(config: Config): string[] {
  const problems: string[] = [];
  const { fence, deadlines, keepalived } = config;
  const relation = (letter: string, left: string, leftMs: number, op: '≤' | '≥' | '<' | '>', right: string, rightMs: number, why: string): void => {
    const holds = op === '≤' ? leftMs <= rightMs : op === '≥' ? leftMs >= rightMs : op === '<' ? leftMs < rightMs : leftMs > rightMs;
    if (!holds) {
      problems.push(`config ${config.configPath}: timer relation (${letter}): ${left} = ${leftMs} ms must be ${op} ${right} = ${rightMs} ms (${why})`);
    }
  };

  if (fence.method === 'lockfile') {
    const w = fence.watchdog?.timeoutMs ?? 0;
    relation(
      'a',
      '2·fence.updateMs + fence.ioTimeoutMs',
      2 * fence.updateMs + fence.ioTimeoutMs,
      '≤',
      fence.watchdog === null ? 'fence.staleMs − fence.marginMs' : 'fence.staleMs − fence.marginMs − fence.watchdog.timeoutMs',
      fence.staleMs - fence.marginMs - w,
      'the holder needs two refresh attempts before its right to write ends',
    );
    relation(
      'b',
      'fence.takeoverAfterMs',
      fence.takeoverAfterMs,
      '≥',
      'fence.staleMs + fence.marginMs',
      fence.staleMs + fence.marginMs,
      'the peer waits out the whole lease plus the margin on its own clock before taking over',
    );
    relation(
      'c',
      'deadlines.fenceAcquireMs',
      deadlines.fenceAcquireMs,
      '≥',
      'fence.takeoverAfterMs + 2·fence.ioTimeoutMs',
      fence.takeoverAfterMs + 2 * fence.ioTimeoutMs,
      "acquiring must outlast the wait for a dead holder's lease and the reads on either side of it",
    );
  }
  if (fence.method === 'scsi-pr') {
    relation(
      'c',
      'deadlines.fenceAcquireMs',
      deadlines.fenceAcquireMs,
      '≥',
      `MMP wait (${DEFAULT_MMP_WAIT_MS}) + fence.drainMs + 2·fence.commandTimeoutMs`,
      DEFAULT_MMP_WAIT_MS + fence.drainMs + 2 * fence.commandTimeoutMs,
      "acquiring must outlast the wait on a silent holder's heartbeat, the drain after a plain PREEMPT and the commands around them",
    );
  }
  relation(
    'c',
    'deadlines.promoteMs',
    deadlines.promoteMs,
    '≥',
    'deadlines.fenceAcquireMs + deadlines.mountMs + deadlines.mysqldStartMs',
    deadlines.fenceAcquireMs + deadlines.mountMs + deadlines.mysqldStartMs,
    'the promotion must leave room for acquiring the fence, mounting and starting mysqld',
  );
  if (fence.method === 'lockfile' && fence.watchdog !== null) {
    relation(
      'd',
      'fence.watchdog.timeoutMs',
      fence.watchdog.timeoutMs,
      '>',
      'fence.watchdog.daemonRestartMs',
      fence.watchdog.daemonRestartMs,
      'a daemon restarted after a crash must pet the watchdog again before it resets the node',
    );
  }
  relation(
    'e',
    'deadlines.checkMs',
    deadlines.checkMs,
    '<',
    'keepalived.checkTimeoutMs',
    keepalived.checkTimeoutMs,
    'check must answer before keepalived kills it and counts a failure',
  );
  relation(
    'e',
    'keepalived.checkTimeoutMs',
    keepalived.checkTimeoutMs,
    '≤',
    'keepalived.checkIntervalMs',
    keepalived.checkIntervalMs,
    'a check must end before the next one is due, so fall and rise count whole intervals',
  );
  return problems;
}

/**
 * Throws the first violated timer relation of `config` (see {@link relationProblems}).
 * @throws FenceAgentError code `ECONFIG` (exit 6), one line naming the relation, its keys and numbers.
 */
export function assertRelations(config: Config): void {
  const [first] = relationProblems(config);
  if (first !== undefined) throw configError(first);
}
