// Is keepalived still there? A keepalived that is SIGKILLed (OOM killer, an operator's kill -9, a
// crash) sends no notify and leaves its VIP on the interface: the MASTER keeps answering on the
// VIP while the peer, hearing no adverts, becomes MASTER too and waits for a fence this node still
// refreshes. Nothing runs `check` any more either. So the daemon watches keepalived's VRRP process
// itself while it is MASTER — its pid file (keepalived(8) `--vrrp_pid`) and /proc/<pid>/comm, no
// process spawned — and, once it has been gone for `keepalived.goneMs`, demotes on its own,
// dropping the VIP keepalived left behind. The watch arms only once it has seen keepalived alive
// through that pid file: a wrong `keepalived.vrrpPidFile`, or a node run without keepalived (the
// single-node lab, an operator's manual promotion), leaves it idle with one warning instead of
// demoting a healthy MASTER.
import { readFileSync } from 'node:fs';
import { monoNow } from '../clock.ts';

/** keepalived's VRRP process as seen through its pid file. */
export interface VrrpProcess {
  alive: boolean;
  pid: number | null;
  /** what was seen, for the log */
  why: string;
}

/**
 * Reads `pidFile` and checks that the pid is a live process named `keepalived`
 * (`/proc/<pid>/comm`; a recycled pid of another program does not count). Never throws.
 * @param procRoot /proc (tests point it elsewhere)
 */
export function readVrrpProcess(pidFile: string, procRoot = '/proc'): VrrpProcess {
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8').trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { alive: false, pid: null, why: code === 'ENOENT' ? `no ${pidFile}` : `cannot read ${pidFile} (${code ?? String(error)})` };
  }
  const pid = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(pid) || pid <= 0) return { alive: false, pid: null, why: `${pidFile} holds no pid (${JSON.stringify(text.slice(0, 40))})` };
  let comm: string;
  try {
    comm = readFileSync(`${procRoot}/${pid}/comm`, 'utf8').trim();
  } catch {
    return { alive: false, pid, why: `keepalived's VRRP process ${pid} (${pidFile}) is gone` };
  }
  if (comm !== 'keepalived') return { alive: false, pid, why: `pid ${pid} of ${pidFile} is now "${comm}", not keepalived` };
  return { alive: true, pid, why: `keepalived VRRP process ${pid} alive` };
}

export interface KeepalivedWatchOptions {
  /** keepalived's VRRP pid file (`keepalived.vrrpPidFile`) */
  pidFile: string;
  /** how long it may be gone before `onGone`, ms (`keepalived.goneMs`) */
  goneMs: number;
  /** poll period, ms (default 500) */
  pollMs?: number;
  /** whether to watch now (the daemon: while MASTER); off resets the count */
  active: () => boolean;
  /** called once per absence that lasted `goneMs`, with what was seen */
  onGone: (why: string) => void;
  /** called once when the watch is active for `goneMs` without ever having seen keepalived alive */
  onNeverSeen?: (why: string) => void;
  procRoot?: string;
}

/** Polls keepalived's VRRP process while `active()`; once armed (seen alive), calls `onGone` when it stayed away `goneMs`. */
export class KeepalivedWatch {
  private goneSince: number | null = null;
  private fired = false;
  /** keepalived was seen alive through the pid file at least once: the watch is armed */
  private armed = false;
  private idleSince: number | null = null;
  private warned = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: KeepalivedWatchOptions) {}

  /** One poll (exposed for tests); `now` is monotonic ms. */
  tick(now = monoNow()): void {
    if (!this.options.active()) {
      this.goneSince = null;
      this.fired = false;
      return;
    }
    const seen = readVrrpProcess(this.options.pidFile, this.options.procRoot);
    if (seen.alive) {
      this.armed = true;
      this.goneSince = null;
      this.fired = false;
      return;
    }
    if (!this.armed) {
      this.idleSince ??= now;
      if (!this.warned && now - this.idleSince >= this.options.goneMs) {
        this.warned = true;
        this.options.onNeverSeen?.(seen.why);
      }
      return;
    }
    this.goneSince ??= now;
    if (!this.fired && now - this.goneSince >= this.options.goneMs) {
      this.fired = true;
      this.options.onGone(`${seen.why} for ${Math.round(now - this.goneSince)} ms`);
    }
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.tick(), this.options.pollMs ?? 500);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
