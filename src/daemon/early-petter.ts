// Keepalives from a child shell while the entry loads the daemon (./early-watchdog.ts). The main
// thread cannot write them: loading dist/full.mjs compiles and evaluates in one block that took
// ~6 s on one emulated vCPU (two-VM lab, measured: the entry's setInterval never ran), and a worker
// thread boots a whole Node environment first (it had not written its first keepalive 2.8 s after
// its start there). `/bin/sh` starts in milliseconds and the kernel schedules it beside the busy
// main thread.
//
// The child writes one keepalive byte to its stdout — the descriptor the entry opened — every
// `intervalMs`, and only while /proc/uptime is at most `untilMono` less `marginMs` (converted to
// that clock at spawn: CLOCK_BOOTTIME runs with CLOCK_MONOTONIC and only ever gets ahead, across a
// suspend, so the child stops early, never late). `stop()` SIGKILLs it and returns once it is gone
// (its descriptors are closed when it exits), at most `STOP_WAIT_MS` later.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { monoNow } from '../clock.ts';

/** How long stop() waits for the child to be gone, ms. */
const STOP_WAIT_MS = 500;

/** The loop: $1 = the last /proc/uptime (centiseconds) a keepalive may start at, $2 = the interval (s). */
const LOOP = [
  'end=$1',
  'while :; do',
  '  read up rest < /proc/uptime',
  '  now=${up%.*}${up#*.}',
  '  [ "$now" -le "$end" ] || exit 0',
  '  printf . || exit 0',
  '  sleep "$2"',
  'done',
].join('\n');

export interface EarlyPetter {
  /** the child's pid */
  pid: number | undefined;
  /** no keepalive from the child after this returns (it is SIGKILLed and gone); idempotent */
  stop(): void;
}

const uptimeCentis = (): number => {
  const [seconds] = readFileSync('/proc/uptime', 'utf8').split(' ');
  return Math.floor(Number(seconds) * 100);
};

/** 'gone' once /proc says the process has exited (or was reaped): its descriptors are closed by then. */
const exited = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
};

/**
 * Starts the keepalive child on `fd` (unref'd: it never keeps the process alive). It writes its
 * first keepalive at once.
 * @param intervalMs between keepalives, ms (whole seconds or a fraction: `sleep` takes both)
 * @param untilMono no keepalive starts after this monotonic time (ms) less `marginMs`
 * @param marginMs how long before `untilMono` the child stops, for the time between its clock read and its write
 * @throws what `spawn` throws (the caller then pets once and relies on the daemon)
 */
export function startEarlyPetter(fd: number, intervalMs: number, untilMono: number, marginMs = 500): EarlyPetter {
  const leftMs = untilMono - marginMs - monoNow();
  const endCentis = Number.isFinite(leftMs) ? uptimeCentis() + Math.floor(leftMs / 10) : Number.MAX_SAFE_INTEGER;
  const child = spawn('/bin/sh', ['-c', LOOP, 'fence-agent-early-petter', String(endCentis), (intervalMs / 1000).toFixed(3)], { stdio: ['ignore', fd, 'ignore'], detached: false });
  child.on('error', () => undefined); // a failed child only means fewer keepalives
  child.unref();
  let stopped = false;
  return {
    pid: child.pid,
    stop(): void {
      if (stopped) return;
      stopped = true;
      const pid = child.pid;
      if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return; // gone already
      }
      const nap = new Int32Array(new SharedArrayBuffer(4));
      const deadline = monoNow() + STOP_WAIT_MS;
      while (!exited(pid) && monoNow() < deadline) Atomics.wait(nap, 0, 0, 5);
    },
  };
}
