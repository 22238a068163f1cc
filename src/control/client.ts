// Client side of the control socket (`notify`, and the operator commands through askDaemon). node:net only: `notify`
// must hand its request over in a few milliseconds.
import { connect } from 'node:net';
import { FenceAgentError, errorLine } from '../errors.ts';
import { controlSocketPath, type ControlRequest, type ControlResponse } from './protocol.ts';

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

/**
 * How long an operator command (`maintenance`, `switchover`, `rejoin`) waits for the daemon's
 * answer, ms: no hurry there, and a daemon busy with a self-fence on a slow machine answered a
 * `maintenance off` after more than 1 s (VM lab, TCG) — having applied it.
 */
export const OPERATOR_ANSWER_MS = 10_000;

/** The daemon's successful answer to a request of kind `Op`. */
export type DaemonAnswer<Op extends ControlRequest['op']> = Extract<ControlResponse, { ok: true; op: Op }>;

/**
 * Asks this node's daemon (`<runDir>/control.sock`) and returns its answer, for the operator
 * commands (`switchover`, `maintenance`, `rejoin`, `status`, `fence clear`).
 * @param timeoutMs how long to wait for the answer, ms
 * @throws FenceAgentError, exit 1: `ENODAEMON` (nothing listens: ENOENT/ECONNREFUSED),
 *   `EDAEMONSILENT` (no answer within `timeoutMs`, the connection closed, or an answer of another
 *   kind), `EDAEMONREFUSED` (the daemon answered with an error; the message is its own)
 */
export async function askDaemon<Op extends ControlRequest['op']>(runDir: string, message: Extract<ControlRequest, { op: Op }>, timeoutMs: number): Promise<DaemonAnswer<Op>> {
  let response: ControlResponse;
  try {
    response = await request(controlSocketPath(runDir), message, timeoutMs);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ECONNREFUSED') throw new FenceAgentError('ENODAEMON', 'no daemon is running on this node', { cause: error });
    // a late answer is not a refusal: the daemon may have acted on the request
    const late = code === 'ETIMEDOUT' ? '; it may still act on the request: see fence-agent status' : '';
    throw new FenceAgentError('EDAEMONSILENT', `the daemon did not answer (${errorLine(error)})${late}`, { cause: error });
  }
  if (!response.ok) throw new FenceAgentError('EDAEMONREFUSED', response.error);
  if (response.op !== message.op) throw new FenceAgentError('EDAEMONSILENT', `the daemon answered ${response.op} to ${message.op}`);
  return response as DaemonAnswer<Op>;
}
