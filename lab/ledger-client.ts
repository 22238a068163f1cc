// The write ledger's client: inserts numbered rows through the VIP, one at a time, and appends
// every acknowledged id to a file as `ID AT SERVER`: the time of the acknowledgement (ms since the
// epoch) and the server_id of the server that acknowledged it (`SELECT @@server_id` once per
// connection); each row also records the server_id of the mysqld that took it. Runs inside the
// lab's `lan` namespace:
//   node --import tsx lab/ledger-client.ts HOST ACK_FILE [PAUSE_MS [TIMEOUT_MS]]
// TIMEOUT_MS bounds connect and each INSERT (default 1000): a MASTER that died without closing
// the connection must not stall the client.
// Ids are never reused: an INSERT whose acknowledgement was lost may or may not be in the table;
// only acknowledged ones must be.
import { appendFileSync } from 'node:fs';
import mysql from 'mysql2/promise';

const [host, ackFile, pause = '20', timeout = '1000'] = process.argv.slice(2);
if (host === undefined || ackFile === undefined) {
  process.stderr.write('usage: ledger-client.ts HOST ACK_FILE [PAUSE_MS]\n');
  process.exit(2);
}
const pauseMs = Number(pause);
const timeoutMs = Number(timeout);
let stopping = false;
process.on('SIGTERM', () => (stopping = true));
process.on('SIGINT', () => (stopping = true));

let id = Date.now() * 1000; // unique across restarts of the client
let connection: mysql.Connection | null = null;
/** @@server_id of the server behind `connection` */
let serverId = 0;
let lastError = '';
while (!stopping) {
  id++;
  try {
    if (connection === null) {
      const fresh = await mysql.createConnection({ host, port: 3306, user: 'ledger', password: 'ledger', database: 'lab', connectTimeout: timeoutMs });
      try {
        const [rows] = await fresh.query<mysql.RowDataPacket[]>({ sql: 'SELECT @@server_id AS id', timeout: timeoutMs });
        serverId = Number(rows[0]?.id);
        if (!Number.isInteger(serverId) || serverId <= 0) throw new Error(`unexpected @@server_id ${String(rows[0]?.id)}`);
      } catch (error) {
        fresh.destroy();
        throw error;
      }
      connection = fresh;
    }
    await connection.query({ sql: 'INSERT INTO ledger (id, server) VALUES (?, @@server_id)', values: [id], timeout: timeoutMs });
    appendFileSync(ackFile, `${id} ${Date.now()} ${serverId}\n`);
    lastError = '';
  } catch (error) {
    const message = (error as Error).message;
    if (message !== lastError) process.stderr.write(`${new Date().toISOString()} ${message}\n`);
    lastError = message;
    connection?.destroy();
    connection = null;
  }
  await new Promise((resolve) => setTimeout(resolve, pauseMs));
}
connection?.destroy();
