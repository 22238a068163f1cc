// Who may write to the LU, as the storage says: the history of a third initiator's reads of the
// persistent-reservation keys (./watch-keys.ts, a child process in the namespace that reaches the
// portal), for the invariant monitor of a lab running the scsi-pr fence. Under WERO (type 5) a
// registrant may write and, with no reservation at all, anyone may: a node is *able to write*
// when its key is registered or nothing is reserved — judged from the storage, never from the
// node's own mountinfo.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** One read of the keys (or a failed one), CLOCK_MONOTONIC ms at its start and end. */
export interface KeyRead {
  start: number;
  end: number;
  /** registered keys (`0x…`), absent after a failure */
  keys?: string[];
  /** the reservation's holder key, null: no reservation */
  holder?: string | null;
  type?: number | null;
  error?: string;
}

/** What the reads in a window of time show, per node name. */
export interface WriteVerdict {
  /** the node's key was registered at some instant of the window */
  registered: boolean;
  /** registered, or no reservation at some instant of the window (anyone may write then) */
  ableToWrite: boolean;
}

/** How long reads are kept, ms. */
const KEEP_MS = 60_000;

/** The reads, and what they say about each node in a window. Pure: the tests feed it reads. */
export class KeyHistory {
  private readonly reads: KeyRead[] = [];

  /** @param keyOf each node's reservation key (`0x…`, fence/scsi-pr/key.ts formatKey) */
  constructor(private readonly keyOf: Readonly<Record<string, string>>) {}

  add(read: KeyRead): void {
    if (read.keys === undefined) return; // a failed read says nothing
    this.reads.push(read);
    while (this.reads.length > 1 && (this.reads[0] as KeyRead).end < read.end - KEEP_MS) this.reads.shift();
  }

  /** The newest good read, or null. */
  get last(): KeyRead | null {
    return this.reads.at(-1) ?? null;
  }

  /**
   * The reads that describe some instant of [fromMono, toMono]: those overlapping it, and the last
   * one that ended before it (its state held until the next read). Empty before the first read.
   */
  readsIn(fromMono: number, toMono: number): KeyRead[] {
    const inside = this.reads.filter((r) => r.end >= fromMono && r.start <= toMono);
    const before = this.reads.filter((r) => r.end < fromMono).at(-1);
    return before === undefined ? inside : [before, ...inside];
  }

  /** Per node: registered / able to write at some instant of the window. Unknown (no read yet): null. */
  verdicts(fromMono: number, toMono: number): Record<string, WriteVerdict> | null {
    const reads = this.readsIn(fromMono, toMono);
    if (reads.length === 0) return null;
    const out: Record<string, WriteVerdict> = {};
    for (const [node, key] of Object.entries(this.keyOf)) {
      const registered = reads.some((r) => r.keys?.includes(key) === true);
      out[node] = { registered, ableToWrite: registered || reads.some((r) => r.holder === null) };
    }
    return out;
  }

  /** The node a key (`0x…`) belongs to, or the key itself for no known node. */
  nameOf(key: string): string {
    return Object.entries(this.keyOf).find(([, k]) => k === key)?.[0] ?? key;
  }

  /** The node (or bare key) holding the reservation in the newest read, or null. */
  holderName(): string | null {
    const holder = this.last?.holder ?? null;
    return holder === null ? null : this.nameOf(holder);
  }
}

export interface KeyWatchOptions {
  /** the namespace to run the reader in (`ip netns exec`), or null */
  netns: string | null;
  host: string;
  port: number;
  target: string;
  /** the third initiator's IQN */
  initiator: string;
  /** the logical unit's number (default 1: tgtd's; LIO's is 0) */
  lun?: number;
  intervalMs: number;
  keyOf: Readonly<Record<string, string>>;
  log?: (line: string) => void;
}

/** The reader process and its history. `stop()` ends it (stdin closed, then SIGKILL). */
export class KeyWatch {
  readonly history: KeyHistory;
  private readonly child: ChildProcess;
  private lastError: string | null = null;

  constructor(private readonly options: KeyWatchOptions) {
    this.history = new KeyHistory(options.keyOf);
    const script = path.join(import.meta.dirname, 'watch-keys.ts');
    const argv = [process.execPath, '--import', 'tsx', script, options.host, String(options.port), options.target, options.initiator, String(options.intervalMs), String(options.lun ?? 1)];
    this.child = options.netns === null ? spawn(argv[0] as string, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] }) : spawn('ip', ['netns', 'exec', options.netns, ...argv], { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      let read: KeyRead;
      try {
        read = JSON.parse(line) as KeyRead;
      } catch {
        return;
      }
      if (read.error !== undefined) {
        if (read.error !== this.lastError) options.log?.(`key watch: ${read.error}`);
        this.lastError = read.error;
        return;
      }
      this.lastError = null;
      this.history.add(read);
    });
  }

  /** Resolves once a first good read arrived (at most `timeoutMs`). @throws on timeout */
  async ready(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.history.last === null) {
      if (Date.now() > deadline) throw new Error(`key watch: no read of the keys within ${timeoutMs} ms${this.lastError === null ? '' : ` (${this.lastError})`}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  stop(): void {
    this.child.stdin?.end();
    const child = this.child;
    setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 2000).unref();
  }
}
