// Fuzz of `fence-agent notify`'s arguments (issue 11, "Fuzz"): ≥ 1,000 generated vectors per run,
// seeded (the seed is printed; FUZZ_SEED=<seed> replays a run). Each runs the command's main() in
// this process against a stand-in daemon and is judged by the rule the README documents, written
// out here on its own (expectedOf), not by the parser: exactly one stderr line, exit 0 or 2, and a
// request handed over exactly when the vector is one keepalived sends for the configured instance —
// nothing else changes (no request, no desired.json, no daemon started). A sample also goes
// through the built CLI (dist/cli.cjs) for the same exit code and line.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI } from '../../lab/node.ts';
import { sh } from '../../lab/sh.ts';
import { main as notify } from '../../src/commands/notify.ts';
import { scratchDir } from '../helpers/scratch.ts';
import { fuzzSeed, recordingDaemon, Rng, withStderr } from './helpers.ts';

const VECTORS = 1200;
const INSTANCE = 'VI_1';
const STATES = ['MASTER', 'BACKUP', 'FAULT', 'STOP', 'DELETED'] as const;
/** README: an argument over 256 characters is refused */
const MAX_ARG = 256;

type Expected = { kind: 'usage' } | { kind: 'ignored' } | { kind: 'request'; vrrpState: string };

/**
 * The documented rule (README "How it works", `fence-agent notify`): keepalived's 4-argument form
 * `INSTANCE|GROUP NAME STATE PRIORITY` in upper case exactly, priority 0..255; or the single word
 * of a notify_master-style line in lower or upper case; nothing that only case-folds to these, no
 * argument over 256 characters, no unknown option. Another instance's event is ignored (exit 0).
 */
function expectedOf(args: readonly string[]): Expected {
  if (args.some((arg) => arg.startsWith('-') && arg.length > 1)) return { kind: 'usage' };
  if (args.some((arg) => arg.length > MAX_ARG)) return { kind: 'usage' };
  if (args.length === 1) {
    const word = args[0] as string;
    const state = STATES.find((s) => word === s || word === s.toLowerCase());
    return state === undefined ? { kind: 'usage' } : { kind: 'request', vrrpState: state };
  }
  if (args.length === 4) {
    const [type, name, state, priority] = args as [string, string, string, string];
    if (type !== 'INSTANCE' && type !== 'GROUP') return { kind: 'usage' };
    if (!(STATES as readonly string[]).includes(state)) return { kind: 'usage' };
    if (!/^[0-9]{1,3}$/.test(priority) || Number(priority) > 255) return { kind: 'usage' };
    if (name === '') return { kind: 'usage' };
    return name === INSTANCE ? { kind: 'request', vrrpState: state } : { kind: 'ignored' };
  }
  return { kind: 'usage' };
}

/** Look-alikes that case-fold or normalise to ASCII letters (issue 11 §1: `maſter` promoted a node). */
const LOOKALIKES: Record<string, string[]> = {
  s: ['ſ'],
  S: ['ſ', 'Ｓ'],
  i: ['ı'],
  I: ['ı', 'İ'],
  K: ['K'],
  k: ['K'],
  A: ['Ａ', 'А'],
  E: ['Е'],
  T: ['Т'],
  O: ['О'],
};

function mutate(rng: Rng, word: string): string {
  switch (rng.below(12)) {
    case 0: {
      const at = [...word].findIndex((c) => LOOKALIKES[c] !== undefined);
      if (at < 0) return `${word}ſ`;
      const chars = [...word];
      chars[at] = rng.pick(LOOKALIKES[chars[at] as string] as string[]);
      return chars.join('');
    }
    case 1:
      return word.charAt(0).toUpperCase() + word.slice(1).toLowerCase(); // Master
    case 2:
      return word.toLowerCase();
    case 3:
      return `${word}${rng.pick([' ', '\n', '\t', '\u200b', '\u0000'.replace('\u0000', '\u00a0')])}`;
    case 4:
      return `${rng.pick(['-', '--'])}${word}`;
    case 5:
      return word.slice(0, Math.max(0, word.length - 1 - rng.below(3)));
    case 6:
      return word.repeat(2);
    case 7:
      return 'x'.repeat(rng.pick([MAX_ARG, MAX_ARG + 1, 4096, 100_000]));
    case 8:
      return rng.pick(['', ' ', '0', '-1', '256', '255', '1e2', '０', '0x10', '100 ', '0100', '99999', 'NaN']);
    case 9:
      return word.toUpperCase();
    case 10:
      return rng.pick(['master', 'MASTER', 'backup', 'BACKUP', 'fault', 'stop', 'deleted', 'DELETED', 'INSTANCE', 'GROUP', 'VI_1', 'VI_2', 'MASTER_RX_LOWER_PRI']);
    default:
      return `${word}${String.fromCodePoint(0x80 + rng.below(0x2000))}`;
  }
}

function vector(rng: Rng): string[] {
  const state = rng.pick(STATES);
  const base = rng.chance(0.5)
    ? [rng.pick(['INSTANCE', 'GROUP']), rng.chance(0.8) ? INSTANCE : rng.pick(['VI_2', 'vi_1', 'G1']), state, String(rng.pick([0, 1, 50, 100, 150, 254, 255]))]
    : [rng.chance(0.5) ? state : state.toLowerCase()];
  const shape = rng.below(10);
  if (shape < 3) return base; // valid as generated (another instance: ignored)
  if (shape < 8) {
    const args = [...base];
    const at = rng.below(args.length);
    args[at] = mutate(rng, args[at] as string);
    if (rng.chance(0.3)) {
      const again = rng.below(args.length);
      args[again] = mutate(rng, args[again] as string);
    }
    return args;
  }
  // wrong arity: drop, add or scramble arguments
  const args = [...base];
  if (rng.chance(0.5) && args.length > 0) args.splice(rng.below(args.length), 1);
  else args.splice(rng.below(args.length + 1), 0, mutate(rng, rng.pick(['MASTER', 'x', '100'])));
  if (rng.chance(0.2)) args.push(...args);
  return args;
}

const { dir } = scratchDir('fuzz-notify');
const runDir = path.join(dir, 'run');
const stateDir = path.join(dir, 'state');
const configPath = path.join(dir, 'config.json');
let daemon: Awaited<ReturnType<typeof recordingDaemon>>;

describe('notify arguments, fuzzed', () => {
  before(async () => {
    writeFileSync(
      configPath,
      JSON.stringify({
        node: 'db1',
        vip: { address: '10.77.0.10', prefix: 24, interface: 'vip0' },
        disk: { device: '/dev/loop7', mountpoint: '/srv/fa-fuzz-data' },
        mysqld: { start: ['/usr/sbin/mariadbd'], pidFile: path.join(dir, 'mysqld.pid'), socket: path.join(dir, 'mysqld.sock') },
        fence: { method: 'none' },
        keepalived: { instance: INSTANCE },
        runDir,
        stateDir,
      }),
      { mode: 0o600 },
    );
    daemon = await recordingDaemon(runDir);
  });
  after(() => daemon.close());

  test(`${VECTORS} generated vectors: one line each, exit 0 or 2, a request handed over exactly when the vector is valid for the instance`, async () => {
    const seed = fuzzSeed();
    console.log(`# notify fuzz seed ${seed} (replay: FUZZ_SEED=${seed})`);
    const rng = new Rng(seed);
    const counts = { usage: 0, ignored: 0, request: 0 };
    const sample: { args: string[]; code: number; line: string }[] = [];
    for (let i = 0; i < VECTORS; i++) {
      const args = vector(rng);
      const expected = expectedOf(args);
      const before = daemon.received.length;
      const { result: code, stderr } = await withStderr(() => notify(['--config', configPath, ...args]));
      const what = `vector ${i} (seed ${seed}): ${JSON.stringify(args).slice(0, 300)}`;
      assert.equal(stderr.split('\n').length, 2, `${what}: one line on stderr, got ${JSON.stringify(stderr.slice(0, 500))}`);
      assert.ok(stderr.length <= 1200, `${what}: the line is short (${stderr.length} characters)`);
      for (const arg of args) if (arg.length > 40) assert.ok(!stderr.includes(arg), `${what}: a long argument is not echoed back`);
      counts[expected.kind]++;
      if (expected.kind === 'usage') {
        assert.equal(code, 2, `${what}: exit 2, got ${code}: ${stderr.trim()}`);
        assert.equal(daemon.received.length, before, `${what}: nothing handed over`);
      } else if (expected.kind === 'ignored') {
        assert.equal(code, 0, `${what}: exit 0, got ${code}: ${stderr.trim()}`);
        assert.match(stderr, /ignored: .* is not the configured instance VI_1/, what);
        assert.equal(daemon.received.length, before, `${what}: nothing handed over`);
      } else {
        assert.equal(code, 0, `${what}: exit 0, got ${code}: ${stderr.trim()}`);
        assert.equal(daemon.received.length, before + 1, `${what}: one request handed over`);
        assert.equal(daemon.received.at(-1)?.vrrpState, expected.vrrpState, what);
      }
      if (i % 60 === 0) sample.push({ args, code, line: stderr });
    }
    assert.equal(existsSync(path.join(stateDir, 'desired.json')), false, 'no request left in desired.json');
    assert.deepEqual(readdirSync(runDir), ['control.sock'], 'no daemon started (nothing else in runDir)');
    console.log(`# notify fuzz: ${VECTORS} vectors: ${counts.request} handed over, ${counts.ignored} ignored (another instance), ${counts.usage} refused with exit 2`);
    assert.ok(counts.request >= 100 && counts.usage >= 300, `both kinds are exercised: ${JSON.stringify(counts)}`);

    // the same through the built CLI, spawned: the same exit code and line
    for (const { args, code, line } of sample) {
      const ran = await sh([process.execPath, CLI, 'notify', '--config', configPath, ...args]);
      assert.equal(ran.exitCode, code, `the CLI on ${JSON.stringify(args).slice(0, 200)}: ${ran.stderr}`);
      const normal = (text: string): string => text.trim().replace(/pid \d+/g, 'pid N').replace(/queue \d+/g, 'queue N');
      assert.equal(normal(ran.stderr), normal(line));
    }
  });
});
