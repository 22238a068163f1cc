// The lease storage: nfs-ganesha (userspace NFS server, VFS backend) run inside the lab's network
// namespace on the storage network, exporting one lab directory over NFSv4/TCP as `/lease`. Both
// guests mount it (vmlab-lease-mount), so the lockfile fence sees a real NFS client's attribute
// cache, and the server can be frozen for every client at once (SIGSTOP of its pid: a dead NFS
// server). Needs no rpcbind or D-Bus (it logs CRIT lines about both: harmless). Its recovery
// directory is the lab's own, and Graceless skips the 90 s grace period at start.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sh } from '../sh.ts';
import { delay } from '../wait.ts';

export const NFS_PORT = 2049;
/** The export's pseudo path: guests mount `<server>:/lease`. */
export const LEASE_EXPORT = '/lease';

export interface GaneshaOptions {
  netns: string;
  address: string;
  /** ganesha's files: configuration, log, pid file, recovery directory */
  dir: string;
  /** the exported directory */
  exportDir: string;
}

/** ganesha.conf for one NFSv4-only export of `exportDir` on `address`. */
export function ganeshaConf(options: Pick<GaneshaOptions, 'address' | 'dir' | 'exportDir'>): string {
  return `NFS_CORE_PARAM {
    Protocols = 4;
    NFS_Port = ${NFS_PORT};
    Bind_addr = ${options.address};
    Enable_NLM = false;
    Enable_RQUOTA = false;
}
NFSv4 {
    Graceless = true;
    RecoveryBackend = fs;
    RecoveryRoot = "${path.join(options.dir, 'recovery')}";
}
NFS_KRB5 {
    Active_krb5 = false;
}
EXPORT {
    Export_Id = 1;
    Path = "${options.exportDir}";
    Pseudo = ${LEASE_EXPORT};
    Access_Type = RW;
    Squash = No_Root_Squash;
    SecType = sys;
    Protocols = 4;
    Transports = TCP;
    FSAL { Name = VFS; }
}
`;
}

/** Whether something listens on TCP `address:port` inside `netns` (ganesha binds IPv4-mapped: `[::ffff:A]:P`). */
async function listening(netns: string, address: string, port: number): Promise<boolean> {
  const ran = await sh(['nsenter', `--net=/run/netns/${netns}`, '--', 'ss', '-Hltn', `sport = :${port}`]);
  return ran.stdout.includes(`${address}:${port}`) || ran.stdout.includes(`[::ffff:${address}]:${port}`);
}

/**
 * Starts ganesha.nfsd in the foreground inside `netns` (detached from us) and waits until it
 * listens. Returns its pid.
 * @throws when it exits or does not listen within 20 s (with the tail of its log)
 */
export async function startGanesha(options: GaneshaOptions): Promise<number> {
  mkdirSync(path.join(options.dir, 'recovery'), { recursive: true });
  mkdirSync(options.exportDir, { recursive: true });
  const conf = path.join(options.dir, 'ganesha.conf');
  const log = path.join(options.dir, 'ganesha.log');
  writeFileSync(conf, ganeshaConf(options));
  const fd = openSync(path.join(options.dir, 'ganesha.out'), 'a');
  let pid: number | undefined;
  // set by the child's callbacks (an object: TypeScript would narrow a local `let` to null)
  const end: { exited: string | null } = { exited: null };
  try {
    const child = spawn('ip', ['netns', 'exec', options.netns, 'ganesha.nfsd', '-F', '-f', conf, '-L', log, '-p', path.join(options.dir, 'ganesha.pid')], {
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.on('error', (error) => (end.exited = error.message));
    child.on('exit', (code, signal) => (end.exited = `exited ${code ?? signal}`));
    child.unref();
    pid = child.pid;
  } finally {
    closeSync(fd);
  }
  if (pid === undefined) throw new Error('ganesha.nfsd did not start');
  const tail = (): string => {
    try {
      return readFileSync(log, 'utf8').trim().split('\n').slice(-3).join(' / ');
    } catch {
      return '';
    }
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (end.exited !== null) throw new Error(`ganesha.nfsd ${end.exited}: ${tail()}`);
    if (await listening(options.netns, options.address, NFS_PORT)) break;
    if (Date.now() > deadline) throw new Error(`ganesha.nfsd not listening on ${options.address}:${NFS_PORT} within 20 s: ${tail()}`);
    await delay(200);
  }
  return pid;
}

/** Whether `pid` is a live ganesha.nfsd. */
export function isGanesha(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith('ganesha');
  } catch {
    return false;
  }
}

/** SIGSTOPs the NFS server: every client's access to the lease storage hangs. */
export function freezeGanesha(pid: number): void {
  if (!isGanesha(pid)) throw new Error(`no ganesha.nfsd with pid ${pid} to freeze`);
  process.kill(pid, 'SIGSTOP');
}

/** SIGCONTs the NFS server. */
export function thawGanesha(pid: number): void {
  if (isGanesha(pid)) process.kill(pid, 'SIGCONT');
}

/** Stops the NFS server (thawed first, SIGTERM, SIGKILL after 5 s). Idempotent. */
export async function stopGanesha(pid: number | null): Promise<void> {
  if (pid === null || !isGanesha(pid)) return;
  process.kill(pid, 'SIGCONT');
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 5_000;
  while (isGanesha(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (isGanesha(pid)) process.kill(pid, 'SIGKILL');
}
