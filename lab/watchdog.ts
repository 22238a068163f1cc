// The labs' simulated watchdog: a FIFO stands where /dev/watchdogN would be, and this supervisor,
// holding its read end, plays the driver. It follows Linux Documentation/watchdog/watchdog-api.rst
// and the watchdog core (drivers/watchdog/watchdog_dev.c): every write is a keepalive; a write
// containing 'V' allows the next close to stop the timer (a later write without 'V' withdraws
// that); a close without it leaves the timer running ("watchdog did not stop!"); when the timer
// expires the node is "reset" — `onFire`, which the lab makes crash the node.
//
// How the FIFO shows the writer's side to a reader opened O_RDONLY|O_NONBLOCK (pipe(7), fifo(7)):
// read → n bytes: keepalives; EAGAIN: a writer is connected but wrote nothing since; 0: no writer is
// connected (never opened, or every writer closed — a SIGKILLed daemon included), and it stays 0
// until a new writer opens. A writer opening O_WRONLY|O_NONBLOCK without a reader gets ENXIO, so the
// daemon cannot arm while this supervisor is down (src/watchdog/device.ts reports that).
//
// Differences from a kernel watchdog, all from reading a pipe by polling:
// - times are poll times: a keepalive counts from the poll that read it (up to `pollMs` late) and
//   the timer fires up to `pollMs` after expiry; a supervisor stalled longer than the timeout counts
//   bytes written during the stall as fresh;
// - writes coalesce in the pipe: what one read returns is one "chunk", and a chunk with a 'V'
//   anywhere allows the magic close (exact for the daemon, which writes single bytes);
// - opening without writing does not arm it (the kernel starts the timer at open; the daemon
//   writes a keepalive right after opening anyway).
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { monoNow } from '../src/clock.ts';
import { errorLine } from '../src/errors.ts';

/**
 * - `idle`: disarmed, no timer (before the first keepalive, after a magic close, after firing);
 * - `armed`: a writer is (or was, until its magic close is seen) petting; fires at last keepalive + timeoutMs;
 * - `orphaned`: the writer closed without the magic close; the timer keeps running;
 * - `fired`: the timer expired; `onFire` is running.
 */
export type SimulatedWatchdogState = 'idle' | 'armed' | 'orphaned' | 'fired';

export interface SimulatedWatchdogEvent {
  /** the `clock` option's time (monotonic ms) */
  atMs: number;
  what: string;
}

export interface SimulatedWatchdogOptions {
  /** the FIFO the node's daemon is configured with as `fence.watchdog.device`; created 0600 if missing */
  fifoPath: string;
  /** the timeout the "driver" enforces, ms (the node's `fence.watchdog.timeoutMs`) */
  timeoutMs: number;
  /** how often the FIFO is read, ms (default 50) */
  pollMs?: number;
  /**
   * The "reset": called once per expiry, with why. Polling waits for it; it should resolve only
   * once the node's processes are dead, so that nothing they wrote arrives after the drain that
   * follows it. A rejection is recorded as an event.
   */
  onFire: (why: string) => void | Promise<void>;
  /** monotonic ms; default `monoNow` (src/clock.ts) */
  clock?: () => number;
}

const MAGIC = 0x56; // 'V'
const READ_SIZE = 65536; // a Linux pipe's default capacity: one read takes all that is buffered

/** The supervisor of one node's simulated watchdog FIFO. Call `stop()` when done: its poll timer keeps the process alive. */
export class SimulatedWatchdog {
  private readonly fifoPath: string;
  private readonly timeoutMs: number;
  private readonly pollMs: number;
  private readonly onFire: (why: string) => void | Promise<void>;
  private readonly clock: () => number;
  private readonly buffer = Buffer.alloc(READ_SIZE);
  private fd: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private current: SimulatedWatchdogState = 'idle';
  private keepaliveAt: number | null = null;
  private magicPending = false;
  /** bumped by start() and stop(), so a poll that outlived a stop (awaiting onFire) touches nothing */
  private generation = 0;
  /** everything that happened, oldest first: state changes, fires, errors */
  readonly events: SimulatedWatchdogEvent[] = [];

  constructor(options: SimulatedWatchdogOptions) {
    this.fifoPath = options.fifoPath;
    this.timeoutMs = options.timeoutMs;
    this.pollMs = options.pollMs ?? 50;
    this.onFire = options.onFire;
    this.clock = options.clock ?? monoNow;
  }

  get state(): SimulatedWatchdogState {
    return this.current;
  }

  /** monotonic ms (the `clock` option) of the poll that last read a keepalive; null before the first */
  get lastKeepaliveMs(): number | null {
    return this.keepaliveAt;
  }

  /** true between `start()` and `stop()` */
  get running(): boolean {
    return this.fd !== null;
  }

  /**
   * Creates the FIFO (mkfifo -m 0600) if missing, opens its read end O_RDONLY|O_NONBLOCK and starts
   * polling every `pollMs`, in state 'idle'. A no-op while running.
   * @throws Error when the path exists and is not a FIFO, or mkfifo/open fails.
   */
  start(): void {
    if (this.fd !== null) return;
    let exists = true;
    try {
      if (!statSync(this.fifoPath).isFIFO()) throw new Error(`${this.fifoPath} exists and is not a FIFO`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      exists = false;
    }
    if (!exists) execFileSync('mkfifo', ['-m', '0600', this.fifoPath], { stdio: 'ignore' });
    this.fd = openSync(this.fifoPath, constants.O_RDONLY | constants.O_NONBLOCK);
    this.generation++;
    this.current = 'idle';
    this.keepaliveAt = null;
    this.magicPending = false;
    this.record(`started: reading ${this.fifoPath}, timeout ${this.timeoutMs} ms`);
    this.schedule();
  }

  /** Stops polling and closes the read end (writers then get EPIPE, new ones ENXIO). Leaves the FIFO in place. */
  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    this.generation++;
    closeSync(fd);
    this.record('stopped');
  }

  private record(what: string): void {
    this.events.push({ atMs: this.clock(), what });
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.tick(), this.pollMs);
  }

  private async tick(): Promise<void> {
    this.timer = null;
    if (this.fd === null) return;
    const generation = this.generation;
    try {
      await this.poll(this.fd, generation);
    } catch (error) {
      if (generation === this.generation) this.record(`poll failed: ${errorLine(error)}`);
    }
    if (generation === this.generation) this.schedule();
  }

  /** One read: the bytes of the last chunk ('V' in it?) and whether no writer is connected. */
  private read(fd: number): { bytes: number; magic: boolean; eof: boolean } {
    let bytes = 0;
    let magic = this.magicPending;
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, this.buffer, 0, this.buffer.length, null);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return { bytes, magic, eof: false };
        throw error;
      }
      if (n === 0) return { bytes, magic, eof: true };
      bytes += n;
      magic = this.buffer.subarray(0, n).includes(MAGIC);
    }
  }

  private async poll(fd: number, generation: number): Promise<void> {
    const { bytes, magic, eof } = this.read(fd);
    const now = this.clock();
    if (bytes > 0) {
      this.keepaliveAt = now;
      this.magicPending = magic;
      if (this.current === 'idle') this.transition('armed', 'armed: first keepalive');
      else if (this.current === 'orphaned') this.transition('armed', 're-armed: a new writer pets it');
    }
    if (eof && this.current === 'armed') {
      if (this.magicPending) {
        this.magicPending = false;
        this.transition('idle', 'disarmed by magic close');
      } else {
        this.transition('orphaned', 'closed without magic close: watchdog did not stop!');
      }
    }
    if ((this.current === 'armed' || this.current === 'orphaned') && this.keepaliveAt !== null) {
      const silentMs = now - this.keepaliveAt;
      if (silentMs > this.timeoutMs) await this.fire(fd, generation, silentMs);
    }
  }

  private async fire(fd: number, generation: number, silentMs: number): Promise<void> {
    const why = `no keepalive for ${Math.round(silentMs)} ms (timeout ${this.timeoutMs} ms)${
      this.current === 'orphaned' ? ', its writer closed without magic close' : ', its writer is connected but silent'
    }`;
    this.transition('fired', `fired: ${why}`);
    try {
      await this.onFire(why);
    } catch (error) {
      this.record(`onFire failed: ${errorLine(error)}`);
    }
    if (generation !== this.generation) return; // stopped meanwhile: the descriptor is closed
    const drained = this.read(fd).bytes;
    this.magicPending = false;
    this.transition('idle', `idle after firing${drained > 0 ? ` (${drained} bytes drained)` : ''}`);
  }

  private transition(to: SimulatedWatchdogState, what: string): void {
    this.current = to;
    this.record(what);
  }
}
