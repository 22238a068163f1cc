// Bundles src/cli.ts into dist/ with esbuild: ESM, code splitting (each command's modules in
// their own chunk, loaded on demand), a createRequire banner for the CommonJS packages, and the
// shebang. Run by `npm run build` and by `npm ci` (prepare).
import { build } from 'esbuild';
import { chmodSync, rmSync } from 'node:fs';
import { URL } from 'node:url';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: { cli: 'src/cli.ts' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __fenceAgentCreateRequire } from 'node:module';\nconst require = __fenceAgentCreateRequire(import.meta.url);" },
  legalComments: 'none',
  sourcemap: 'linked',
  logLevel: 'warning',
});
chmodSync(new URL('../dist/cli.mjs', import.meta.url), 0o755);
