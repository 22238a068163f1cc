// Reads keepalived's notify_fifo (keepalived.conf(5) `notify_fifo`), the one channel on which
// keepalived delivers state changes in order. The FIFO is opened O_RDWR|O_NONBLOCK: opening never
// blocks waiting for a writer, and we never see EOF when keepalived restarts. If keepalived
// re-creates the FIFO (a new inode), we re-open it.
import { constants, mkdirSync, openSync, statSync } from 'node:fs';
import path from 'node:path';
import { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { runOk } from '../run.ts';
import type { Logger } from '../log.ts';
import { isForInstance, parseFifoLine } from '../keepalived.ts';
import { orderNow } from '../desire-order.ts';
import type { Desire } from '../state.ts';

export interface FifoReader {
  close(): void;
}

const REOPEN_CHECK_MS = 2000;

/**
 * Starts reading `fifoPath` (created 0600 with mkfifo(1) if missing, its directory 0755 if
 * missing) and calls `onDesire` for each state change of `instance` (every instance when null).
 * Lines that are not VRRP state changes are ignored. A FIFO that cannot be made or opened does not
 * fail the daemon (a missing directory crash-looped it into systemd's start limit, issue 11 §9): it
 * is logged and tried again every 2 s, and `notify` still delivers meanwhile.
 */
export async function readNotifyFifo(
  fifoPath: string,
  instance: string | null,
  log: Logger,
  onDesire: (desire: Desire) => void,
): Promise<FifoReader> {
  let inode = -1;
  let socket: Socket | null = null;
  const open = async (): Promise<void> => {
    try {
      statSync(fifoPath);
    } catch {
      mkdirSync(path.dirname(fifoPath), { recursive: true, mode: 0o755 });
      await runOk(['mkfifo', '-m', '0600', fifoPath], AbortSignal.timeout(5000));
    }
    const stat = statSync(fifoPath);
    if (!stat.isFIFO()) throw new Error(`${fifoPath} exists and is not a FIFO`);
    socket?.destroy();
    inode = stat.ino;
    const fd = openSync(fifoPath, constants.O_RDWR | constants.O_NONBLOCK);
    socket = new Socket({ fd, readable: true, writable: false });
    socket.on('error', (error) => log.warn({ err: error.message, fifo: fifoPath }, 'notify_fifo read error'));
    createInterface({ input: socket }).on('line', (line) => {
      const event = parseFifoLine(line);
      if (event === null || !isForInstance(event, instance)) return;
      onDesire({
        vrrpState: event.vrrpState,
        source: 'fifo',
        issuedAt: Date.now(),
        order: orderNow(),
        detail: `${event.type} ${event.name} priority ${event.priority}`,
      });
    });
    log.info({ fifo: fifoPath, inode }, 'reading notify_fifo');
  };
  // a failure is logged once until the FIFO opens again
  let failing = false;
  const tryOpen = (): Promise<void> =>
    open().then(
      () => {
        failing = false;
      },
      (error: Error) => {
        if (!failing) log.error({ err: error.message, fifo: fifoPath }, `cannot open notify_fifo ${fifoPath}: ${error.message}; trying again every ${REOPEN_CHECK_MS} ms (notify still delivers)`);
        failing = true;
      },
    );
  await tryOpen();
  const timer = setInterval(() => {
    let current: number;
    try {
      current = statSync(fifoPath).ino;
    } catch {
      // keepalived removed it: wait for it to come back. Never opened: make it now
      if (inode === -1) void tryOpen();
      return;
    }
    if (current !== inode) void tryOpen();
  }, REOPEN_CHECK_MS);
  timer.unref();
  return {
    close() {
      clearInterval(timer);
      socket?.destroy();
    },
  };
}
