// The guests' logs, kept on the host as they are written. A watchdog reset or a power-off loses
// what the guest had not yet written back (journald and the agent's log file both sit in the page
// cache for seconds), and the next scenario's clean-up truncates the agent log: a failed run's
// evidence would be gone. One ssh session per guest streams the agent log (`tail -F`) and the
// journal of keepalived, mariadb and fence-agent for the current boot; the host keeps every boot's
// lines. After a reconnect within the same boot the guest sends the whole boot again and the host
// replaces that boot's lines (no duplicates, nothing lost that the guest still has).
import type { SshTarget } from './ssh.ts';
import { SshLineStream } from './ssh-stream.ts';

/** The lines of one boot of the guest, as streamed. */
export interface BootLogs {
  bootId: string;
  /** the agent's log file (JSON lines) */
  agent: string[];
  /** `journalctl -o short-monotonic` of the pair's units */
  journal: string[];
}

/** Lines kept per boot and source: a run's evidence, not an archive (older lines are dropped first). */
const MAX_LINES = 50_000;

/** The guest command: its boot id, then `A <agent line>` and `J <journal line>` as they come. */
export function followCommand(agentLog: string, units: readonly string[]): string {
  const journal = ['journalctl', '-b', '-f', '-n', 'all', '-o', 'short-monotonic', '--no-hostname', ...units.flatMap((u) => ['-u', u])].join(' ');
  return [
    'cat /proc/sys/kernel/random/boot_id',
    `(${journal} 2>/dev/null | sed -u 's/^/J /') &`,
    `tail -n +1 -F ${agentLog} 2>/dev/null | sed -u 's/^/A /'`,
  ].join('\n');
}

/** Keeps one guest's log stream running (reconnecting after a reboot) and every boot's lines. */
export class LogFollower {
  private readonly boots: BootLogs[] = [];
  private readonly stream: SshLineStream;
  /** the boot the current session streams, once its first line (the boot id) arrived */
  private boot: BootLogs | null = null;

  constructor(
    target: SshTarget,
    agentLog: string,
    private readonly units: readonly string[],
  ) {
    this.stream = new SshLineStream({
      target,
      command: ['sh', '-c', followCommand(agentLog, units)],
      onSession: () => {
        this.boot = null;
      },
      onLine: (line) => this.handle(line),
    });
  }

  /** Starts the stream (idempotent); it reconnects every second while the guest does not answer. */
  start(): void {
    this.stream.start();
  }

  private handle(line: string): void {
    if (this.boot === null) {
      // a session starts with the boot id; lines of a session being ended (clear) are dropped
      if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(line.trim())) this.boot = this.openBoot(line.trim());
      return;
    }
    const list = line.startsWith('A ') ? this.boot.agent : line.startsWith('J ') ? this.boot.journal : null;
    if (list === null) return;
    list.push(line.slice(2));
    if (list.length > MAX_LINES) list.splice(0, list.length - MAX_LINES);
  }

  /** A fresh record for `bootId`: a reconnect within one boot re-sends it all, so the old lines go. */
  private openBoot(bootId: string): BootLogs {
    const existing = this.boots.findIndex((b) => b.bootId === bootId);
    if (existing !== -1) this.boots.splice(existing, 1);
    const boot: BootLogs = { bootId, agent: [], journal: [] };
    this.boots.push(boot);
    return boot;
  }

  /** Forgets what was kept (a new scenario starts; the guest's agent log was truncated). */
  clear(): void {
    this.boots.length = 0;
    this.boot = null;
    this.stream.restartSession(); // a new session re-reads the current boot
  }

  /** The agent log lines of every boot kept, oldest first, or null when nothing was streamed yet. */
  agentLines(): string[] | null {
    return this.boots.length === 0 ? null : this.boots.flatMap((b) => b.agent);
  }

  /** Every boot's lines, oldest boot first, as one text with a header per boot and source. */
  text(name: string): string {
    if (this.boots.length === 0) return `--- ${name}: no log streamed\n`;
    return this.boots
      .map((b, i) => `=== ${name} boot ${i + 1} of ${this.boots.length} (${b.bootId})\n--- agent log\n${b.agent.join('\n')}\n--- journal (${this.units.join(', ')})\n${b.journal.join('\n')}\n`)
      .join('');
  }

  stop(): void {
    this.stream.stop();
  }
}
