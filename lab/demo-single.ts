// The one-node demo (`node --import tsx lab/demo-single.ts`): one real node on this machine (loop-device ext4 disk with a MariaDB datadir,
// network and mount namespaces, lockfile fencing). It plays keepalived's part by hand — puts the
// VIP up and calls `notify` — and shows what the agent does: check, status, promote, a write,
// demote, and the recorded transitions. Everything is torn down at the end, pass or fail.
import { createSingleNodeLab } from './single-node.ts';
import { waitHealthy, waitIdle, stateOf, mountCount, mysqldPids } from '../test/helpers/agent.ts';
import type { TransitionRecord } from '../src/state.ts';

const say = (text: string): void => console.log(`\n\u001b[1m== ${text}\u001b[0m`);
const show = (text: string): void => console.log(text.trimEnd().replace(/^/gm, '   '));

function describeTransition(t: TransitionRecord): string {
  const steps = t.steps.map((s) => `${s.name} ${s.durationMs ?? '?'} ms${s.outcome === 'ok' ? '' : ` (${s.outcome})`}`).join(', ');
  return `${t.kind} for ${t.desire.vrrpState} from ${t.desire.source}: ${t.outcome} in ${t.durationMs} ms — ${steps}`;
}

say('Building one node: loop disk with ext4 + MariaDB datadir, network and mount namespaces');
const lab = await createSingleNodeLab();
const node = lab.node;
const transitions: TransitionRecord[] = [];
const record = (): void => {
  const last = stateOf(node)?.lastTransition;
  if (last && !transitions.some((t) => t.id === last.id)) transitions.push(last);
};
try {
  show(`disk ${lab.disk.device} (${lab.disk.image}), mountpoint ${lab.mountpoint}, VIP ${lab.vip.cidr} on ${lab.vip.interface}, lease ${lab.agentLeasePath} (the node's bindfs view of ${lab.leasePath})`);
  show(`config ${node.configPath}, log ${node.logFile}`);

  say('Starting the daemon (systemd would: ExecStart=fence-agent daemon)');
  node.startDaemon();
  await waitIdle(node);
  record();

  say('fence-agent check on the idle node (what keepalived runs every interval)');
  let ran = await node.agent(['check']);
  show(`${ran.stderr}\nexit ${ran.exitCode}`);

  say('fence-agent status');
  show((await node.agent(['status'])).stdout);

  say('keepalived elects this node MASTER: VIP up, then `fence-agent notify INSTANCE VI_1 MASTER 100`');
  await lab.addVip();
  const started = Date.now();
  ran = await node.agent(['notify', 'INSTANCE', 'VI_1', 'MASTER', '100']);
  show(`${ran.stderr} (returned in ${Date.now() - started} ms)`);
  await waitHealthy(node, 'MASTER');
  await waitIdle(node);
  record();
  show(`healthy MASTER ${Date.now() - started} ms after the notify`);
  ran = await node.agent(['check']);
  show(`${ran.stderr}\nexit ${ran.exitCode}`);
  show((await node.agent(['status'])).stdout);

  say('A client writes through the socket');
  const sql = await node.sql(
    "CREATE DATABASE IF NOT EXISTS demo; CREATE TABLE IF NOT EXISTS demo.ledger (id INT AUTO_INCREMENT PRIMARY KEY, at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, note VARCHAR(64)); INSERT INTO demo.ledger (note) VALUES ('written while MASTER'); SELECT * FROM demo.ledger;",
  );
  show(sql.stdout || sql.stderr);

  say('keepalived hands over: VIP down, then `fence-agent notify backup`');
  await lab.delVip();
  const demoting = Date.now();
  ran = await node.agent(['notify', 'backup']);
  show(`${ran.stderr} (returned in ${Date.now() - demoting} ms)`);
  await waitHealthy(node, 'BACKUP');
  await waitIdle(node);
  record();
  show(`healthy BACKUP ${Date.now() - demoting} ms after the notify`);
  ran = await node.agent(['check']);
  show(`${ran.stderr}\nexit ${ran.exitCode}`);
  show(`mounts of ${lab.disk.device} in the node: ${await mountCount(node, lab.disk.device)}, mysqld processes: ${mysqldPids(node).length}`);

  say('What happened (from the state file the daemon keeps)');
  for (const t of transitions) show(describeTransition(t));
} finally {
  say('Tearing down: processes, namespaces, loop device, files');
  await lab.destroy();
  show('done');
}
