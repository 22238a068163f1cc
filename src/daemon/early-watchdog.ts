// The watchdog opened first thing by a daemon that starts on a node whose previous daemon left it
// armed (crashed, SIGKILLed, or restarted by systemd with the disk in use): run from the entry
// (src/cli.ts, dist/cli.cjs) before the full CLI is loaded, because the kernel keeps counting from
// the previous daemon's last keepalive and the node resets `fence.watchdog.timeoutMs` after it. On
// a loaded machine (one vCPU, mariadb starting) loading the full CLI and reaching the daemon's own
// arm() took longer than softdog's 8 s (measured in the two-VM lab, issue 8).
//
// What it does is what the daemon's start-up would do a few seconds later, no more: open the device
// (an open is a keepalive) and keep petting it until the daemon adopts it (WatchdogKeeper.adopt) —
// but only while the node cannot be writing without the right to (DESIGN §5), judged from what
// the previous daemon published:
// - it held a lease tenure (lease-tenure.json of this boot): until that tenure's right to write
//   ends (rightEndsAtMs = t_g + S − M − W). Past it, the device is left alone: opening it would
//   give the node W more against a peer that may take over at t_g + S + M; the kernel keeps
//   counting from the previous daemon's last keepalive and the node resets unless the new daemon
//   has the fence back first (fence/lockfile.ts: a continued tenure).
// - it held none: only when the shared filesystem is gone from this kernel (src/probes/superblock.ts;
//   then nothing can be written and the daemon magic-closes the device once it has looked itself).
// A daemon that dies before adopting the device closes it without the magic character, and the
// node resets as it would have.
//
// Only when the state file was written on this boot and says the watchdog is armed, the fence is
// the lockfile method with a watchdog, and the configuration loads. Never throws: any failure is
// recorded for the daemon to log, and the daemon's own start-up decides as before.
import { bootId } from '../proc.ts';
import { configPathFrom, loadConfig } from '../config/load.ts';
import type { Config } from '../config/types.ts';
import { readState } from '../state.ts';
import { readTenureFile } from '../../fence/lease/tenure-file.ts';
import { filesystemHere } from '../probes/superblock.ts';
import { monoNow } from '../clock.ts';
import { errorLine } from '../errors.ts';
import { Watchdog } from '../watchdog/device.ts';
import { startEarlyPetter, type EarlyPetter } from './early-petter.ts';

/**
 * Where the entry leaves what it did, for the daemon: a global, because dist/cli.cjs and
 * dist/full.mjs are separate bundles with separate copies of every module.
 */
export const EARLY_WATCHDOG = Symbol.for('fence-agent.early-watchdog');

/** The handover between the entry and the daemon. */
export interface EarlyWatchdog {
  /** the device path opened (compared with the daemon's configuration before adopting) */
  device: string;
  /** the open device (a Watchdog of the entry's bundle; the daemon uses it through the same interface), null if not opened */
  watchdog: Watchdog | null;
  /** monotonic ms when the entry started and when the device was opened (null if not) */
  startedMono: number;
  openedMono: number | null;
  /** why it was not opened (a line for the daemon's log), or null */
  skipped: string | null;
  /** monotonic ms until which the entry pets the open device (the inherited right's end; Infinity with the filesystem gone), or null */
  petUntilMono: number | null;
  /** ends the entry's keepalives (the daemon's keeper takes over); returns once none can follow; idempotent */
  stop: () => void;
  /** pid of the child shell writing the entry's keepalives (./early-petter.ts), or null */
  petterPid: number | null;
}

/**
 * Until when the entry may pet a device the previous daemon left armed (monotonic ms), or why not
 * at all. See the file's header. Reads runDir's tenure file, /sys and /proc; never throws.
 */
export function earlyPetUntil(config: Config, nowMono: number = monoNow()): { untilMono: number } | { refused: string } {
  const published = readTenureFile(config.runDir, bootId());
  const tenure = published?.tenure;
  if (published !== null && published.pid !== process.pid && tenure) {
    const leftMs = Math.round(tenure.rightEndsAtMs - nowMono);
    return leftMs >= 0 ? { untilMono: tenure.rightEndsAtMs } : { refused: `the previous daemon's right to write ended ${-leftMs} ms ago (opening the device is a keepalive)` };
  }
  const presence = filesystemHere(config.disk.device, config.disk.fstype);
  if (presence.unseen) return { refused: `the previous daemon held no lease tenure and its device cannot be looked at (${presence.evidence})` };
  return presence.active ? { refused: `the previous daemon held no lease tenure and the filesystem is in use (${presence.evidence})` } : { untilMono: Infinity };
}

/** The `--config` value of `daemon` arguments (`--config PATH` or `--config=PATH`), or undefined. */
export function configFlag(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--config') return args[i + 1];
    if (arg.startsWith('--config=')) return arg.slice('--config='.length);
  }
  return undefined;
}

/**
 * Opens the watchdog when the previous daemon of this boot left it armed (see the file's header)
 * and publishes the result under {@link EARLY_WATCHDOG}. Returns what it published.
 */
export function openWatchdogEarly(args: readonly string[], env: NodeJS.ProcessEnv = process.env): EarlyWatchdog {
  const startedMono = monoNow();
  let petter: EarlyPetter | null = null;
  const stop = (): void => {
    petter?.stop();
  };
  const result: EarlyWatchdog = { device: '', watchdog: null, startedMono, openedMono: null, skipped: null, petUntilMono: null, stop, petterPid: null };
  try {
    const config = loadConfig(configPathFrom(configFlag(args), env));
    const watchdog = config.fence.method === 'lockfile' ? config.fence.watchdog : null;
    if (watchdog === null) result.skipped = 'no watchdog configured';
    else {
      result.device = watchdog.device;
      const state = readState(config.stateDir);
      if (state === null || state.bootId !== bootId()) result.skipped = 'no state file from this boot';
      else if (state.watchdog?.armed !== true) result.skipped = 'the previous daemon left the watchdog disarmed';
      else {
        const may = earlyPetUntil(config);
        if ('refused' in may) result.skipped = may.refused;
        else {
          const device = new Watchdog(watchdog);
          device.arm();
          result.watchdog = device;
          result.openedMono = monoNow();
          result.petUntilMono = may.untilMono;
          // as the daemon's keeper does: a quarter of the timeout, at most once a second; from a
          // child shell, as loading the daemon blocks this thread (./early-petter.ts)
          const intervalMs = Math.max(100, Math.min(1000, Math.floor(watchdog.timeoutMs / 4)));
          try {
            petter = startEarlyPetter(device.descriptor as number, intervalMs, may.untilMono);
            result.petterPid = petter.pid ?? null;
          } catch (error) {
            result.skipped = `keepalives until the daemon loads not started (${errorLine(error)}): the device was petted once`;
          }
        }
      }
    }
  } catch (error) {
    result.skipped = `early open failed: ${errorLine(error)}`;
  }
  (globalThis as Record<symbol, unknown>)[EARLY_WATCHDOG] = result;
  return result;
}

/** What the entry published, taken once (a second call gets null). */
export function takeEarlyWatchdog(): EarlyWatchdog | null {
  const store = globalThis as Record<symbol, unknown>;
  const early = (store[EARLY_WATCHDOG] as EarlyWatchdog | undefined) ?? null;
  delete store[EARLY_WATCHDOG];
  return early;
}
