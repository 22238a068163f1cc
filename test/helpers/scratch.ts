// A temporary directory for one test file (or one suite), removed with everything in it when it ends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after } from 'node:test';

export interface Scratch {
  /** the directory: `<os.tmpdir()>/fence-agent-<name>-XXXXXX`, made when scratchDir is called */
  dir: string;
  /** a path inside `dir` that no earlier call returned, `<dir>/<n>-<base>`; nothing is created there */
  fresh: (base: string) => string;
}

/**
 * Makes the directory now and registers a node:test after() hook, at the level it is called from
 * (file or describe), that removes it.
 */
export function scratchDir(name: string): Scratch {
  const dir = mkdtempSync(path.join(tmpdir(), `fence-agent-${name}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let count = 0;
  return { dir, fresh: (base) => path.join(dir, `${++count}-${base}`) };
}
