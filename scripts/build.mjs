// Builds the `fence-agent` binary with esbuild:
// - dist/cli.cjs: the entry (CommonJS starts faster than ESM), with the fast paths of `check` and
//   `notify`. Our code only; packages (mysql2, pino, ...) are required from node_modules on the
//   rare paths that need them (an own SQL ping, a log line).
// - dist/full.mjs + dist/chunks/: every other command, ESM with code splitting so that each
//   command loads only its own modules (yargs 18 is ESM-only and breaks in CommonJS output);
//   a createRequire banner lets the bundled CommonJS packages require Node built-ins.
// Run by `npm run build` and by `npm ci` (prepare).
import { build } from 'esbuild';
import { chmodSync, rmSync } from 'node:fs';
import { URL } from 'node:url';

const dist = new URL('../dist/', import.meta.url);
rmSync(dist, { recursive: true, force: true });
const common = { bundle: true, platform: 'node', target: 'node20', legalComments: 'none', sourcemap: 'linked', logLevel: 'warning' };

await build({
  ...common,
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/cli.cjs',
  format: 'cjs',
  packages: 'external',
  banner: { js: '#!/usr/bin/env node' },
});

await build({
  ...common,
  entryPoints: { full: 'src/full.ts' },
  outdir: 'dist',
  format: 'esm',
  splitting: true,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  banner: { js: "import { createRequire as __fenceAgentCreateRequire } from 'node:module';\nconst require = __fenceAgentCreateRequire(import.meta.url);" },
});
chmodSync(new URL('cli.cjs', dist), 0o755);
