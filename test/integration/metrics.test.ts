// The daemon's metrics as Prometheus scrapes them (issue 12 §3), from a running daemon on the
// single-node lab (real MariaDB, lockfile): the node_exporter textfile and the listener (bound to
// loopback inside the node's network namespace, fetched there with curl) both pass `promtool check
// metrics` (Debian's prometheus package, scripts/setup.sh) and say what the node is — a BACKUP,
// then a MASTER after its promotion with the transition counted.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createSingleNodeLab, type SingleNodeLab } from '../../lab/single-node.ts';
import { waitFor } from '../../lab/wait.ts';
import { waitHealthy, waitIdle } from '../helpers/agent.ts';

const LISTEN = '127.0.0.1:9720';

/** `promtool check metrics` on `text`: exit status and what it said. */
const promtool = (text: string): { status: number | null; said: string } => {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
  return { status: run.status, said: `${run.stdout}${run.stderr}`.trim() };
};

/** The value of the one sample `series` (name and labels as exposed), or null. */
const sample = (text: string, series: string): number | null => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? null : Number(line.slice(series.length + 1));
};

describe('metrics scraped from a running daemon', () => {
  let lab: SingleNodeLab;
  let textfile: string;

  /** The listener's body, byte for byte (curl writes it to a file: execa would strip its final newline). */
  const scrape = async (): Promise<string> => {
    const out = path.join(lab.dir, 'scraped.prom');
    const ran = await lab.node.exec(['curl', '-sSf', '--max-time', '5', '-o', out, `http://${LISTEN}/metrics`], { timeoutMs: 10_000 });
    assert.equal(ran.exitCode, 0, `curl: ${ran.stderr}`);
    return readFileSync(out, 'utf8');
  };
  const readTextfile = (): string => {
    try {
      return readFileSync(textfile, 'utf8');
    } catch {
      return '';
    }
  };

  before(
    async () => {
      lab = await createSingleNodeLab();
      textfile = path.join(lab.dir, 'fence-agent.prom');
      lab.node.writeConfig({ ...lab.config, metrics: { textfile, listen: LISTEN, intervalMs: 1000 } });
      lab.node.startDaemon();
      await waitIdle(lab.node);
    },
    { timeout: 180_000 },
  );

  after(() => lab?.destroy(), { timeout: 60_000 });

  test('on an idle BACKUP both outputs pass promtool and say BACKUP, healthy', async () => {
    const text = await waitFor('the textfile saying BACKUP', () => (sample(readTextfile(), 'fence_agent_role{role="BACKUP"}') === 1 ? readTextfile() : null), 30_000, 200);
    const scraped = await scrape();
    for (const [where, body] of [
      ['textfile', text],
      ['listener', scraped],
    ] as const) {
      const checked = promtool(body);
      assert.equal(checked.status, 0, `${where}: promtool check metrics: ${checked.said}`);
      assert.equal(sample(body, 'fence_agent_role{role="BACKUP"}'), 1, `${where}: role BACKUP`);
      assert.equal(sample(body, 'fence_agent_role{role="MASTER"}'), 0, `${where}: not MASTER`);
      assert.equal(sample(body, 'fence_agent_healthy'), 1, `${where}: healthy`);
      assert.equal(sample(body, 'fence_agent_fence_held'), 0, `${where}: no fence held`);
    }
  });

  test('after a promotion the listener says MASTER, the fence held and one ok promotion counted', async () => {
    await lab.addVip();
    await lab.node.agent(['notify', 'master']);
    await waitHealthy(lab.node, 'MASTER');
    await waitIdle(lab.node);
    const body = await waitFor('the listener saying MASTER', async () => {
      const scraped = await scrape();
      return sample(scraped, 'fence_agent_role{role="MASTER"}') === 1 && sample(scraped, 'fence_agent_healthy') === 1 ? scraped : null;
    }, 30_000, 500);
    const checked = promtool(body);
    assert.equal(checked.status, 0, `promtool check metrics: ${checked.said}`);
    assert.equal(sample(body, 'fence_agent_fence_held'), 1);
    assert.equal(sample(body, 'fence_agent_transitions_total{kind="promote",outcome="ok"}'), 1);
    const textfileNow = await waitFor('the textfile saying MASTER', () => (sample(readTextfile(), 'fence_agent_role{role="MASTER"}') === 1 ? readTextfile() : null), 30_000, 200);
    assert.equal(promtool(textfileNow).status, 0);
  });
});
