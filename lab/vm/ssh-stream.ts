// One long-lived command in a guest whose stdout is read line by line, started again a second
// after it ends (a reboot, a dropped ssh session) until stopped: what the monitor's sampler
// (sampler.ts) and the log follower (log-follower.ts) both run on.
import { spawn, type ChildProcess } from 'node:child_process';
import { sshArgv, type SshTarget } from './ssh.ts';

export interface SshLineStreamOptions {
  target: SshTarget;
  /** the guest command (argv) */
  command: readonly string[];
  /** called when a session starts, before its first line */
  onSession?: () => void;
  /** called for every complete line of the current session */
  onLine: (line: string) => void;
  /** called when a session ends (its process exited or failed to start) */
  onEnd?: () => void;
  /** ms between a session's end and the next (default 1000) */
  retryMs?: number;
}

/** Keeps one ssh session running `command` and hands its stdout over line by line. */
export class SshLineStream {
  private child: ChildProcess | null = null;
  private running = false;
  private retry: NodeJS.Timeout | null = null;

  constructor(private readonly options: SshLineStreamOptions) {}

  get active(): boolean {
    return this.running;
  }

  /** Starts the stream (idempotent). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  /** Ends the current session (the stream starts a new one after `retryMs`). */
  restartSession(): void {
    this.child?.kill('SIGKILL');
  }

  private connect(): void {
    if (!this.running) return;
    const [file, ...args] = sshArgv(this.options.target, this.options.command, { connectTimeoutS: 5 });
    const child = spawn(file as string, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    this.child = child;
    this.options.onSession?.();
    let buffer = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      buffer += chunk;
      let newline = buffer.indexOf('\n');
      while (newline !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf('\n');
        if (this.child === child) this.options.onLine(line);
      }
    });
    const ended = (): void => {
      if (this.child !== child) return;
      this.child = null;
      this.options.onEnd?.();
      if (this.running) this.retry = setTimeout(() => this.connect(), this.options.retryMs ?? 1000);
    };
    child.on('close', ended);
    child.on('error', ended);
  }

  stop(): void {
    this.running = false;
    if (this.retry !== null) clearTimeout(this.retry);
    this.retry = null;
    const child = this.child;
    this.child = null;
    child?.kill('SIGKILL');
  }
}
