// A fake mysqld for unit tests: a copy of sleep(1) named `fakemysqld`, so its /proc/PID/comm is a
// name no other process on the machine has.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Children } from './children.ts';

export const FAKE_MYSQLD = 'fakemysqld';

/** Copies sleep(1) to `<dir>/fake-bin/fakemysqld` and returns its path. */
export function fakeMysqldBinary(dir: string): string {
  const bin = path.join(dir, 'fake-bin');
  mkdirSync(bin, { recursive: true });
  const binary = path.join(bin, FAKE_MYSQLD);
  copyFileSync('/bin/sleep', binary);
  return binary;
}

const readComm = (pid: number): string | null => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
};

export interface FakeMysqldOptions {
  /** working directory (mysqld's is its datadir) */
  cwd: string;
  /** run it in a mount namespace of its own, as a unit with ProtectSystem= runs mysqld */
  ownNamespace?: boolean;
  /** ignore SIGTERM (a mysqld that does not stop within its grace) */
  ignoreTerm?: boolean;
  seconds?: number;
}

/** Starts the fake (remembered in `children`) and waits until /proc shows it as `fakemysqld`; returns its pid. */
export async function startFakeMysqld(children: Children, binary: string, options: FakeMysqldOptions): Promise<number> {
  const argv = [...(options.ownNamespace ? ['unshare', '--mount', '--propagation', 'private'] : []), binary, String(options.seconds ?? 60)];
  // SIG_IGN survives exec: the sh sets it, unshare and the fake inherit it
  const [file, ...args] = options.ignoreTerm ? ['sh', '-c', `trap '' TERM; exec "$@"`, 'sh', ...argv] : argv;
  const child = children.push(spawn(file as string, args, { cwd: options.cwd, stdio: 'ignore' }));
  await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
  const pid = child.pid as number;
  const deadline = Date.now() + 5000;
  while (readComm(pid) !== FAKE_MYSQLD) {
    if (Date.now() > deadline) throw new Error(`${binary} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return pid;
}
