// `npm run bench [-- NAME [options]]`: one benchmark by name, loaded only when asked for.
// - startup (default): start-up cost of check, notify and the seed's shell check (bench-startup.ts)
// - health-cpu: CPU per hour of keepalived's view of a node's health, per layout and fence
//   method (bench-health-cpu.ts; `-- health-cpu --help`)
// - health-failover: a failover keepalived starts on bad health (mysqld killed), with the 1 s
//   check and with the daemon's health file, in one run (bench-health-failover.ts; BENCH_RUNS)
// Exit 2 with one line for a name that is not one of these.
const BENCHES: Record<string, string> = {
  startup: './bench-startup.ts',
  'health-cpu': './bench-health-cpu.ts',
  'health-failover': './bench-health-failover.ts',
};

const name = process.argv[2] ?? 'startup';
const module = BENCHES[name];
if (module === undefined) {
  console.error(`bench: unknown benchmark ${JSON.stringify(name)} (expected one of: ${Object.keys(BENCHES).join(', ')})`);
  process.exit(2);
}
await import(module);
