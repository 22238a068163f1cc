// The write ledger (issue 3): a client inserting numbered rows through the VIP the whole time,
// recording which inserts were acknowledged and by which server (its server_id), and the check
// that every acknowledged row survived.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ClusterNode, LedgerTarget } from './cluster.ts';
import { REPO } from './node.ts';
import { NODES } from './pair.ts';
import { waitFor } from './wait.ts';

export interface Ack {
  id: number;
  /** when the client saw the acknowledgement, ms since the epoch */
  at: number;
  /** `@@server_id` of the server that acknowledged it (read once per connection; see {@link serverIdOf}) */
  server: number;
}

/** A node's MariaDB server_id, as the pair writes it to my.cnf: db1 → 1, db2 → 2. */
export function serverIdOf(node: { name: string } | string): number {
  if (typeof node === 'object' && 'serverId' in node && typeof node.serverId === 'number') return node.serverId;
  const name = typeof node === 'string' ? node : node.name;
  const spec = NODES.find((n) => n.name === name);
  if (spec === undefined) throw new Error(`no pair node ${name}`);
  return spec.serverId;
}

/**
 * Parses the client's ack file: one `ID AT SERVER` line per acknowledged INSERT. Text after the
 * last newline is a line still being written (or cut by a SIGKILL) and is left out.
 * @throws on a complete line that is not three integers
 */
export function parseAcks(text: string): Ack[] {
  const lines = text.split('\n');
  lines.pop(); // after the last newline: empty, or an unfinished line
  return lines
    .filter((line) => line !== '')
    .map((line) => {
      if (!/^\d+ \d+ \d+$/.test(line)) throw new Error(`ledger: malformed ack line "${line}"`);
      const [id, at, server] = line.split(' ').map(Number) as [number, number, number];
      return { id, at, server };
    });
}

/**
 * Creates the ledger's database, table and user on `master` (idempotent), once its mysqld answers.
 * @throws when mysqld does not answer within `timeoutMs` or the SQL fails
 */
export async function prepareLedgerDatabase(master: Pick<ClusterNode, 'name' | 'sql'>, timeoutMs = 60_000): Promise<void> {
  await waitFor('mysqld answering on the MASTER', async () => (await master.sql('SELECT 1')).exitCode === 0, timeoutMs, 200);
  const sql = [
    'CREATE DATABASE IF NOT EXISTS lab',
    'CREATE TABLE IF NOT EXISTS lab.ledger (id BIGINT PRIMARY KEY, server INT NOT NULL, at TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP(3)) ENGINE=InnoDB',
    "CREATE USER IF NOT EXISTS 'ledger'@'%' IDENTIFIED BY 'ledger'",
    "GRANT INSERT, SELECT, DELETE ON lab.* TO 'ledger'@'%'",
  ].join('; ');
  const ran = await master.sql(sql);
  if (ran.exitCode !== 0) throw new Error(`preparing the ledger database on ${master.name}: ${ran.stderr.trim()}`);
}

export class Ledger {
  private child: ChildProcess | null = null;
  readonly ackFile: string;
  readonly logFile: string;

  /** @param target where the client runs (its network namespace), what it writes to (the VIP), and where its files go */
  constructor(private readonly target: LedgerTarget, name = 'ledger') {
    this.ackFile = path.join(target.dir, `${name}.acks`);
    this.logFile = path.join(target.dir, `${name}.log`);
  }

  /** Starts the client (in the target's namespace): a pause between INSERTs, a bound on connect and each INSERT. */
  start(pauseMs = 20, timeoutMs = 1000): void {
    const fd = openSync(this.logFile, 'a');
    try {
      const argv = [process.execPath, '--import', 'tsx', path.join(REPO, 'lab/ledger-client.ts'), this.target.vip, this.ackFile, String(pauseMs), String(timeoutMs)];
      const netns = this.target.clientNetns;
      this.child = spawn(netns === null ? (argv[0] as string) : 'ip', netns === null ? argv.slice(1) : ['netns', 'exec', netns, ...argv], { cwd: REPO, stdio: ['ignore', fd, fd] });
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
    return parseAcks(readFileSync(this.ackFile, 'utf8'));
  }

  /** The first acknowledgement at or after `t` (ms since the epoch), or null. */
  firstAckAfter(t: number): Ack | null {
    return this.acks().find((ack) => ack.at >= t) ?? null;
  }

  /**
   * Acknowledgements by server `server` (a server_id, see {@link serverIdOf}) seen at or after
   * `afterMs` (ms since the epoch) — e.g. rows the old MASTER acknowledged after the peer mounted.
   */
  acksFrom(server: number, afterMs: number): Ack[] {
    return this.acks().filter((ack) => ack.server === server && ack.at >= afterMs);
  }

  /**
   * When (ms since the epoch) the first INSERT acknowledged at or after `since` and taken by
   * `node` was acknowledged: the ack names the server that answered, and the row read back on
   * `node` confirms it was kept (an INSERT the old MASTER took just before it died can be
   * acknowledged a moment after the failure began).
   * @throws Error when none comes within `timeoutMs`
   */
  firstAckTakenBy(node: Pick<ClusterNode, 'name' | 'sql'>, since: number, timeoutMs = 60_000): Promise<number> {
    const serverId = serverIdOf(node);
    return waitFor(
      `the first INSERT taken by ${node.name}`,
      async () => {
        const candidates = this.acks().filter((ack) => ack.at >= since && ack.server === serverId);
        if (candidates.length === 0) return null;
        const rows = await this.rowsOn(node).catch(() => null);
        return rows === null ? null : (candidates.find((ack) => rows.get(ack.id) === serverId)?.at ?? null);
      },
      timeoutMs,
      100,
    );
  }

  /** Rows in the table (id → server_id that took it), read on `master` over its socket as root. */
  async rowsOn(master: Pick<ClusterNode, 'name' | 'sql'>): Promise<Map<number, number>> {
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
  async missingOn(master: Pick<ClusterNode, 'name' | 'sql'>): Promise<{ acked: number; missing: number[] }> {
    const rows = await this.rowsOn(master);
    const acks = this.acks();
    return { acked: acks.length, missing: acks.filter((ack) => !rows.has(ack.id)).map((ack) => ack.id) };
  }
}
