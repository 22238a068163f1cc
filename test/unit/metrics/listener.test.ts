// The optional listener: on exactly the configured address, GET /metrics with the Prometheus text
// content type, nothing else served.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startMetricsListener, type MetricsListener } from '../../../src/metrics/listener.ts';

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const listeners: MetricsListener[] = [];
after(async () => {
  await Promise.all(listeners.map((l) => l.close()));
});

const listen = async (host: string, port = 0, text = 'fence_agent_healthy 1\n'): Promise<MetricsListener> => {
  const listener = await startMetricsListener({ host, port, render: () => Promise.resolve({ text, contentType: CONTENT_TYPE }) });
  listeners.push(listener);
  return listener;
};

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const fetchFrom = (host: string, port: number, urlPath: string, method = 'GET'): Promise<Reply> =>
  new Promise((resolve, reject) => {
    const req = request({ host, port, path: urlPath, method, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });

describe('metrics listener', () => {
  it('serves GET /metrics as text/plain; version=0.0.4', async () => {
    const { address } = await listen('127.0.0.1');
    const reply = await fetchFrom('127.0.0.1', address.port, '/metrics');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], CONTENT_TYPE);
    assert.equal(reply.body, 'fence_agent_healthy 1\n');
    const withQuery = await fetchFrom('127.0.0.1', address.port, '/metrics?x=1');
    assert.equal(withQuery.status, 200);
    const head = await fetchFrom('127.0.0.1', address.port, '/metrics', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  it('serves nothing else: 404 for another path, 405 for another method', async () => {
    const { address } = await listen('127.0.0.1');
    assert.equal((await fetchFrom('127.0.0.1', address.port, '/')).status, 404);
    assert.equal((await fetchFrom('127.0.0.1', address.port, '/metricsx')).status, 404);
    const post = await fetchFrom('127.0.0.1', address.port, '/metrics', 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  });

  it('binds only the configured address: another loopback address on the same port is refused', async () => {
    const { address } = await listen('127.0.0.2');
    assert.equal((await fetchFrom('127.0.0.2', address.port, '/metrics')).status, 200);
    await assert.rejects(fetchFrom('127.0.0.1', address.port, '/metrics'), (error: NodeJS.ErrnoException) => error.code === 'ECONNREFUSED');
  });

  it('a render that fails is a 500 with one line', async () => {
    const listener = await startMetricsListener({ host: '127.0.0.1', port: 0, render: () => Promise.reject(new Error('boom')) });
    listeners.push(listener);
    const reply = await fetchFrom('127.0.0.1', listener.address.port, '/metrics');
    assert.equal(reply.status, 500);
    assert.match(reply.body, /^metrics could not be rendered: boom\n$/);
  });

  it('a port in use or an address this host lacks rejects with the listen error', async () => {
    const { address } = await listen('127.0.0.1');
    await assert.rejects(startMetricsListener({ host: '127.0.0.1', port: address.port, render: () => Promise.resolve({ text: '', contentType: CONTENT_TYPE }) }), (error: NodeJS.ErrnoException) => error.code === 'EADDRINUSE');
    await assert.rejects(startMetricsListener({ host: '192.0.2.1', port: 0, render: () => Promise.resolve({ text: '', contentType: CONTENT_TYPE }) }), (error: NodeJS.ErrnoException) => error.code === 'EADDRNOTAVAIL');
  });

  it('close() stops listening', async () => {
    const listener = await startMetricsListener({ host: '127.0.0.1', port: 0, render: () => Promise.resolve({ text: '', contentType: CONTENT_TYPE }) });
    await listener.close();
    await assert.rejects(fetchFrom('127.0.0.1', listener.address.port, '/metrics'), (error: NodeJS.ErrnoException) => error.code === 'ECONNREFUSED');
  });
});
