// The optional HTTP listener (`metrics.listen`): `GET /metrics` on exactly the configured address
// (loopback in the examples; off by default, so no port is opened). Anything else is 404 (405 for
// a method other than GET or HEAD). Plain node:http, one render per request.
import { createServer, type Server } from 'node:http';
import { errorLine } from '../errors.ts';

export interface MetricsListenerOptions {
  host: string;
  port: number;
  /** the exposition text and its content type (`text/plain; version=0.0.4; charset=utf-8`) */
  render: () => Promise<{ text: string; contentType: string }>;
}

export interface MetricsListener {
  /** where it listens (the port the kernel chose when `port` was 0: tests) */
  address: { host: string; port: number };
  close(): Promise<void>;
}

/**
 * Listens on `host:port`.
 * @throws the listen error (EADDRINUSE, EADDRNOTAVAIL for an address this host does not have, EACCES)
 */
export async function startMetricsListener(options: MetricsListenerOptions): Promise<MetricsListener> {
  const server: Server = createServer((request, response) => {
    const url = (request.url ?? '/').split('?')[0];
    if (url !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: the metrics are at /metrics\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    options.render().then(
      ({ text, contentType }) => {
        response.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`metrics could not be rendered: ${errorLine(error)}\n`);
      },
    );
  });
  // a scrape must not hold a connection open for long: the daemon has better things to do
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host, port: options.port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : options.port;
  return {
    address: { host: options.host, port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
