import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { askDaemon, request } from '../../../src/control/client.ts';
import { ExitCode } from '../../../src/errors.ts';
import { controlSocketPath, type ControlRequest, type ControlResponse, type DaemonStatus } from '../../../src/control/protocol.ts';
import { listenControl } from '../../../src/control/server.ts';
import { scratchDir } from '../../helpers/scratch.ts';

const { dir, fresh } = scratchDir('ctl');
const servers: Server[] = [];
/** Server-side connections of the test's own fake servers, destroyed in after(). */
const connections = new Set<Socket>();
/** A fresh, not yet existing run directory. */
const freshRunDir = (): string => fresh('run');

const closeServer = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.close(() => resolve());
  });

after(async () => {
  for (const socket of connections) socket.destroy();
  await Promise.all(servers.map(closeServer));
});

const status: DaemonStatus = {
  pid: 4321,
  startedAt: '2024-11-22T09:00:00.000Z',
  startingUp: false,
  busy: false,
  queue: [],
  transition: null,
  role: 'BACKUP',
  notifyFifo: null,
};

/** A handler that records requests and answers like the daemon. */
const recordingHandler = (received: ControlRequest[]) => (req: ControlRequest): ControlResponse => {
  received.push(req);
  return req.op === 'status' ? { ok: true, op: 'status', status } : { ok: true, op: 'desire', queued: received.length };
};

const listen = async (runDir: string, handle: (req: ControlRequest) => ControlResponse): Promise<Server> => {
  const server = await listenControl(runDir, handle);
  servers.push(server);
  return server;
};

describe('control server and client', () => {
  it('listenControl answers a status request sent with request()', async () => {
    const runDir = freshRunDir();
    const received: ControlRequest[] = [];
    await listen(runDir, recordingHandler(received));
    const response = await request(controlSocketPath(runDir), { op: 'status' }, 2000);
    assert.deepEqual(response, { ok: true, op: 'status', status });
    assert.deepEqual(received, [{ op: 'status' }]);
  });

  it('listenControl hands a desire over to its handler intact', async () => {
    const runDir = freshRunDir();
    const received: ControlRequest[] = [];
    await listen(runDir, recordingHandler(received));
    const desire = { vrrpState: 'MASTER' as const, source: 'notify', issuedAt: 1732266000123.5, detail: 'INSTANCE VI_1 100' };
    assert.deepEqual(await request(controlSocketPath(runDir), { op: 'desire', desire }, 2000), { ok: true, op: 'desire', queued: 1 });
    assert.deepEqual(await request(controlSocketPath(runDir), { op: 'desire', desire }, 2000), { ok: true, op: 'desire', queued: 2 });
    assert.deepEqual(received, [
      { op: 'desire', desire },
      { op: 'desire', desire },
    ]);
  });

  it('listenControl creates the socket with mode 0600 in a run directory with mode 0700', async () => {
    const runDir = freshRunDir();
    await listen(runDir, recordingHandler([]));
    const socket = statSync(controlSocketPath(runDir));
    assert.ok(socket.isSocket());
    assert.equal(socket.mode & 0o777, 0o600);
    assert.equal(statSync(runDir).mode & 0o777, 0o700);
    assert.equal(controlSocketPath(runDir), path.join(runDir, 'control.sock'));
  });

  it('listenControl tightens an existing run directory to mode 0700', async () => {
    const runDir = freshRunDir();
    mkdirSync(runDir);
    chmodSync(runDir, 0o755);
    await listen(runDir, recordingHandler([]));
    assert.equal(statSync(runDir).mode & 0o777, 0o700);
  });

  it('listenControl replaces a stale socket file left by a dead daemon', async () => {
    const runDir = freshRunDir();
    mkdirSync(runDir, { mode: 0o700 });
    writeFileSync(controlSocketPath(runDir), 'stale');
    await listen(runDir, recordingHandler([]));
    assert.ok(statSync(controlSocketPath(runDir)).isSocket());
    assert.equal((await request(controlSocketPath(runDir), { op: 'status' }, 2000)).ok, true);
  });

  it('listenControl answers ok false with the message when the handler throws', async () => {
    const runDir = freshRunDir();
    await listen(runDir, () => {
      throw new Error('queue closed');
    });
    assert.deepEqual(await request(controlSocketPath(runDir), { op: 'status' }, 2000), { ok: false, error: 'queue closed' });
  });

  it('listenControl answers ok false to a line that is not JSON', async () => {
    const runDir = freshRunDir();
    const received: ControlRequest[] = [];
    await listen(runDir, recordingHandler(received));
    const { connect } = await import('node:net');
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(controlSocketPath(runDir));
      let buffer = '';
      socket.setEncoding('utf8');
      socket.on('connect', () => socket.write('not json\n'));
      socket.on('data', (chunk: string) => (buffer += chunk));
      socket.on('end', () => resolve(buffer));
      socket.on('error', reject);
    });
    const parsed = JSON.parse(answer) as ControlResponse;
    assert.equal(parsed.ok, false);
    assert.equal(received.length, 0);
  });

  it('request() to a missing socket rejects with code ENOENT', async () => {
    const socketPath = path.join(dir, 'no-daemon', 'control.sock');
    assert.equal(existsSync(socketPath), false);
    await assert.rejects(request(socketPath, { op: 'status' }, 2000), { code: 'ENOENT' });
  });

  it('request() to a server that never answers rejects with code ETIMEDOUT after its timeout', async () => {
    const socketPath = path.join(dir, 'silent.sock');
    const silent = createServer((socket) => connections.add(socket)); // accepts, reads nothing, answers nothing
    servers.push(silent);
    await new Promise<void>((resolve) => silent.listen(socketPath, resolve));
    const started = Date.now();
    await assert.rejects(request(socketPath, { op: 'status' }, 150), (error: unknown) => {
      assert.equal((error as NodeJS.ErrnoException).code, 'ETIMEDOUT');
      assert.match((error as Error).message, /no answer from .*silent\.sock within 150 ms/);
      return true;
    });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 140 && elapsed < 2000, `rejected after the timeout (${elapsed} ms)`);
  });

  it('request() rejects with ECONNRESET when the server closes without answering', async () => {
    const socketPath = path.join(dir, 'hangup.sock');
    const hangup = createServer((socket) => {
      connections.add(socket);
      socket.end();
    });
    servers.push(hangup);
    await new Promise<void>((resolve) => hangup.listen(socketPath, resolve));
    await assert.rejects(request(socketPath, { op: 'status' }, 2000), { code: 'ECONNRESET' });
  });

  it('askDaemon returns the answer of the kind asked for', async () => {
    const runDir = freshRunDir();
    await listen(runDir, recordingHandler([]));
    assert.deepEqual(await askDaemon(runDir, { op: 'status' }, 2000), { ok: true, op: 'status', status });
  });

  it('askDaemon with no daemon throws ENODAEMON, exit 1, "no daemon is running on this node"', async () => {
    await assert.rejects(askDaemon(freshRunDir(), { op: 'rejoin' }, 2000), { code: 'ENODAEMON', exitCode: ExitCode.FAILURE, message: 'no daemon is running on this node' });
  });

  it('askDaemon throws EDAEMONREFUSED with the daemon\'s own message when it answers an error', async () => {
    const runDir = freshRunDir();
    await listen(runDir, () => ({ ok: false, error: 'switchover refused: this node is BACKUP' }));
    await assert.rejects(askDaemon(runDir, { op: 'switchover', timeoutMs: 5000 }, 2000), { code: 'EDAEMONREFUSED', message: 'switchover refused: this node is BACKUP' });
  });

  it('askDaemon throws EDAEMONSILENT when the answer is of another kind', async () => {
    const runDir = freshRunDir();
    await listen(runDir, recordingHandler([])); // answers desire to anything but status
    await assert.rejects(askDaemon(runDir, { op: 'rejoin' }, 2000), { code: 'EDAEMONSILENT', message: 'the daemon answered desire to rejoin' });
  });

  it('askDaemon throws EDAEMONSILENT naming the bound when the daemon never answers, and says it may still act', async () => {
    const runDir = freshRunDir();
    mkdirSync(runDir, { recursive: true });
    const silent = createServer((socket) => connections.add(socket));
    servers.push(silent);
    await new Promise<void>((resolve) => silent.listen(controlSocketPath(runDir), resolve));
    await assert.rejects(askDaemon(runDir, { op: 'status' }, 200), { code: 'EDAEMONSILENT', message: /^the daemon did not answer \(no answer from .* within 200 ms \(ETIMEDOUT\)\); it may still act on the request: see fence-agent status$/ });
  });
});
