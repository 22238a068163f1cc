// The agent's one clock for ages and deadlines: CLOCK_MONOTONIC (libuv's uv_hrtime behind
// process.hrtime), in milliseconds. It never jumps with NTP or an operator's `date -s`, and it is
// the same clock in every process on one boot, so a time one process records (the daemon's last
// good lease refresh) can be compared by another (`check`) — as long as both ran on the same boot:
// records carrying a monotonic time also carry the boot id (src/proc.ts bootId()).
//
// Wall-clock time (Date) is for humans only: log lines, `startedAt` ISO strings in the state file.

/** Milliseconds on CLOCK_MONOTONIC (fractional). Comparable across processes of one boot. */
export const monoNow = (): number => Number(process.hrtime.bigint()) / 1e6;
