// What the invariant monitor sees of a VM: one long-lived sampler process per guest (the script
// below, run by the guest's node over one ssh session), streaming a JSON line per sample —
// whether the shared device is mounted in the root mount namespace, whether its superblock is
// alive (/sys/fs/ext4/<kname>: a lazily unmounted filesystem still held open counts), the VIP on
// the cluster interface (/proc/net/fib_trie), how many mysqld processes run — with the guest's
// boot id. Reading /proc and /sys only: no process spawned per sample, and never a read of the
// lease storage (which a scenario may hang). The host side keeps the last sample of each guest,
// reconnects after a reboot, and reports the rate actually received.
import { monoNow } from '../../src/clock.ts';
import type { SshTarget } from './ssh.ts';
import { SshLineStream } from './ssh-stream.ts';

/** Where the sampler script lives in the guest (installed by lab/vm/pair.ts). */
export const GUEST_SAMPLER_PATH = '/opt/vmlab/sampler.cjs';

/**
 * The guest side: `node sampler.cjs INTERVAL_MS DEVICE_KNAME VIP` prints one line per interval:
 * `{"b":BOOT_ID,"t":MONO_MS,"m":MOUNTED,"s":SUPERBLOCK,"v":VIP,"d":MYSQLD}`.
 */
export const SAMPLER_SCRIPT = `'use strict';
// fence-agent two-VM lab: the invariant monitor's sampler (lab/vm/sampler.ts)
const fs = require('fs');
const [intervalMs, kname, vip] = process.argv.slice(2);
const device = '/dev/' + kname;
const boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
const read = (file) => { try { return fs.readFileSync(file, 'utf8'); } catch { return ''; } };
function mounted() {
  for (const line of read('/proc/1/mountinfo').split('\\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash > 0 && fields[dash + 2] === device) return true;
  }
  return false;
}
function vipLocal() {
  const lines = read('/proc/net/fib_trie').split('\\n');
  for (let i = 0; i < lines.length - 1; i++) {
    if (lines[i].trim() === '|-- ' + vip && lines[i + 1].includes('/32 host LOCAL')) return true;
  }
  return false;
}
// pid → { comm, seen }: a process's name is read when it is new and again while it is young (a
// fork names the child after its parent until it execs), then trusted — reading every comm on
// every tick cost a tenth of the guest's one vCPU under TCG
const comms = new Map();
function mysqld() {
  let count = 0;
  const now = performance.now();
  const alive = new Set();
  for (const entry of fs.readdirSync('/proc')) {
    if (entry.charCodeAt(0) > 57) continue;
    alive.add(entry);
    let known = comms.get(entry);
    if (known === undefined || now - known.seen < 3000) {
      const comm = read('/proc/' + entry + '/comm').trim();
      if (known === undefined) comms.set(entry, (known = { comm, seen: now }));
      else known.comm = comm;
    }
    if (known.comm === 'mariadbd' || known.comm === 'mysqld') count++;
  }
  for (const pid of comms.keys()) if (!alive.has(pid)) comms.delete(pid);
  return count;
}
function sample() {
  const line = JSON.stringify({ b: boot, t: Math.round(performance.now() + 0), m: mounted(), s: fs.existsSync('/sys/fs/ext4/' + kname), v: vipLocal(), d: mysqld() });
  process.stdout.write(line + '\\n');
}
process.stdout.on('error', () => process.exit(0));
sample();
setInterval(sample, Number(intervalMs));
`;

/** One sample as the guest sent it. */
export interface GuestSample {
  /** the guest's boot id */
  b: string;
  /** the sampler's own clock, ms */
  t: number;
  /** the shared device in the root namespace's mountinfo */
  m: boolean;
  /** its superblock alive */
  s: boolean;
  /** the VIP a local address */
  v: boolean;
  /** mysqld processes */
  d: number;
}

/** Parses one sampler line. @returns null for anything that is not a complete sample */
export function parseSample(line: string): GuestSample | null {
  try {
    const value = JSON.parse(line) as Partial<GuestSample>;
    if (typeof value.b !== 'string' || typeof value.m !== 'boolean' || typeof value.s !== 'boolean' || typeof value.v !== 'boolean' || typeof value.d !== 'number') return null;
    return value as GuestSample;
  } catch {
    return null;
  }
}

export interface SamplerOptions {
  target: SshTarget;
  /** the shared device's kernel name in the guest (`sdb1`) */
  kname: string;
  vip: string;
  /** sampling period in the guest, ms (default 100: 10 Hz) */
  intervalMs?: number;
  /** called when a sample arrives with a boot id other than the previous one (a reboot) */
  onBoot?: (bootId: string, previous: string | null, atMono: number) => void;
}

/** The host side of one guest's sampler: keeps it running (reconnecting after a reboot) and the last sample. */
export class Sampler {
  /** the last sample and the host's monotonic time it arrived, or null */
  last: { sample: GuestSample; atMono: number } | null = null;
  /** whether a sampler session is connected and has sent a sample */
  connected = false;
  /** samples received, and the ms spent connected, since {@link resetRate} */
  private received = 0;
  private connectedMs = 0;
  private connectedSince: number | null = null;
  private bootId: string | null = null;
  /** min(arrival − guest clock) this session: the guest-to-host clock offset plus the least transport delay */
  private minSkew: number | null = null;

  private readonly stream: SshLineStream;

  constructor(private readonly options: SamplerOptions) {
    const { target, kname, vip, intervalMs = 100 } = options;
    this.stream = new SshLineStream({
      target,
      command: ['/usr/local/bin/node', GUEST_SAMPLER_PATH, String(intervalMs), kname, vip],
      onLine: (line) => this.handle(line),
      onEnd: () => this.disconnect(),
    });
  }

  /** Starts (or keeps) the sampler session; resolves once a first sample arrived or `timeoutMs` passed. */
  async start(timeoutMs = 30_000): Promise<void> {
    this.stream.start();
    const deadline = monoNow() + timeoutMs;
    while (!this.connected && monoNow() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  }

  private handle(line: string): void {
    const sample = parseSample(line);
    if (sample === null) return;
    const now = monoNow();
    if (!this.connected) {
      this.connected = true;
      this.connectedSince = now;
    }
    if (sample.b !== this.bootId) {
      const previous = this.bootId;
      this.bootId = sample.b;
      this.options.onBoot?.(sample.b, previous, now);
    }
    this.received++;
    this.minSkew = this.minSkew === null ? now - sample.t : Math.min(this.minSkew, now - sample.t);
    this.last = { sample, atMono: now };
  }

  /**
   * The host monotonic time the last sample describes, at the latest: its guest time moved by the
   * least delay seen this session (a sample that waited in a starved guest or in ssh arrives late
   * but says when it was taken). Null without a sample.
   */
  lastSampleHostMono(): number | null {
    return this.last === null || this.minSkew === null ? null : this.last.sample.t + this.minSkew;
  }

  private disconnect(): void {
    this.minSkew = null;
    // a session counts until its last sample: ssh notices a dead guest (a reset) only after its
    // ServerAlive probes time out, and that silence is no sampling gap of a live guest
    const lastAt = this.last?.atMono ?? null;
    if (this.connectedSince !== null) this.connectedMs += Math.max(0, (lastAt !== null && lastAt >= this.connectedSince ? lastAt : monoNow()) - this.connectedSince);
    this.connectedSince = null;
    this.connected = false;
  }

  /** Ms since the last sample arrived (Infinity when none did). */
  ageMs(): number {
    return this.last === null ? Infinity : monoNow() - this.last.atMono;
  }

  /** Forgets the last sample (after a power-off: nothing of the old boot is current). */
  forget(): void {
    this.last = null;
  }

  /** Restarts the rate count (the monitor's window). */
  resetRate(): void {
    this.received = 0;
    this.connectedMs = 0;
    if (this.connectedSince !== null) this.connectedSince = monoNow();
  }

  /** Samples per second received while connected since {@link resetRate}, or null with < 5 s connected. */
  rate(): number | null {
    const ms = this.connectedMs + (this.connectedSince === null ? 0 : monoNow() - this.connectedSince);
    return ms < 5000 ? null : (this.received * 1000) / ms;
  }

  stop(): void {
    this.stream.stop();
    this.disconnect();
  }
}
