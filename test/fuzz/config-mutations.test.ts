// Fuzz of the configuration (issue 11, "Fuzz"): ≥ 200 seeded mutations of a valid configuration
// per run (the seed is printed; FUZZ_SEED=<seed> replays a run), each given to `fence-agent notify
// BACKUP` run in this process. Every run exits 0 or 6 with one line on stderr; a configuration
// refused (exit 6) changes nothing — no request handed over, no file written, no daemon started —
// and one accepted hands its request to the daemon. Mutations that no valid configuration can
// contain (a value of the wrong JSON type, a key the section does not have, a negative or
// fractional or huge number) must be refused with a line naming the key. The paths a mutation
// writes stay inside the test's own directory.
import assert from 'node:assert/strict';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { main as notify } from '../../src/commands/notify.ts';
import { loadConfig } from '../../src/config/load.ts';
import { scratchDir } from '../helpers/scratch.ts';
import { fuzzSeed, recordingDaemon, Rng, withStderr } from './helpers.ts';

const MUTATIONS = 240;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Leaf = { at: (string | number)[]; value: Json };

const { dir } = scratchDir('fuzz-config');
const runDir = path.join(dir, 'run');
const stateDir = path.join(dir, 'state');

const BASE: { [key: string]: Json } = {
  node: 'db1',
  cluster: 'shop',
  vip: { address: '10.77.0.10', prefix: 24, interface: 'vip0' },
  disk: { device: '/dev/loop7', mountpoint: '/srv/fa-fuzz-data', fstype: 'ext4', options: 'noatime' },
  mysqld: { start: ['/usr/sbin/mariadbd', '--skip-grant-tables'], pidFile: path.join(dir, 'mysqld.pid'), socket: path.join(dir, 'mysqld.sock'), health: { user: 'root' } },
  fence: { method: 'lockfile', path: path.join(dir, 'lease'), staleMs: 15000, updateMs: 2000, ioTimeoutMs: 2000, marginMs: 1000, takeoverAfterMs: 16000, allowNoWatchdog: true, allowLocalLease: true },
  deadlines: { checkMs: 1500, fenceAcquireMs: 25000, mysqldStopMs: 60000, mysqldTermGraceMs: 30000 },
  monitor: { fenceIntervalMs: 1000, sqlIntervalMs: 1000, healthIntervalMs: 1000, fencedInRetryMs: 30000 },
  keepalived: { instance: 'VI_1', checkIntervalMs: 2000, checkTimeoutMs: 2000, checkFall: 2, checkRise: 2 },
  log: { destination: 'stderr', level: 'info' },
  runDir,
  stateDir,
};

function leaves(value: Json, at: (string | number)[] = []): Leaf[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => leaves(item, [...at, i]));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([key, item]) => leaves(item, [...at, key]));
  return [{ at, value }];
}

function setAt(root: { [key: string]: Json }, at: (string | number)[], value: Json | undefined): void {
  let node: Json = root;
  for (const step of at.slice(0, -1)) node = (node as Record<string | number, Json>)[step] as Json;
  const last = at.at(-1) as string | number;
  if (value === undefined) {
    if (Array.isArray(node)) node.splice(last as number, 1);
    else delete (node as Record<string, Json>)[last as string];
  } else (node as Record<string | number, Json>)[last] = value;
}

/** The key a message must name for a mutation at `at`: the last object key on the way (an array item is named by its array). */
const keyOf = (at: (string | number)[]): string => String([...at].reverse().find((step) => typeof step === 'string'));

interface Mutation {
  config: { [key: string]: Json };
  what: string;
  /** a value no valid configuration can hold: exit 6 naming `key` */
  mustFail: boolean;
  key: string;
}

function mutation(rng: Rng): Mutation {
  const config = structuredClone(BASE);
  const all = leaves(config);
  // runDir and stateDir stay put: their defaults (/run/fence-agent, /var/lib/fence-agent) are the host's
  const { at, value } = rng.pick(all.filter((leaf) => leaf.at[0] !== 'runDir' && leaf.at[0] !== 'stateDir'));
  const key = keyOf(at);
  const name = at.join('.');
  const kind = rng.below(6);
  if (kind === 0) {
    // the wrong JSON type
    const wrong: Json[] =
      typeof value === 'number' ? [`${value}`, true, [], {}] : typeof value === 'string' ? [42, true, [], {}] : typeof value === 'boolean' ? ['true', 1, []] : ['x'];
    const replacement = rng.pick(wrong);
    setAt(config, at, replacement);
    return { config, what: `${name} = ${JSON.stringify(replacement)} (wrong type)`, mustFail: true, key };
  }
  if (kind === 1) {
    // a key its section does not have (a typo)
    const section = at.slice(0, -1).filter((step) => typeof step === 'string');
    const owner = rng.chance(0.2) ? [] : at.slice(0, at.findIndex((step) => typeof step === 'number') === -1 ? -1 : at.findIndex((step) => typeof step === 'number') - 1);
    const typo = rng.pick([`${String(at.at(-1))}s`, `${String(at.at(-1))}Ms`, 'timeout', 'enabled', String(at.at(-1)).toLowerCase() + '_']);
    if (owner.length === 0 && section.length > 0 && rng.chance(0.5)) {
      config[`${typo}`] = 1;
      return { config, what: `unknown root key ${typo}`, mustFail: config[typo] !== undefined && !(typo in BASE), key: typo };
    }
    let node: Json = config;
    for (const step of owner) node = (node as Record<string | number, Json>)[step] as Json;
    if (Array.isArray(node) || node === null || typeof node !== 'object' || typo in node) return mutation(rng);
    node[typo] = 1;
    return { config, what: `unknown key ${[...owner, typo].join('.')}`, mustFail: true, key: typo };
  }
  if (kind === 2 && typeof value === 'number') {
    const replacement = rng.pick([-1, -1000, 0.5, 1.5, 1e15, 2 ** 53]);
    setAt(config, at, replacement);
    return { config, what: `${name} = ${replacement} (out of range)`, mustFail: true, key };
  }
  if (kind === 3) {
    setAt(config, at, undefined);
    return { config, what: `${name} removed`, mustFail: false, key };
  }
  if (kind === 4 && typeof value === 'string') {
    // junk in a string; a path stays inside this test's directory
    const replacement = rng.pick(['', ' ', 'ſ', 'data', `${value}/`, `${value}\n`, 'x'.repeat(5000), path.join(dir, 'elsewhere', 'x'), '/srv/fa-fuzz-data/inside', `${value}\u0000`]);
    setAt(config, at, replacement);
    return { config, what: `${name} = ${JSON.stringify(replacement).slice(0, 60)}`, mustFail: false, key };
  }
  // a plausible change: a number scaled, a string swapped for another of its kind
  const replacement: Json = typeof value === 'number' ? Math.max(1, Math.round(value * rng.pick([0.1, 0.5, 2, 10]))) : typeof value === 'boolean' ? !value : value;
  setAt(config, at, replacement);
  return { config, what: `${name} = ${JSON.stringify(replacement)}`, mustFail: false, key };
}

/** Every file under `root` (paths with mtimes), to see that a refused run wrote nothing. */
function snapshot(root: string): string[] {
  const out: string[] = [];
  const walk = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(`${full} ${statSync(full).mtimeMs}`);
    }
  };
  walk(root);
  return out.sort();
}

describe('configuration, fuzzed', () => {
  const daemons = new Map<string, Awaited<ReturnType<typeof recordingDaemon>>>();
  after(async () => {
    for (const daemon of daemons.values()) await daemon.close();
  });

  test(`${MUTATIONS} generated mutations: exit 0 or 6 with one line; a refused configuration changes nothing, an accepted one hands the request over`, async () => {
    const seed = fuzzSeed();
    console.log(`# config fuzz seed ${seed} (replay: FUZZ_SEED=${seed})`);
    const rng = new Rng(seed);
    const counts = { accepted: 0, refused: 0, mustFail: 0 };
    const file = path.join(dir, 'config.json');
    for (let i = 0; i < MUTATIONS; i++) {
      const m = mutation(rng);
      writeFileSync(file, JSON.stringify(m.config), { mode: 0o600 });
      const what = `mutation ${i} (seed ${seed}): ${m.what}`;
      // accepted: the stand-in daemon listens where this configuration's notify will look
      let accepted: ReturnType<typeof loadConfig> | null;
      try {
        accepted = loadConfig(file);
      } catch {
        accepted = null;
      }
      if (accepted !== null) {
        assert.ok(accepted.runDir.startsWith(dir), `${what}: runDir stays in the test's directory (${accepted.runDir})`);
        if (!daemons.has(accepted.runDir)) daemons.set(accepted.runDir, await recordingDaemon(accepted.runDir));
      }
      const daemon = accepted === null ? null : (daemons.get(accepted.runDir) ?? null);
      const handed = daemon?.received.length ?? 0;
      const before = snapshot(dir);
      const { result: code, stderr } = await withStderr(() => notify(['--config', file, 'BACKUP']));
      assert.equal(stderr.split('\n').length, 2, `${what}: one line on stderr, got ${JSON.stringify(stderr.slice(0, 400))}`);
      assert.ok(stderr.length <= 1500, `${what}: a short line (${stderr.length} characters)`);
      if (m.mustFail) {
        counts.mustFail++;
        assert.equal(code, 6, `${what}: refused with exit 6, got ${code}: ${stderr.trim()}`);
        assert.ok(stderr.includes(m.key), `${what}: the line names ${m.key}: ${stderr.trim()}`);
      }
      if (code === 6) {
        counts.refused++;
        assert.equal(accepted, null, `${what}: notify refused what loadConfig accepts`);
        assert.match(stderr, /^fence-agent notify: config /, what);
        assert.deepEqual(snapshot(dir), before, `${what}: nothing written`);
      } else {
        assert.equal(code, 0, `${what}: exit 0 or 6, got ${code}: ${stderr.trim()}`);
        counts.accepted++;
        assert.notEqual(daemon, null, `${what}: notify accepted what loadConfig refuses`);
        assert.equal(daemon?.received.length, handed + 1, `${what}: the request handed over`);
        assert.equal(daemon?.received.at(-1)?.vrrpState, 'BACKUP', what);
      }
    }
    console.log(`# config fuzz: ${MUTATIONS} mutations: ${counts.refused} refused with exit 6 (${counts.mustFail} of them of a kind no valid configuration holds), ${counts.accepted} accepted and handed over`);
    assert.ok(counts.refused >= 60 && counts.accepted >= 20, `both outcomes are exercised: ${JSON.stringify(counts)}`);
  });
});
