// The Node.js the agent needs (package.json `engines`: yargs 18 wants 20.19), checked by the entry
// (src/cli.ts) before anything else runs, so that an old runtime gives one clear line instead of a
// syntax or module error somewhere later.

/** The oldest Node.js the agent runs on. */
export const MINIMUM_NODE = '20.19.0';

/** A line saying why `version` (process.versions.node, e.g. `18.19.1`) is too old, or null when it will do. */
export function nodeVersionProblem(version: string): string | null {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major > 20 || (major === 20 && minor >= 19)) return null;
  return `fence-agent needs Node.js ${MINIMUM_NODE} or later; this is ${version} (README "Install": the official binary tarball or NodeSource's package)`;
}
