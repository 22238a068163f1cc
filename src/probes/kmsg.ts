// The kernel's own words on a failure: the last lines of the kernel log (/dev/kmsg, kernel
// Documentation/ABI/testing/dev-kmsg) that mention a device. mount(8) says only "dmesg(1) may have
// more information"; the reason — "MMP: fsck being run", "Device is already active on another
// node", a reservation conflict — is in the kernel log. Read only on a failure path: no process
// spawned, reads until the ring buffer's end (EAGAIN on a non-blocking descriptor).
import { closeSync, constants, openSync, readSync } from 'node:fs';

/** One record of /dev/kmsg: `prio,seq,usec,flags;message` → the message, or null for a continuation line. */
export function kmsgMessage(record: string): string | null {
  const semi = record.indexOf(';');
  if (semi < 0) return null;
  return record.slice(semi + 1).split('\n')[0] ?? '';
}

/**
 * The last `max` kernel log messages containing `needle` (e.g. `sdb1`), oldest first. Never
 * throws: an unreadable log (not root, no /dev/kmsg) gives [].
 * @param file the log device (tests pass another)
 */
export function kernelLines(needle: string, max = 3, file = '/dev/kmsg'): string[] {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return [];
  }
  const found: string[] = [];
  const buffer = Buffer.alloc(8192);
  try {
    for (let records = 0; records < 100_000; records++) {
      let n: number;
      try {
        n = readSync(fd, buffer, 0, buffer.length, null);
      } catch (error) {
        // EPIPE: records overwritten while reading (the next read goes on); EAGAIN: the end
        if ((error as NodeJS.ErrnoException).code === 'EPIPE') continue;
        break;
      }
      if (n <= 0) break;
      const message = kmsgMessage(buffer.toString('utf8', 0, n));
      if (message !== null && message.includes(needle)) {
        found.push(message);
        if (found.length > max) found.shift();
      }
    }
  } finally {
    closeSync(fd);
  }
  return found;
}
