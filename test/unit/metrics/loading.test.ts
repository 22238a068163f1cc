// prom-client stays off the hot paths: `check` and `notify` (dist/cli.cjs, run by keepalived every
// interval and transition) never load it, and the daemon reaches it only through a dynamic import
// (loaded at start-up when metrics are configured). Checked on esbuild's own view of the bundles,
// built in memory as scripts/build.mjs builds them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { build, type Metafile } from 'esbuild';

const common = { bundle: true, platform: 'node', target: 'node20', write: false, metafile: true, logLevel: 'silent', outdir: '/tmp/fence-agent-loading-test' } as const;

const isMetrics = (input: string): boolean => input.startsWith('src/metrics/') || input.includes('node_modules/prom-client/');

describe('where prom-client is loaded', () => {
  it('the entry with the fast paths of check and notify neither bundles nor requires it', async () => {
    for (const entry of ['src/cli.ts', 'src/commands/check.ts', 'src/commands/notify.ts']) {
      const { metafile } = await build({ ...common, entryPoints: [entry], format: 'cjs', packages: 'external' });
      const inputs = Object.keys(metafile.inputs);
      assert.deepEqual(inputs.filter(isMetrics), [], `${entry} bundles metrics code`);
      const imports = Object.values(metafile.outputs).flatMap((o) => o.imports.map((i) => i.path));
      assert.ok(!imports.includes('prom-client'), `${entry} requires prom-client`);
    }
  });

  it('the daemon reaches prom-client only through a dynamic import', async () => {
    const { metafile } = await build({ ...common, entryPoints: { full: 'src/full.ts' }, format: 'esm', splitting: true, outExtension: { '.js': '.mjs' }, chunkNames: 'chunks/[name]-[hash]' });
    const outputs = metafile.outputs;
    const holds = (out: Metafile['outputs'][string], test: (input: string) => boolean): boolean => Object.keys(out.inputs).some(test);
    const daemonChunk = Object.keys(outputs).find((name) => holds(outputs[name] as Metafile['outputs'][string], (i) => i === 'src/daemon/daemon.ts'));
    assert.ok(daemonChunk !== undefined, 'a chunk holds the daemon');
    // everything the daemon's chunk loads statically, transitively
    const seen = new Set<string>();
    const walk = (name: string): void => {
      if (seen.has(name)) return;
      seen.add(name);
      for (const i of outputs[name]?.imports ?? []) if (i.kind === 'import-statement' && !i.external) walk(i.path);
    };
    walk(daemonChunk);
    const staticPromClient = [...seen].filter((name) => holds(outputs[name] as Metafile['outputs'][string], (i) => i.includes('node_modules/prom-client/')));
    assert.deepEqual(staticPromClient, [], 'prom-client is in a chunk the daemon imports statically');
    const promClientChunks = Object.keys(outputs).filter((name) => holds(outputs[name] as Metafile['outputs'][string], (i) => i.includes('node_modules/prom-client/')));
    assert.ok(promClientChunks.length > 0, 'prom-client is bundled in a chunk of its own (dynamically imported)');
  });
});
