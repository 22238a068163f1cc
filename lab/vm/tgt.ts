// The shared LUN: the lab's own tgtd (userspace iSCSI target with SCSI-3 persistent reservations),
// run inside the lab's network namespace with its portal on the storage network, serving one
// logical unit backed by the lab's copy of the golden LUN image. tgtd keeps PR state in memory
// only (PTPL_C 0): a fresh tgtd, or a logical unit recreated with {@link recreateLun}, starts with
// no registrations, so no stale PR state survives from an earlier lab. tgtd's management socket
// is a file, `/var/run/tgtd/socket.<control port>`, shared by every tgtd on the host: each lab
// picks a control port no running tgtd uses. tgtd ignores SIGTERM; it is stopped through tgtadm.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { sh, shOk } from '../sh.ts';
import { delay } from '../wait.ts';

/** The target's name (the guests log in to it). */
export const TARGET_IQN = 'iqn.2025-01.lab.vmlab:shared';
export const ISCSI_PORT = 3260;
const TID = '1';
const LUN = '1';

/** Control ports of every running tgtd on the host (`-C N` / `--control-port N`; 0 without one). */
export function tgtdControlPorts(): number[] {
  const ports: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!(argv[0] ?? '').endsWith('tgtd')) continue;
    const flag = argv.findIndex((arg) => arg === '-C' || arg === '--control-port');
    ports.push(flag === -1 ? 0 : Number(argv[flag + 1]));
  }
  return ports;
}

/** The first control port from `from` that no running tgtd uses. */
export function freeControlPort(from = 60): number {
  const used = new Set(tgtdControlPorts());
  let port = from;
  while (used.has(port)) port++;
  return port;
}

const tgtadm = (controlPort: number, args: string[]): string[] => ['tgtadm', '-C', String(controlPort), '--lld', 'iscsi', ...args];

export interface TgtOptions {
  /** the namespace tgtd runs in; null: this one (then bind `address` to loopback) */
  netns: string | null;
  /** portal address (in `netns`) */
  address: string;
  /** portal port (default 3260) */
  port?: number;
  controlPort: number;
  /** the LUN's backing file */
  backingStore: string;
  /** tgtd's output */
  logFile: string;
}

/**
 * Starts tgtd in the foreground inside `netns` (detached from us; its pid is tgtd's own: `ip
 * netns exec` execs), waits for its management socket, and creates the target with LUN 1 open to
 * any initiator. Returns tgtd's pid.
 * @throws when the control port is taken, tgtd exits or does not answer within 10 s, or a tgtadm step fails
 */
export async function startTgt(options: TgtOptions): Promise<number> {
  // a second tgtd on a used port fails to lock it and exits, but the first one answers our probe
  if (tgtdControlPorts().includes(options.controlPort)) throw new Error(`tgtd control port ${options.controlPort} is in use by another tgtd`);
  const fd = openSync(options.logFile, 'a');
  let pid: number | undefined;
  // set by the child's callbacks (an object: TypeScript would narrow a local `let` to null)
  const end: { exited: string | null } = { exited: null };
  try {
    const argv = ['tgtd', '-f', '-C', String(options.controlPort), '--iscsi', `portal=${options.address}:${options.port ?? ISCSI_PORT}`];
    const child = spawn(options.netns === null ? argv[0] as string : 'ip', options.netns === null ? argv.slice(1) : ['netns', 'exec', options.netns, ...argv], {
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.on('error', (error) => (end.exited = error.message));
    child.on('exit', (code, signal) => (end.exited = `status ${code ?? signal}`));
    child.unref();
    pid = child.pid;
  } finally {
    closeSync(fd);
  }
  if (pid === undefined) throw new Error('tgtd did not start');
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (end.exited !== null) throw new Error(`tgtd exited (${end.exited}): ${readFileSync(options.logFile, 'utf8').trim().split('\n').slice(-3).join(' / ')}`);
    if ((await sh(['tgtadm', '-C', String(options.controlPort), '--mode', 'system', '--op', 'show'])).exitCode === 0) break;
    if (Date.now() > deadline) throw new Error(`tgtd (control port ${options.controlPort}) did not answer within 10 s`);
    await delay(100);
  }
  await shOk(tgtadm(options.controlPort, ['--mode', 'target', '--op', 'new', '--tid', TID, '--targetname', TARGET_IQN]));
  await addLun(options.controlPort, options.backingStore);
  await shOk(tgtadm(options.controlPort, ['--mode', 'target', '--op', 'bind', '--tid', TID, '--initiator-address', 'ALL']));
  return pid;
}

const addLun = (controlPort: number, backingStore: string): Promise<string> =>
  shOk(tgtadm(controlPort, ['--mode', 'logicalunit', '--op', 'new', '--tid', TID, '--lun', LUN, '--backing-store', backingStore]));

/** A second LU of the target (`doctor`'s "wrong LU" mistake), LUN 2. */
export const SCRATCH_LUN = 2;

/** Adds LUN {@link SCRATCH_LUN} on `backingStore` (a file); initiators see it after a session rescan. */
export async function addScratchLun(controlPort: number, backingStore: string): Promise<void> {
  await shOk(tgtadm(controlPort, ['--mode', 'logicalunit', '--op', 'new', '--tid', TID, '--lun', String(SCRATCH_LUN), '--backing-store', backingStore]));
}

/** Deletes LUN {@link SCRATCH_LUN}; idempotent. */
export async function deleteScratchLun(controlPort: number): Promise<void> {
  await sh(tgtadm(controlPort, ['--mode', 'logicalunit', '--op', 'delete', '--tid', TID, '--lun', String(SCRATCH_LUN)]), { timeoutMs: 10_000 });
}

/**
 * Deletes and recreates LUN 1 on the same backing file: every PR registration and reservation is
 * gone (tgtd keeps them per logical unit, in memory). Initiators logged in see the LUN come back
 * (a unit attention); do it while nobody uses the disk.
 */
export async function recreateLun(controlPort: number, backingStore: string): Promise<void> {
  await shOk(tgtadm(controlPort, ['--mode', 'logicalunit', '--op', 'delete', '--tid', TID, '--lun', LUN]));
  await addLun(controlPort, backingStore);
}

/**
 * Stops the lab's tgtd: the target deleted (sessions dropped) and tgtd told to exit, then SIGKILL
 * if it is still there after 5 s; its management socket files are removed. Idempotent.
 */
export async function stopTgt(controlPort: number, pid: number | null): Promise<void> {
  await sh(tgtadm(controlPort, ['--mode', 'target', '--op', 'delete', '--force', '--tid', TID]), { timeoutMs: 10_000 });
  await sh(['tgtadm', '-C', String(controlPort), '--mode', 'system', '--op', 'delete'], { timeoutMs: 10_000 });
  if (pid !== null && isTgtd(pid)) {
    const deadline = Date.now() + 5_000;
    while (isTgtd(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    if (isTgtd(pid)) process.kill(pid, 'SIGKILL');
  }
  if (!tgtdControlPorts().includes(controlPort)) {
    for (const suffix of ['', '.lock']) rmSync(`/var/run/tgtd/socket.${controlPort}${suffix}`, { force: true });
  }
}

/** Whether `pid` is a live tgtd (not a pid reused by something else). */
function isTgtd(pid: number): boolean {
  try {
    return (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '').endsWith('tgtd');
  } catch {
    return false;
  }
}
