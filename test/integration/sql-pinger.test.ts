// src/probes/sql.ts SqlPinger (the daemon's SQL monitor) against a real MariaDB: the single-node
// lab's, promoted by its daemon, which is then killed so that nothing but these tests connects
// (fence method none: no watchdog to fire). Connections are counted by the server's own
// `Connections` status; each count is itself one connection (the mariadb client).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createSingleNodeLab, type SingleNodeLab } from '../../lab/single-node.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { MysqldConfig } from '../../src/config/types.ts';
import { SqlPinger } from '../../src/probes/sql.ts';
import { waitFor } from '../../lab/wait.ts';
import { waitHealthy, waitIdle } from '../helpers/agent.ts';

/** the mysqld pid the pings name: the pinger only compares it between pings */
const pid = 4242;

describe('SqlPinger against a real MariaDB', () => {
  let lab: SingleNodeLab;
  let mysqld: MysqldConfig;

  const sql = async (query: string): Promise<string> => {
    const ran = await lab.node.sql(query);
    assert.equal(ran.exitCode, 0, `${query}: ${ran.stderr}`);
    return ran.stdout.trim();
  };
  /** the server's connection count so far (this query's own connection included) */
  const connections = async (): Promise<number> => Number((await sql("SHOW GLOBAL STATUS LIKE 'Connections'")).split('\t')[1]);
  /** ids of the sleeping connections but this query's own */
  const sleeping = async (): Promise<string[]> => (await sql("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND = 'Sleep' AND ID <> CONNECTION_ID()")).split('\n').filter((line) => line !== '');

  before(
    async () => {
      lab = await createSingleNodeLab({ fence: 'none' });
      const daemon = lab.node.startDaemon();
      await waitIdle(lab.node);
      await lab.addVip();
      await lab.node.agent(['notify', 'master']);
      await waitHealthy(lab.node, 'MASTER');
      daemon.kill('SIGKILL'); // mysqld runs on; nothing else pings it now
      mysqld = loadConfig(lab.node.configPath).mysqld;
    },
    { timeout: 180_000 },
  );

  after(() => lab?.destroy(), { timeout: 60_000 });

  test('pings share one connection while it is younger than freshEveryMs', async () => {
    const pinger = new SqlPinger(mysqld, 60_000);
    const before = await connections();
    for (let i = 0; i < 3; i++) assert.equal((await pinger.ping(pid, 2000)).ok, true);
    assert.equal((await connections()) - before, 2, 'one for the three pings, one for the count');
    await pinger.close();
  });

  test('a ping opens a new connection once freshEveryMs has passed', async () => {
    const pinger = new SqlPinger(mysqld, 0);
    const before = await connections();
    for (let i = 0; i < 3; i++) assert.equal((await pinger.ping(pid, 2000)).ok, true);
    assert.equal((await connections()) - before, 4, 'one per ping, one for the count');
    await pinger.close();
  });

  test('a ping for another mysqld pid opens a new connection', async () => {
    const pinger = new SqlPinger(mysqld, 60_000);
    const before = await connections();
    assert.equal((await pinger.ping(pid, 2000)).ok, true);
    assert.equal((await pinger.ping(pid + 1, 2000)).ok, true);
    assert.equal((await connections()) - before, 3);
    await pinger.close();
  });

  test('a kept connection the server killed is replaced: the next ping connects afresh and succeeds', async () => {
    const pinger = new SqlPinger(mysqld, 60_000);
    assert.equal((await pinger.ping(pid, 2000)).ok, true);
    const ids = await sleeping();
    assert.equal(ids.length, 1, `the pinger's connection alone sleeps: ${JSON.stringify(ids)}`);
    await sql(`KILL ${ids[0]}`);
    const before = await connections();
    assert.equal((await pinger.ping(pid, 2000)).ok, true, 'an idle connection\'s end is not a failed ping');
    assert.equal((await connections()) - before, 2, 'one fresh connection, one for the count');
    const now = await sleeping();
    assert.equal(now.length, 1);
    assert.notEqual(now[0], ids[0]);
    await pinger.close();
  });

  test('close ends the kept connection', async () => {
    const pinger = new SqlPinger(mysqld, 60_000);
    assert.equal((await pinger.ping(pid, 2000)).ok, true);
    assert.equal((await sleeping()).length, 1);
    await pinger.close();
    assert.deepEqual(await sleeping(), []);
  });

  test('close during a ping lets that ping report, then ends the connection', async () => {
    const pinger = new SqlPinger(mysqld, 60_000);
    const pinging = pinger.ping(pid, 2000);
    await pinger.close();
    assert.equal((await pinging).ok, true);
    assert.deepEqual(await sleeping(), [], 'no connection kept after close');
  });

  // last: it kills the lab's mysqld
  test('a dead mysqld fails the ping on a kept connection too (the fresh one cannot connect)', async () => {
    const pinger = new SqlPinger(mysqld, 60_000);
    assert.equal((await pinger.ping(pid, 2000)).ok, true);
    const pids = lab.node.pidsNamed('mariadbd');
    assert.ok(pids.length > 0, 'mariadbd runs');
    for (const p of pids) process.kill(p, 'SIGKILL');
    await waitFor('mariadbd gone', () => lab.node.pidsNamed('mariadbd').length === 0, 10_000, 20);
    const failed = await pinger.ping(pid, 2000);
    assert.equal(failed.ok, false);
    assert.match(failed.error ?? '', /ECONNREFUSED|ENOENT/, 'says why');
    await pinger.close();
  });
});
