// The daemon's side of the watchdog (DESIGN §5, as sbd and Patroni do it): the device is opened
// before the fence is acquired, petted while — and only while — this node cannot be writing without
// the right to, and magic-closed once the filesystem is verified gone.
//
// "Cannot be writing without the right" = the fence allows writing by this node's own clock
// (`fence.mayWrite()`), or the shared filesystem is not in use on this node at all (before the
// mount, after a verified unmount). So the watchdog keeps a node alive through a long acquisition
// (waiting out a dead peer's lease), and stops being petted the instant the right to write ends
// under a mounted disk: the node is then self-fenced (verified) or reset within W.
import type { WatchdogConfig } from '../config/types.ts';
import { monoNow } from '../clock.ts';
import { errorLine } from '../errors.ts';
import type { Logger } from '../log.ts';
import { inspectWatchdog, Watchdog, type WatchdogInfo } from '../watchdog/device.ts';
import type { EarlyWatchdog } from './early-watchdog.ts';

export interface WatchdogSnapshot {
  device: string;
  kind: 'kernel' | 'simulated';
  timeoutMs: number;
  armed: boolean;
  /** keepalives are being written (false: the node resets `timeoutMs` after the last one unless it is disarmed) */
  petting: boolean;
}

export class WatchdogKeeper {
  private device: Watchdog | null;
  private timer: NodeJS.Timeout | null = null;
  private petting = true;
  private readonly petIntervalMs: number;

  /**
   * @param config the configured watchdog, or null (then everything here is a no-op)
   * @param mayPet asked before every keepalive: true while this node cannot be writing without the right to
   * @param onChange called when armed/petting changes (the daemon persists it for `status`)
   */
  constructor(
    private readonly config: WatchdogConfig | null,
    private readonly mayPet: () => boolean,
    private readonly log: Logger,
    private readonly onChange: () => void = () => undefined,
  ) {
    this.device = config === null ? null : new Watchdog(config);
    // a quarter of the timeout, at most once a second: several keepalives fit in every timeout
    this.petIntervalMs = config === null ? 1000 : Math.max(100, Math.min(1000, Math.floor(config.timeoutMs / 4)));
  }

  get enabled(): boolean {
    return this.device !== null;
  }

  get armed(): boolean {
    return this.device?.armed ?? false;
  }

  /** What inspection found at the device (after the first arm), for logs. */
  get info(): WatchdogInfo | null {
    return this.device?.info ?? null;
  }

  snapshot(): WatchdogSnapshot | null {
    if (this.config === null || this.device === null) return null;
    return { device: this.config.device, kind: this.device.info?.kind ?? this.kindBeforeArm(), timeoutMs: this.config.timeoutMs, armed: this.device.armed, petting: this.device.armed && this.petting };
  }

  private kindSeen: 'kernel' | 'simulated' | null = null;

  /** What the device is before the first arm (a stat, never an open); a device not there yet counts as kernel, and is looked at again next time. */
  private kindBeforeArm(): 'kernel' | 'simulated' {
    if (this.kindSeen === null && this.config !== null) {
      try {
        this.kindSeen = inspectWatchdog(this.config.device).kind;
      } catch {
        return 'kernel';
      }
    }
    return this.kindSeen ?? 'kernel';
  }

  /**
   * Takes over the device the entry opened before the daemon was loaded (./early-watchdog.ts) when
   * it is the configured one and open: the entry's keepalives stop and this keeper's loop starts at
   * once, petting only while `mayPet`. Logs what the entry did either way. Call before `arm()`.
   */
  adopt(early: EarlyWatchdog | null): void {
    early?.stop();
    if (early === null || this.config === null || this.device === null || this.device.armed) return;
    if (early.watchdog === null) {
      if (early.skipped !== null) {
        const line = `watchdog not opened by the entry: ${early.skipped}`;
        if (early.skipped.startsWith('early open failed') || early.skipped.startsWith('the previous daemon')) this.log.warn({ device: this.config.device }, line);
        else this.log.info({ device: this.config.device }, line);
      }
      return;
    }
    if (early.device !== this.config.device || !early.watchdog.armed) return;
    this.device = early.watchdog;
    this.log.info(
      {
        device: early.device,
        opened_after_ms: early.openedMono === null ? null : Math.round(early.openedMono - early.startedMono),
        adopted_after_ms: Math.round(monoNow() - early.startedMono),
        petter_pid: early.petterPid,
      },
      'watchdog left armed by the previous daemon: opened and petted by the entry before the daemon loaded, now adopted',
    );
    this.petting = true;
    this.startLoop();
    this.onChange();
  }

  /**
   * Opens the device (its timer starts) unless it is open already, and starts the keepalive loop
   * (also for a device that {@link adopt} took over).
   * @throws FenceAgentError `EWATCHDOG` (src/watchdog/device.ts) when it cannot be armed.
   */
  arm(): void {
    if (this.device === null) return;
    if (this.device.armed) {
      this.startLoop(); // adopted: running already
      return;
    }
    this.device.arm();
    const info = this.device.info;
    if (info?.kind === 'simulated') this.log.warn({ device: info.device }, 'watchdog armed: SIMULATED (a FIFO watched by the lab), not a kernel watchdog');
    else this.log.info({ device: info?.device, timeout_ms: info?.timeoutMs, identity: info?.identity }, 'watchdog armed');
    this.petting = true;
    this.startLoop();
    this.onChange();
  }

  /** Magic close (a nowayout device stays open and keeps being petted while `mayPet`). Call only after a verified unmount. */
  disarm(why: string): void {
    if (this.device === null || !this.device.armed) return;
    const outcome = this.device.disarm();
    if (outcome === 'closed') {
      this.log.info({ why }, 'watchdog disarmed (magic close)');
      this.stopLoop();
    } else this.log.info({ why, outcome }, 'watchdog kept open (nowayout)');
    if (this.device.lastError !== null) this.log.error({ err: errorLine(this.device.lastError) }, 'watchdog magic close may have failed: the node may reset');
    this.onChange();
  }

  /** One round of the loop (exposed for tests): pets if allowed, logs when petting stops or resumes. */
  tick(): void {
    const device = this.device;
    if (device === null || !device.armed) return;
    const allowed = this.mayPet();
    if (allowed) {
      if (!this.petting) this.log.warn('watchdog petted again');
      if (!device.pet()) this.log.error({ err: errorLine(device.lastError) }, 'watchdog keepalive failed');
    } else if (this.petting) {
      const last = device.lastPetMs;
      this.log.error(
        { timeout_ms: this.config?.timeoutMs, since_last_pet_ms: last === null ? null : Math.round(monoNow() - last) },
        'watchdog NO LONGER PETTED: the right to write ended under a mounted disk; the node resets unless the self-fence verifies the unmount first',
      );
    }
    if (allowed !== this.petting) {
      this.petting = allowed;
      this.onChange();
    }
  }

  private startLoop(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.tick(), this.petIntervalMs);
  }

  private stopLoop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Stops the loop without closing the device (the daemon exiting: a kernel watchdog keeps counting). */
  stop(): void {
    this.stopLoop();
  }
}
