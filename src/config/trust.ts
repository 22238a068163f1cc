// Which files the agent may trust: the configuration, the programs it names, the directories it
// keeps its state in. The rule is keepalived's `enable_script_security` (keepalived.conf(5),
// global_defs; keepalived's notify.c): a file is unsafe when it, or any directory above it, is
// owned by someone other than root or is writable by group or other — a directory with the sticky
// bit (/tmp) excepted from the write rule, as keepalived does. We also accept the user running the
// agent as owner (a non-root user running `status` on a copy of their own). Symlinks are resolved
// first: the rule applies to the real path and every directory on it.
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';

/** What {@link untrustedReason} needs of a file: owner, mode bits. */
export interface TrustStat {
  uid: number;
  mode: number;
  isDirectory(): boolean;
}

export interface TrustOptions {
  /** owners besides root that are accepted (default: the effective uid of this process) */
  uid?: number;
  /** stat(2) of a path (default fs.statSync); tests fake it */
  stat?: (file: string) => TrustStat;
  /** realpath(3) (default fs.realpathSync) */
  realpath?: (file: string) => string;
}

const octal = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');

/**
 * Why `file` cannot be trusted, or null when it can: one clause naming the offending path, its
 * owner or mode, and the fix. A missing file is not judged here (null): whoever needs it says so.
 */
export function untrustedReason(file: string, options: TrustOptions = {}): string | null {
  const stat = options.stat ?? statSync;
  const uid = options.uid ?? process.geteuid?.() ?? 0;
  let real: string;
  try {
    real = (options.realpath ?? realpathSync)(file);
  } catch {
    return null;
  }
  const chain: string[] = [];
  for (let current = real; ; current = path.dirname(current)) {
    chain.push(current);
    if (path.dirname(current) === current) break;
  }
  for (const entry of chain) {
    let s: TrustStat;
    try {
      s = stat(entry);
    } catch {
      return null;
    }
    const label = entry === real ? (real === file ? file : `${file} (${real})`) : `its directory ${entry}`;
    if (s.uid !== 0 && s.uid !== uid) return `${label} is owned by uid ${s.uid}; expected root: chown root ${entry}`;
    const writable = (s.mode & 0o022) !== 0;
    const sticky = s.isDirectory() && (s.mode & 0o1000) !== 0;
    if (writable && !(entry !== real && sticky)) return `${label} is writable by group or other (mode ${octal(s.mode)}); expected no group/other write: chmod go-w ${entry}`;
  }
  return null;
}
