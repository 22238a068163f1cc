// Client side of the control socket (used by `notify` and `status`). node:net only: `notify`
// must hand its request over in a few milliseconds.
import { connect } from 'node:net';
import type { ControlRequest, ControlResponse } from './protocol.ts';

/**
 * Sends one request and resolves with the daemon's answer. Rejects with the socket error
 * (`ENOENT`/`ECONNREFUSED` = no daemon) or `ETIMEDOUT` after `timeoutMs`.
 */
export function request(socketPath: string, message: ControlRequest, timeoutMs: number): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let buffer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`no answer from ${socketPath} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(message)}\n`));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const newline = buffer.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      socket.destroy();
      try {
        resolve(JSON.parse(buffer.slice(0, newline)) as ControlResponse);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`${socketPath} closed without an answer`), { code: 'ECONNRESET' }));
    });
  });
}
