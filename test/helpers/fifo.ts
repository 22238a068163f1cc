// FIFOs standing in for a watchdog device in tests: the test holds the read end, as the simulated
// watchdog's supervisor (lab/watchdog.ts) would, and reads what the writer wrote.
import { execFileSync } from 'node:child_process';
import { constants, openSync, readSync } from 'node:fs';

/** Creates a FIFO at `file` (mode 0600) and returns its path. */
export function makeFifo(file: string): string {
  execFileSync('mkfifo', ['-m', '0600', file]);
  return file;
}

/** Opens the FIFO's read end O_RDONLY|O_NONBLOCK (the caller closes it). */
export const openFifoReader = (file: string): number => openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);

/** Everything readable now; `eof` when no writer is connected any more. */
export function drainFifo(fd: number): { data: string; eof: boolean } {
  const buffer = Buffer.alloc(4096);
  let data = '';
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buffer, 0, buffer.length, null);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return { data, eof: false };
      throw error;
    }
    if (n === 0) return { data, eof: true };
    data += buffer.toString('latin1', 0, n);
  }
}
