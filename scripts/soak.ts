// `npm run soak -- [--lab netns] [--runs N] [--scenario ID]... [--dir DIR] [--report-only]`:
// runs the catalog's scenarios (lab/scenario/catalog.ts) again and again on fresh pairs and keeps
// one JSON result per run at DIR/<commit>/<lab>/<scenario>/<run>.json (DIR default
// `soak-results/`, git-ignored), so an interrupted soak resumes where it stopped: a run whose file
// exists is not run again. Failed runs keep the nodes' log tails in their file and each node's whole
// log beside it (<run>.<node>.log: the VM lab streams it to the host, so a reset loses none). At the end (or
// with --report-only) it writes DIR/<commit>/<lab>/report.md and report.json: per scenario, the
// pass count, min/median/max of its duration and timings, violations, lost rows, watchdog resets,
// fsck. The commit is `git rev-parse --short HEAD`, with `-dirty` for uncommitted changes.
// Exit 0 when every run passed, 1 when some failed, 2 on bad arguments.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO } from '../lab/node.ts';
import { NetnsCluster } from '../lab/pair-cluster.ts';
import { SCENARIOS, scenarioById } from '../lab/scenario/catalog.ts';
import { runScenario, type ClusterFactory, type Scenario, type ScenarioResult } from '../lab/scenario/harness.ts';
import { VmLab } from '../lab/vm/lab.ts';
import { VmCluster } from '../lab/vm/vm-cluster.ts';

const USAGE = 'usage: npm run soak -- [--lab netns|vm] [--vm-tag T] [--runs N] [--scenario ID]... [--dir DIR] [--report-only]';
const log = (text: string): void => void process.stderr.write(`${text}\n`);

function parse(): { lab: 'netns' | 'vm'; vmTag: string | null; runs: number; scenarios: Scenario[]; dir: string; reportOnly: boolean } {
  let values: { lab?: string; 'vm-tag'?: string; runs?: string; scenario?: string[]; dir?: string; 'report-only'?: boolean };
  try {
    ({ values } = parseArgs({
      options: { lab: { type: 'string' }, 'vm-tag': { type: 'string' }, runs: { type: 'string' }, scenario: { type: 'string', multiple: true }, dir: { type: 'string' }, 'report-only': { type: 'boolean' } },
      strict: true,
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}; ${USAGE}`);
  }
  const lab = values.lab ?? 'netns';
  if (lab !== 'netns' && lab !== 'vm') throw new UsageError(`--lab: expected netns or vm, got "${lab}"; ${USAGE}`);
  if (values['vm-tag'] !== undefined && lab !== 'vm') throw new UsageError(`--vm-tag: only with --lab vm; ${USAGE}`);
  const runs = Number(values.runs ?? 20);
  if (!Number.isInteger(runs) || runs < 1 || runs > 1000) throw new UsageError(`--runs: expected 1..1000, got "${values.runs}"; ${USAGE}`);
  let scenarios: Scenario[];
  try {
    scenarios = values.scenario === undefined ? [...SCENARIOS] : values.scenario.map(scenarioById);
  } catch (error) {
    throw new UsageError(`--scenario: ${(error as Error).message}`);
  }
  return { lab, vmTag: values['vm-tag'] ?? null, runs, scenarios: scenarios.filter((s) => s.labs === undefined || s.labs.includes(lab)), dir: path.resolve(values.dir ?? path.join(REPO, 'soak-results')), reportOnly: values['report-only'] === true };
}

class UsageError extends Error {}

function commitId(): string {
  const head = execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['-C', REPO, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '';
  return dirty ? `${head}-dirty` : head;
}

const writeJson = (file: string, value: unknown): void => {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
};

const stats = (xs: number[]): { min: number; median: number; max: number } | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { min: s[0] as number, median, max: s.at(-1) as number };
};

interface ScenarioReport {
  id: string;
  title: string;
  runs: number;
  passed: number;
  durationMs: ReturnType<typeof stats>;
  timings: Record<string, ReturnType<typeof stats>>;
  violations: number;
  lost: number;
  watchdogResets: number;
  fsckClean: number;
  /** each count (ScenarioContext.count) summed over the runs that recorded it */
  counts: Record<string, number>;
  failures: { run: number; error: string }[];
}

function report(base: string, scenarios: Scenario[], commit: string, lab: string): { markdown: string; all: ScenarioReport[] } {
  const all: ScenarioReport[] = [];
  for (const scenario of scenarios) {
    const dir = path.join(base, scenario.id);
    const results = (existsSync(dir) ? readdirSync(dir) : [])
      .filter((f) => /^\d+\.json$/.test(f))
      .map((f) => ({ run: Number(f.slice(0, -5)), result: JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as ScenarioResult }))
      .sort((a, b) => a.run - b.run);
    const timingNames = [...new Set(results.flatMap((r) => Object.keys(r.result.timings)))];
    all.push({
      id: scenario.id,
      title: scenario.title,
      runs: results.length,
      passed: results.filter((r) => r.result.passed).length,
      durationMs: stats(results.map((r) => r.result.durationMs)),
      timings: Object.fromEntries(timingNames.map((name) => [name, stats(results.map((r) => r.result.timings[name]).filter((x): x is number => x !== undefined))])),
      violations: results.reduce((sum, r) => sum + r.result.violations, 0),
      lost: results.reduce((sum, r) => sum + r.result.lost, 0),
      watchdogResets: results.reduce((sum, r) => sum + Object.values(r.result.watchdogResets).reduce((a, b) => a + b, 0), 0),
      fsckClean: results.filter((r) => r.result.fsckClean === true).length,
      // results written before counts existed have none
      counts: results.reduce<Record<string, number>>((sum, r) => {
        for (const [name, n] of Object.entries(r.result.counts ?? {})) sum[name] = (sum[name] ?? 0) + n;
        return sum;
      }, {}),
      failures: results.filter((r) => !r.result.passed).map((r) => ({ run: r.run, error: (r.result.error ?? '').split('\n')[0] ?? '' })),
    });
  }
  const s = (x: ReturnType<typeof stats>): string => (x === null ? '—' : `${(x.median / 1000).toFixed(1)} (${(x.min / 1000).toFixed(1)}–${(x.max / 1000).toFixed(1)})`);
  const rows = all.map((r) => {
    const timings = Object.entries(r.timings)
      .map(([name, x]) => `${name} ${s(x)}`)
      .join('; ');
    const counts = Object.entries(r.counts)
      .map(([name, n]) => `${name} ${n}`)
      .join('; ');
    return `| ${r.id} | ${r.passed}/${r.runs} | ${s(r.durationMs)} | ${r.violations} | ${r.lost} | ${r.watchdogResets} | ${r.fsckClean}/${r.runs} | ${counts || '—'} | ${timings || '—'} |`;
  });
  const failures = all.flatMap((r) => r.failures.map((f) => `- ${r.id} run ${f.run}: ${f.error}`));
  const markdown = [
    `Soak on the ${lab} lab, commit ${commit}, ${new Date().toISOString().slice(0, 10)}. Times in s: median (min–max).`,
    '',
    '| scenario | passed | duration | violations | lost rows | watchdog resets | fsck clean | counts (sums) | timings |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    ...(failures.length > 0 ? ['Failed runs:', '', ...failures, ''] : []),
  ].join('\n');
  return { markdown, all };
}

async function main(): Promise<number> {
  const options = parse();
  const commit = commitId();
  const base = path.join(options.dir, commit, options.lab);
  if (!options.reportOnly) {
    // the VM lab: booted once for the whole soak (each scenario gets a freshly restarted pair on
    // it, lab/vm/vm-cluster.ts), or an existing one (`--vm-tag`, left up afterwards)
    let vmLab: VmLab | null = null;
    const ownVmLab = options.lab === 'vm' && options.vmTag === null;
    if (options.lab === 'vm') {
      vmLab = options.vmTag !== null ? VmLab.load(options.vmTag) : (await VmLab.up({ tag: `sk${process.pid % 1000000}`, log })).lab;
      if (ownVmLab) await VmCluster.warmUp(vmLab, mkdtempSync(path.join(os.tmpdir(), 'fa-vm-warmup-')), log);
    }
    const factory: ClusterFactory = vmLab === null ? (o) => NetnsCluster.up(o) : (o) => VmCluster.fresh(vmLab, { ...o, dir: mkdtempSync(path.join(os.tmpdir(), 'fa-vm-scenario-')), log });
    try {
    for (let run = 1; run <= options.runs; run++) {
      for (const scenario of options.scenarios) {
        const file = path.join(base, scenario.id, `${run}.json`);
        if (existsSync(file)) continue; // resumed: done before
        log(`soak ${commit} ${options.lab}: ${scenario.id} run ${run} of ${options.runs}`);
        const { nodeLogs, ...result } = await runScenario(scenario, factory, options.lab);
        // a failed run keeps each node's whole log beside its result: <run>.<node>.log
        for (const [node, text] of Object.entries(nodeLogs ?? {})) writeFileSync(path.join(mkdirp(path.dirname(file)), `${run}.${node}.log`), text);
        writeJson(file, { ...result, logFiles: Object.keys(nodeLogs ?? {}).map((node) => `${run}.${node}.log`) });
        log(`  ${result.passed ? 'passed' : `FAILED: ${(result.error ?? '').split('\n')[0] ?? ''}`} in ${(result.durationMs / 1000).toFixed(1)} s`);
      }
    }
    } finally {
      if (vmLab !== null && ownVmLab) await VmLab.down(vmLab.state.tag, log);
    }
  }
  const { markdown, all } = report(base, options.scenarios, commit, options.lab);
  writeFileSync(path.join(mkdirp(base), 'report.md'), markdown);
  writeJson(path.join(base, 'report.json'), all);
  process.stdout.write(markdown);
  return all.every((r) => r.passed === r.runs) ? 0 : 1;
}

const mkdirp = (dir: string): string => {
  mkdirSync(dir, { recursive: true });
  return dir;
};

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`soak: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
