// Server side of the control socket (the daemon).
import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { controlSocketPath, type ControlRequest, type ControlResponse } from './protocol.ts';

const MAX_REQUEST_BYTES = 64 * 1024;

/**
 * Listens on `<runDir>/control.sock` (runDir created 0700, socket chmod 0600). The caller must
 * hold the daemon lock: a stale socket file is removed before listening.
 */
export async function listenControl(runDir: string, handle: (request: ControlRequest) => ControlResponse | Promise<ControlResponse>): Promise<Server> {
  await mkdir(runDir, { recursive: true, mode: 0o700 });
  await chmod(runDir, 0o700);
  const socketPath = controlSocketPath(runDir);
  await rm(socketPath, { force: true });
  const server = createServer((socket) => {
    let buffer = '';
    let answered = false;
    socket.setEncoding('utf8');
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('error', () => undefined);
    socket.on('data', (chunk: string) => {
      if (answered) return; // one request per connection: the first line
      buffer += chunk;
      if (buffer.length > MAX_REQUEST_BYTES) {
        socket.destroy();
        return;
      }
      const newline = buffer.indexOf('\n');
      if (newline < 0) return;
      answered = true;
      const line = buffer.slice(0, newline);
      // a handler may answer later (the daemon's rejoin looks at the kernel first)
      void (async (): Promise<ControlResponse> => {
        try {
          return await handle(JSON.parse(line) as ControlRequest);
        } catch (error) {
          return { ok: false, error: (error as Error).message };
        }
      })().then((response) => socket.end(`${JSON.stringify(response)}\n`));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(socketPath, 0o600);
  return server;
}
