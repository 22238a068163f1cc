// ssh into a lab VM: through its user-networking hostfwd, which listens on the loopback of the
// lab's network namespace (QEMU runs there), so ssh runs there too (nsenter --net). The guests
// are clones with throwaway host keys: no host key checking, nothing written to known_hosts.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { sh, type Ran } from '../sh.ts';

export interface SshTarget {
  /** the network namespace ssh runs in; absent = this one (the Vagrant lab on a host whose libvirt is its own) */
  netns?: string;
  port: number;
  /** default 127.0.0.1 (the QEMU lab's hostfwd) */
  host?: string;
  /** default root */
  user?: string;
  /** the lab's private key (GuestImage.sshKey) */
  key: string;
  /**
   * a ControlPath for connection sharing (`ControlMaster=auto`, kept 60 s): one handshake per
   * guest instead of one per command, which costs a second under TCG; absent = a connection each
   */
  control?: string;
}

/** Quotes one word for a POSIX shell (the remote side of ssh runs its command line through one). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * argv running `command` in the guest as root: a string is a shell command line, an array is an
 * argv (quoted here). An empty command (or none) opens an interactive shell.
 */
export function sshArgv(target: SshTarget, command: string | readonly string[] = '', options: { tty?: boolean; connectTimeoutS?: number } = {}): string[] {
  const line = typeof command === 'string' ? command : command.map(shellQuote).join(' ');
  return [
    ...(target.netns === undefined ? [] : ['nsenter', `--net=/run/netns/${target.netns}`, '--']),
    'ssh',
    '-i',
    target.key,
    '-p',
    String(target.port),
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'BatchMode=yes',
    '-o',
    `ConnectTimeout=${options.connectTimeoutS ?? 10}`,
    ...(target.control === undefined ? [] : ['-o', 'ControlMaster=auto', '-o', `ControlPath=${target.control}`, '-o', 'ControlPersist=60']),
    '-o',
    'ServerAliveInterval=5',
    '-o',
    'ServerAliveCountMax=3',
    options.tty === true ? '-t' : '-T',
    `${target.user ?? 'root'}@${target.host ?? '127.0.0.1'}`,
    ...(line === '' ? [] : ['--', line]),
  ];
}

/** Runs a command in the guest and resolves with its exit code and output (255 = ssh itself failed). */
export function sshRun(target: SshTarget, command: string | readonly string[], options: { timeoutMs?: number; input?: string } = {}): Promise<Ran> {
  return sh(sshArgv(target, command), options);
}

/** Like {@link sshRun}, but throws (one line with the guest's stderr) on a non-zero exit. */
export async function sshOk(target: SshTarget, command: string | readonly string[], options: { timeoutMs?: number; input?: string } = {}): Promise<string> {
  const ran = await sshRun(target, command, options);
  if (ran.exitCode !== 0) {
    const shown = typeof command === 'string' ? command : command.join(' ');
    throw new Error(`ssh ${target.port}: "${shown}" exited ${ran.exitCode}: ${(ran.stderr || ran.stdout).trim().split('\n').slice(-3).join(' / ')}`);
  }
  return ran.stdout;
}

/**
 * Pipes `producer`'s stdout into `command` in the guest (e.g. `tar -c … | ssh … tar -x`).
 * @throws when either side exits non-zero (with its stderr)
 */
export function sshPipe(target: SshTarget, producer: readonly string[], command: string, timeoutMs = 300_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = producer;
    const source = spawn(file as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const [sshFile, ...sshArgs] = sshArgv(target, command);
    const sink = spawn(sshFile as string, sshArgs, { stdio: ['pipe', 'ignore', 'pipe'] });
    source.stdout.pipe(sink.stdin);
    let sourceErr = '';
    let sinkErr = '';
    source.stderr.on('data', (chunk: Buffer) => (sourceErr += chunk.toString()));
    sink.stderr.on('data', (chunk: Buffer) => (sinkErr += chunk.toString()));
    const codes: { source?: number | null; sink?: number | null } = {};
    const timer = setTimeout(() => {
      source.kill('SIGKILL');
      sink.kill('SIGKILL');
    }, timeoutMs);
    const settle = (): void => {
      if (!('source' in codes) || !('sink' in codes)) return;
      clearTimeout(timer);
      if (codes.source !== 0) reject(new Error(`${producer.join(' ')} exited ${codes.source}: ${sourceErr.trim()}`));
      else if (codes.sink !== 0) reject(new Error(`ssh ${target.port}: "${command}" exited ${codes.sink}: ${sinkErr.trim()}`));
      else resolve();
    };
    source.on('error', reject);
    sink.on('error', reject);
    source.on('close', (code) => {
      codes.source = code;
      settle();
    });
    sink.on('close', (code) => {
      codes.sink = code;
      settle();
    });
  });
}

/**
 * Ends the shared connection of `target` (`ssh -O exit`), if any: after the guest rebooted or was
 * powered off, the old master would hang every command until its keepalives time out.
 */
export async function closeSharedConnection(target: SshTarget): Promise<void> {
  if (target.control === undefined) return;
  const argv = sshArgv(target);
  const at = argv.indexOf('-T');
  await sh([...argv.slice(0, at), '-O', 'exit', 'root@127.0.0.1'], { timeoutMs: 5000 }).catch(() => undefined);
}

/**
 * Writes an executable `dir/<program>` that runs `<program>` in the guest with its arguments
 * (`exec ssh … -- <program> "$@"`): the exit status comes back through ssh (255 = ssh failed).
 * Host code that runs a program by path (fence/scsi-pr's sg_persist, say) then drives the guest's.
 * Arguments go through the guest's shell: pass only words {@link shellQuote} leaves unquoted.
 */
export function writeRemoteProgram(target: SshTarget, dir: string, program: string): string {
  const file = `${dir}/${program}`;
  writeFileSync(file, `#!/bin/sh\nexec ${sshArgv(target, [program]).map(shellQuote).join(' ')} "$@"\n`, { mode: 0o755 });
  return file;
}
