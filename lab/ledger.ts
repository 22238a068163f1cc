// The write ledger (issue 3): a client inserting numbered rows through the VIP the whole time,
// recording which inserts were acknowledged, and the check that every acknowledged row survived.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { LabNode } from './node.ts';
import { REPO } from './node.ts';
import { VIP, type PairLab } from './pair.ts';

export interface Ack {
  id: number;
  /** when the client saw the acknowledgement, ms since the epoch */
  at: number;
}

export class Ledger {
  private child: ChildProcess | null = null;
  readonly ackFile: string;
  readonly logFile: string;

  constructor(private readonly lab: PairLab, name = 'ledger') {
    this.ackFile = path.join(lab.dir, `${name}.acks`);
    this.logFile = path.join(lab.dir, `${name}.log`);
  }

  /** Starts the client in the lan namespace: a pause between INSERTs, a bound on connect and each INSERT. */
  start(pauseMs = 20, timeoutMs = 1000): void {
    const fd = openSync(this.logFile, 'a');
    try {
      this.child = spawn('ip', ['netns', 'exec', this.lab.lanNetns, process.execPath, '--import', 'tsx', path.join(REPO, 'lab/ledger-client.ts'), VIP, this.ackFile, String(pauseMs), String(timeoutMs)], {
        cwd: REPO,
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
  }

  /** Stops the client (SIGTERM: it finishes the INSERT in flight) and waits for it. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  acks(): Ack[] {
    if (!existsSync(this.ackFile)) return [];
    return readFileSync(this.ackFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [id, at] = line.split(' ');
        return { id: Number(id), at: Number(at) };
      });
  }

  /** The first acknowledgement at or after `t` (ms since the epoch), or null. */
  firstAckAfter(t: number): Ack | null {
    return this.acks().find((ack) => ack.at >= t) ?? null;
  }

  /** Rows in the table (id → server_id that took it), read on `master` over its socket as root. */
  async rowsOn(master: LabNode): Promise<Map<number, number>> {
    const ran = await master.sql('SELECT id, server FROM lab.ledger');
    if (ran.exitCode !== 0) throw new Error(`reading the ledger on ${master.name}: ${ran.stderr.trim()}`);
    return new Map(
      ran.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split('\t').map(Number) as [number, number]),
    );
  }

  /** Acknowledged ids missing from the table on `master` (must be empty: S4). */
  async missingOn(master: LabNode): Promise<{ acked: number; missing: number[] }> {
    const rows = await this.rowsOn(master);
    const acks = this.acks();
    return { acked: acks.length, missing: acks.filter((ack) => !rows.has(ack.id)).map((ack) => ack.id) };
  }
}
