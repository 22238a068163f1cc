// A minimal iSCSI initiator in userspace (RFC 7143), for the labs only: the "third initiator" that
// judges which node is able to write by reading the LU's persistent-reservation keys itself, from
// the host — not from either node's mountinfo, and not through either node's kernel (the host has
// no SCSI stack at all). One session, one connection, no digests, no authentication, error
// recovery level 0; commands one at a time. Enough for PERSISTENT RESERVE IN/OUT (SPC-4 §6.15,
// §6.16) against tgtd or LIO; it never reads or writes data blocks.
//
// Not the agent's path: the agent sends its PR commands through the node's own kernel initiator
// (sg_persist, fence/scsi-pr/sg-persist.ts), since that I_T nexus is the one whose writes the
// reservation admits or refuses.
import { Socket, connect } from 'node:net';
import { randomBytes } from 'node:crypto';

/** Basic header segment length (RFC 7143 §11.2.1). */
const BHS = 48;
const OP = {
  nopOut: 0x00,
  scsiCommand: 0x01,
  loginRequest: 0x03,
  logoutRequest: 0x06,
  nopIn: 0x20,
  scsiResponse: 0x21,
  loginResponse: 0x23,
  dataIn: 0x25,
  logoutResponse: 0x26,
  reject: 0x3f,
} as const;
const IMMEDIATE = 0x40;

/** SCSI status CHECK CONDITION and the sense key UNIT ATTENTION (SPC-4 §4.4). */
const CHECK_CONDITION = 0x02;
const UNIT_ATTENTION = 0x6;

export interface IscsiTarget {
  host: string;
  port: number;
  /** the target's IQN */
  target: string;
  /** this initiator's IQN (distinct from every node's: it is a third I_T nexus) */
  initiator: string;
  /** the logical unit number (default 1: tgtd's first data LU) */
  lun?: number;
  /** bound on the login and on each command, ms (default 5000) */
  timeoutMs?: number;
}

/** A SCSI command that ended with a status other than GOOD: the status and the sense, decoded. */
export class ScsiStatusError extends Error {
  constructor(
    readonly status: number,
    readonly senseKey: number | null,
    readonly asc: number | null,
    readonly ascq: number | null,
  ) {
    super(`SCSI status 0x${status.toString(16)}${senseKey === null ? '' : `, sense key 0x${senseKey.toString(16)} ASC/ASCQ 0x${(asc ?? 0).toString(16)}/0x${(ascq ?? 0).toString(16)}`}`);
    this.name = 'ScsiStatusError';
  }
}

interface Pdu {
  opcode: number;
  header: Buffer;
  data: Buffer;
}

const pad4 = (n: number): number => (n + 3) & ~3;

/** "key=value\0" pairs (RFC 7143 §6.1). */
const textKeys = (keys: Record<string, string>): Buffer => Buffer.from(Object.entries(keys).map(([k, v]) => `${k}=${v}\0`).join(''), 'utf8');
const parseKeys = (data: Buffer): Record<string, string> =>
  Object.fromEntries(
    data
      .toString('utf8')
      .split('\0')
      .filter((pair) => pair.includes('='))
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );

/** One logged-in session. Commands are sent one at a time (`command` queues them). */
export class IscsiSession {
  private buffered = Buffer.alloc(0);
  private waiting: { resolve: (pdu: Pdu) => void; reject: (error: Error) => void } | null = null;
  private queue: Pdu[] = [];
  private failure: Error | null = null;
  private itt = 1;
  private cmdSn = 1;
  private expStatSn = 0;
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly socket: Socket,
    private readonly options: Required<IscsiTarget>,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    const fail = (error: Error): void => {
      this.failure ??= error;
      this.waiting?.reject(this.failure);
      this.waiting = null;
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error(`iSCSI connection to ${options.host}:${options.port} closed`)));
  }

  /**
   * Connects and logs in (security stage with AuthMethod=None, then operational negotiation, then
   * full feature phase). @throws when the connection, the login or its bound fails
   */
  static async open(target: IscsiTarget): Promise<IscsiSession> {
    const options: Required<IscsiTarget> = { lun: 1, timeoutMs: 5000, ...target };
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: options.host, port: options.port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`iSCSI connect to ${options.host}:${options.port}: no answer within ${options.timeoutMs} ms`));
      }, options.timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    socket.setNoDelay(true);
    const session = new IscsiSession(socket, options);
    try {
      await session.login();
    } catch (error) {
      socket.destroy();
      throw error;
    }
    return session;
  }

  private receive(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= BHS) {
      const ahs = (this.buffered[4] ?? 0) * 4;
      const dataLength = this.buffered.readUIntBE(5, 3);
      const total = BHS + ahs + pad4(dataLength);
      if (this.buffered.length < total) return;
      const pdu = { opcode: (this.buffered[0] ?? 0) & 0x3f, header: this.buffered.subarray(0, BHS), data: this.buffered.subarray(BHS + ahs, BHS + ahs + dataLength) };
      this.buffered = this.buffered.subarray(total);
      if (pdu.opcode === OP.nopIn) {
        // a ping: answered when the target wants an answer (its TTT is not 0xffffffff, RFC 7143
        // §11.19), else LIO closes the connection after its nopin_response_timeout (15 s): the
        // key watch saw "connection closed" three times in one LIO scenario before this
        if (pdu.header.readUInt32BE(20) !== 0xffffffff) this.answerNopIn(pdu.header);
        continue;
      }
      if (this.waiting !== null) {
        const { resolve } = this.waiting;
        this.waiting = null;
        resolve(pdu);
      } else {
        this.queue.push(pdu);
      }
    }
  }

  private next(): Promise<Pdu> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        reject(new Error(`iSCSI: no answer from ${this.options.host}:${this.options.port} within ${this.options.timeoutMs} ms`));
      }, this.options.timeoutMs);
      this.waiting = {
        resolve: (pdu) => {
          clearTimeout(timer);
          resolve(pdu);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
  }

  /** The NOP-Out answering a target's NOP-In (RFC 7143 §11.18): immediate, ITT 0xffffffff, the ping's LUN and TTT. */
  private answerNopIn(nopIn: Buffer): void {
    const header = Buffer.alloc(BHS);
    header[0] = OP.nopOut | IMMEDIATE;
    header[1] = 0x80;
    nopIn.copy(header, 8, 8, 16); // LUN
    header.writeUInt32BE(0xffffffff, 16); // ITT: an answer, not a request
    nopIn.copy(header, 20, 20, 24); // TTT
    header.writeUInt32BE(this.cmdSn, 24); // immediate: CmdSN not advanced
    header.writeUInt32BE(this.expStatSn, 28);
    this.send(header);
  }

  private send(header: Buffer, data: Buffer = Buffer.alloc(0)): void {
    header.writeUIntBE(data.length, 5, 3);
    this.socket.write(Buffer.concat([header, data, Buffer.alloc(pad4(data.length) - data.length)]));
  }

  private async login(): Promise<void> {
    const isid = Buffer.concat([Buffer.from([0x80]), randomBytes(5)]); // type "random" (RFC 7143 §11.12.5)
    const itt = this.itt++;
    // stage 0 → 1 with the security keys, then 1 → 3 with the operational ones; a target that
    // answers without the transit bit gets the same stage again with no keys
    const stages: [number, number, Record<string, string>][] = [
      [0, 1, { InitiatorName: this.options.initiator, TargetName: this.options.target, SessionType: 'Normal', AuthMethod: 'None' }],
      [
        1,
        3,
        {
          HeaderDigest: 'None',
          DataDigest: 'None',
          ErrorRecoveryLevel: '0',
          InitialR2T: 'Yes',
          ImmediateData: 'Yes',
          MaxRecvDataSegmentLength: '65536',
          MaxBurstLength: '262144',
          FirstBurstLength: '65536',
          DefaultTime2Wait: '0',
          DefaultTime2Retain: '0',
          MaxOutstandingR2T: '1',
          DataPDUInOrder: 'Yes',
          DataSequenceInOrder: 'Yes',
          MaxConnections: '1',
        },
      ],
    ];
    for (const [csg, nsg, keys] of stages) {
      let payload = textKeys(keys);
      for (let round = 0; ; round++) {
        if (round > 8) throw new Error(`iSCSI login: stage ${csg} did not end after ${round} rounds`);
        const header = Buffer.alloc(BHS);
        header[0] = OP.loginRequest | IMMEDIATE;
        header[1] = 0x80 | (csg << 2) | nsg; // T, CSG, NSG
        isid.copy(header, 8);
        header.writeUInt32BE(itt, 16);
        header.writeUInt32BE(this.cmdSn, 24);
        header.writeUInt32BE(this.expStatSn, 28);
        this.send(header, payload);
        const answer = await this.next();
        if (answer.opcode !== OP.loginResponse) throw new Error(`iSCSI login: unexpected PDU opcode 0x${answer.opcode.toString(16)}`);
        const statusClass = answer.header[36] ?? 0;
        const statusDetail = answer.header[37] ?? 0;
        if (statusClass !== 0) throw new Error(`iSCSI login refused: status class 0x${statusClass.toString(16)} detail 0x${statusDetail.toString(16)} (${JSON.stringify(parseKeys(answer.data))})`);
        this.expStatSn = answer.header.readUInt32BE(24) + 1;
        const flags = answer.header[1] ?? 0;
        if ((flags & 0x80) !== 0 && (flags & 0x03) === nsg) break;
        payload = Buffer.alloc(0);
      }
    }
  }

  /**
   * Sends one SCSI command to the LU; resolves with the data in (empty for none). Commands run one
   * at a time in call order.
   * @throws ScsiStatusError for a status other than GOOD; an Error for a protocol failure or timeout
   */
  command(cdb: Buffer, io: { readLength?: number; write?: Buffer } = {}): Promise<Buffer> {
    const run = this.chain.then(() => this.runCommand(cdb, io));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async runCommand(cdb: Buffer, io: { readLength?: number; write?: Buffer }): Promise<Buffer> {
    const header = Buffer.alloc(BHS);
    const itt = this.itt++;
    header[0] = OP.scsiCommand;
    header[1] = 0x80 | (io.readLength ? 0x40 : 0) | (io.write ? 0x20 : 0) | 0x01; // F, R, W, ATTR simple
    header.writeUInt16BE(this.options.lun & 0x3fff, 8); // peripheral device addressing
    header.writeUInt32BE(itt, 16);
    header.writeUInt32BE(io.readLength ?? io.write?.length ?? 0, 20);
    header.writeUInt32BE(this.cmdSn++, 24);
    header.writeUInt32BE(this.expStatSn, 28);
    cdb.copy(header, 32);
    this.send(header, io.write); // immediate data (ImmediateData=Yes, within FirstBurstLength)
    const chunks: Buffer[] = [];
    for (;;) {
      const pdu = await this.next();
      if (pdu.opcode === OP.reject) throw new Error(`iSCSI: the target rejected the command (reason 0x${(pdu.header[2] ?? 0).toString(16)})`);
      if (pdu.header.readUInt32BE(16) !== itt) continue; // not ours (an unsolicited PDU)
      if (pdu.opcode === OP.dataIn) {
        chunks.push(Buffer.from(pdu.data));
        const flags = pdu.header[1] ?? 0;
        if ((flags & 0x01) !== 0) {
          this.expStatSn = pdu.header.readUInt32BE(24) + 1;
          const status = pdu.header[3] ?? 0;
          if (status !== 0) throw new ScsiStatusError(status, null, null, null);
          return Buffer.concat(chunks);
        }
        continue;
      }
      if (pdu.opcode === OP.scsiResponse) {
        this.expStatSn = pdu.header.readUInt32BE(24) + 1;
        if ((pdu.header[2] ?? 0) !== 0) throw new Error(`iSCSI: command not completed by the target (response 0x${(pdu.header[2] ?? 0).toString(16)})`);
        const status = pdu.header[3] ?? 0;
        if (status !== 0) {
          // sense data: 2-byte length, then fixed (0x70/0x71) or descriptor (0x72/0x73) format
          const sense = pdu.data.length >= 2 ? pdu.data.subarray(2, 2 + pdu.data.readUInt16BE(0)) : Buffer.alloc(0);
          const descriptor = ((sense[0] ?? 0) & 0x7f) >= 0x72;
          const key = sense.length === 0 ? null : (sense[descriptor ? 1 : 2] ?? 0) & 0x0f;
          const asc = sense.length === 0 ? null : (sense[descriptor ? 2 : 12] ?? 0);
          const ascq = sense.length === 0 ? null : (sense[descriptor ? 3 : 13] ?? 0);
          throw new ScsiStatusError(status, key, asc, ascq);
        }
        return Buffer.concat(chunks);
      }
      throw new Error(`iSCSI: unexpected PDU opcode 0x${pdu.opcode.toString(16)}`);
    }
  }

  /** Logs out (bounded) and closes the connection. Idempotent; never throws. */
  async close(): Promise<void> {
    if (this.failure === null && !this.socket.destroyed) {
      const header = Buffer.alloc(BHS);
      header[0] = OP.logoutRequest | IMMEDIATE;
      header[1] = 0x80; // close the session
      header.writeUInt32BE(this.itt++, 16);
      header.writeUInt32BE(this.cmdSn, 24);
      header.writeUInt32BE(this.expStatSn, 28);
      try {
        this.send(header);
        await this.next();
      } catch {
        // closing anyway
      }
    }
    this.socket.destroy();
  }
}

/** A PERSISTENT RESERVE IN's answer: READ KEYS. */
export interface PrKeysRead {
  generation: number;
  keys: bigint[];
}

/** PERSISTENT RESERVE IN / OUT over an {@link IscsiSession} (SPC-4 §6.15, §6.16). */
export const pr = {
  /** READ KEYS, retried through unit attentions (one per command after a reset or a new nexus). */
  async readKeys(session: IscsiSession): Promise<PrKeysRead> {
    const data = await throughUnitAttentions(() => session.command(prInCdb(0x00, 8192), { readLength: 8192 }));
    const length = data.readUInt32BE(4);
    const keys: bigint[] = [];
    for (let at = 8; at + 8 <= Math.min(data.length, 8 + length); at += 8) keys.push(data.readBigUInt64BE(at));
    return { generation: data.readUInt32BE(0), keys };
  },
  /** READ RESERVATION: the holder's key and the type, or null. */
  async readReservation(session: IscsiSession): Promise<{ key: bigint; type: number } | null> {
    const data = await throughUnitAttentions(() => session.command(prInCdb(0x01, 8192), { readLength: 8192 }));
    if (data.readUInt32BE(4) < 16) return null;
    return { key: data.readBigUInt64BE(8), type: (data[21] ?? 0) & 0x0f };
  },
  /**
   * PR OUT: `action` 0 REGISTER, 1 RESERVE, 2 RELEASE, 3 CLEAR, 4 PREEMPT, 5 PREEMPT AND ABORT,
   * 6 REGISTER AND IGNORE EXISTING KEY; `type` 5 = WERO.
   */
  async out(session: IscsiSession, action: number, params: { key?: bigint; serviceActionKey?: bigint; type?: number }): Promise<void> {
    const cdb = Buffer.alloc(16);
    cdb[0] = 0x5f;
    cdb[1] = action & 0x1f;
    cdb[2] = params.type ?? 0;
    cdb.writeUInt32BE(24, 5);
    const list = Buffer.alloc(24);
    list.writeBigUInt64BE(params.key ?? 0n, 0);
    list.writeBigUInt64BE(params.serviceActionKey ?? 0n, 8);
    await throughUnitAttentions(() => session.command(cdb.subarray(0, 10), { write: list }));
  },
};

function prInCdb(action: number, allocation: number): Buffer {
  const cdb = Buffer.alloc(10);
  cdb[0] = 0x5e;
  cdb[1] = action;
  cdb.writeUInt16BE(allocation, 7);
  return cdb;
}

async function throughUnitAttentions<T>(run: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await run();
    } catch (error) {
      if (tries >= 5 || !(error instanceof ScsiStatusError) || error.status !== CHECK_CONDITION || error.senseKey !== UNIT_ATTENTION) throw error;
    }
  }
}
