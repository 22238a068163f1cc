// Cost of reading the lease, measured, not asserted: `node --import tsx scripts/bench-lease-io.ts`.
// Reads one small record file BENCH_READS times (default 200) per round, BENCH_ROUNDS rounds
// (default 5, medians printed), each way in turn:
// - floor: fs.readFileSync in this process (what a read costs when storage cannot hang);
// - inline: createInlineLeaseIo() (fs.promises raced with a timer; `check`, `status`);
// - helper: createHelperLeaseIo() (the daemon's: one long-lived helper process; its start is
//   measured once, apart);
// - cat: the old way (until the lease work, src/bounded-io.ts): one `cat` child per read.
// Wall time, and CPU: this process (process.cpuUsage) plus the helper's (/proc/PID/stat utime +
// stime) or the reaped cat children's (/proc/self/stat cutime + cstime), as ratios to the floor.
// The /proc times tick at CLK_TCK (10 ms at 100 Hz): they are exact only summed over many reads.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHelperLeaseIo, createInlineLeaseIo } from '../src/lease-io.ts';
import { median } from './bench-lib.ts';

/** The old way: one `cat` child per read, killed at the bound. */
const readWithCat = (file: string, timeoutMs: number): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile('cat', ['--', file], { timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' }, (error, stdout) => (error ? reject(new Error(error.message)) : resolve(stdout)));
  });

const READS = Number(process.env.BENCH_READS ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const TIMEOUT_MS = 5000;

const ticksPerSecond = (): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
};
const MS_PER_TICK = 1000 / ticksPerSecond();

/** Fields of /proc/PID/stat after the command name (field 3, the state, is [0]). */
const statFields = (pid: number | 'self'): number[] => {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text
    .slice(text.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
};
/** CPU ms of a process (utime + stime, fields 14 and 15). */
const cpuOfProcess = (pid: number): number => {
  const f = statFields(pid);
  return ((f[11] ?? 0) + (f[12] ?? 0)) * MS_PER_TICK;
};
/** CPU ms of this process's reaped children (cutime + cstime, fields 16 and 17). */
const cpuOfChildren = (): number => {
  const f = statFields('self');
  return ((f[13] ?? 0) + (f[14] ?? 0)) * MS_PER_TICK;
};
const ownCpu = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

interface Sample {
  wallMs: number;
  /** this process */
  ownCpuMs: number;
  /** the helper or the cat children */
  otherCpuMs: number;
}

async function measure(read: () => unknown, otherCpu: () => number): Promise<Sample> {
  const other0 = otherCpu();
  const own0 = ownCpu();
  const started = process.hrtime.bigint();
  for (let i = 0; i < READS; i++) await read();
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  return { wallMs, ownCpuMs: ownCpu() - own0, otherCpuMs: otherCpu() - other0 };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fence-agent-bench-lease-io-'));
  const file = path.join(dir, 'lease');
  writeFileSync(file, `${JSON.stringify({ holder: 'db1', cluster: 'bench', generation: 42, refreshedMono: 123456.789, boot: 'x'.repeat(36), pad: 'p'.repeat(150) })}\n`);
  const inline = createInlineLeaseIo();
  const helper = createHelperLeaseIo();
  try {
    const spawnStarted = process.hrtime.bigint();
    await helper.read(file, TIMEOUT_MS);
    const helperStartMs = Number(process.hrtime.bigint() - spawnStarted) / 1e6;
    const helperPid = helper.helperPid as number;
    const helperStartCpuMs = cpuOfProcess(helperPid);

    const ways: { name: string; read: () => unknown; otherCpu: () => number }[] = [
      { name: 'floor: readFileSync', read: () => readFileSync(file, 'utf8'), otherCpu: () => 0 },
      { name: 'inline: fs.promises + timer', read: () => inline.read(file, TIMEOUT_MS), otherCpu: () => 0 },
      { name: 'helper: one helper process', read: () => helper.read(file, TIMEOUT_MS), otherCpu: () => cpuOfProcess(helperPid) },
      { name: 'cat: one child per read (old)', read: () => readWithCat(file, TIMEOUT_MS), otherCpu: cpuOfChildren },
    ];
    const samples = new Map(ways.map((way) => [way.name, [] as Sample[]]));
    for (const way of ways) await measure(way.read, way.otherCpu); // warm-up
    for (let round = 0; round < ROUNDS; round++) for (const way of ways) samples.get(way.name)?.push(await measure(way.read, way.otherCpu));
    if (helper.helperPid !== helperPid) throw new Error('the helper was replaced during the benchmark');

    const stats = ways.map((way) => {
      const xs = samples.get(way.name) ?? [];
      const wallMs = median(xs.map((s) => s.wallMs));
      const ownCpuMs = median(xs.map((s) => s.ownCpuMs));
      const otherCpuMs = median(xs.map((s) => s.otherCpuMs));
      return { name: way.name, wallMs, ownCpuMs, otherCpuMs, cpuMs: ownCpuMs + otherCpuMs };
    });
    const floor = stats[0] as (typeof stats)[number];
    const lines = [
      `lease reads: ${READS} reads per round, ${ROUNDS} rounds (medians), node ${process.version}, CLK_TCK ${1000 / MS_PER_TICK}`,
      `helper start (spawn + first read): ${helperStartMs.toFixed(1)} ms wall, ${helperStartCpuMs.toFixed(0)} ms CPU in the helper`,
      '',
      `  ${'way'.padEnd(32)} ${'wall ms'.padStart(9)} ${'µs/read'.padStart(8)} ${'×floor'.padStart(8)}   ${'CPU ms'.padStart(8)} ${'(own'.padStart(7)} ${'+ other)'.padStart(9)} ${'µs/read'.padStart(8)} ${'×floor'.padStart(8)}   ${'CPU s/h at 2 reads/s'.padStart(20)}`,
    ];
    for (const s of stats) {
      const perHour = (s.cpuMs / READS) * 2 * 3600 / 1000;
      lines.push(
        `  ${s.name.padEnd(32)} ${s.wallMs.toFixed(1).padStart(9)} ${((s.wallMs / READS) * 1000).toFixed(0).padStart(8)} ${(s.wallMs / floor.wallMs).toFixed(1).padStart(8)}   ` +
          `${s.cpuMs.toFixed(1).padStart(8)} ${s.ownCpuMs.toFixed(1).padStart(7)} ${s.otherCpuMs.toFixed(1).padStart(9)} ${((s.cpuMs / READS) * 1000).toFixed(0).padStart(8)} ${(s.cpuMs / floor.cpuMs).toFixed(1).padStart(8)}   ${perHour.toFixed(2).padStart(20)}`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    helper.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
