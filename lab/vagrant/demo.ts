// `npm run vagrant -- demo`: the failover a DBA wants to see before trusting the pair. A client
// writes numbered rows through the VIP the whole time (the lab's ledger, lab/ledger.ts); the
// MASTER is suspended (`virsh suspend`: its kernel, clock and watchdog stop — a zombie that would
// come back), the peer takes the role over, the storage refuses the suspended node (its
// reservation key is removed: PREEMPT AND ABORT on LIO), and the node resumed finds itself fenced
// and ends as a healthy BACKUP on its own. Then the ledger's numbers: every acknowledged row on
// the survivor, none acknowledged by the old MASTER after the survivor's first.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ledger, prepareLedgerDatabase } from '../ledger.ts';
import { sh } from '../sh.ts';
import { shellQuote } from '../vm/ssh.ts';
import { delay, waitFor } from '../wait.ts';
import { HOST_NETNS } from './host.ts';
import { fenceShow, machineTargets, type VagrantMachineTarget } from './lab.ts';
import { DOMAIN_PREFIX, VAGRANT_VIP, vagrantServerId } from './spec.ts';

export interface DemoResult {
  master: string;
  peer: string;
  /** from `virsh suspend` of the MASTER until the peer's `check` says healthy MASTER, ms */
  takeoverMs: number;
  /** from the suspend until the first INSERT the peer acknowledged (and kept), ms */
  firstAckByPeerMs: number;
  /** how the peer took the fence over (`status`: PREEMPT AND ABORT, or the plain PREEMPT fallback) */
  takenOverBy: string;
  /** the reservation keys after the take-over, and the peer's own */
  keysAfter: string[];
  peerKey: string;
  /** how long the MASTER stayed suspended, ms */
  suspendedMs: number;
  /** from `virsh resume` until the old MASTER's `check` says healthy BACKUP, ms */
  rejoinMs: number;
  /** the resumed node's `check` line at the end */
  oldMasterLine: string;
  acks: number;
  /** acknowledged rows missing on the survivor (must be 0) */
  lost: number;
  /** rows the old MASTER acknowledged after the peer's first (must be 0) */
  lateAcks: number;
}

/** A node for the ledger: its name, server_id (the spec's id) and SQL over ssh as root (`mariadb -N -B`). */
function ledgerNode(machine: VagrantMachineTarget): { name: string; serverId: number; sql: (query: string) => ReturnType<VagrantMachineTarget['run']> } {
  return { name: machine.name, serverId: vagrantServerId(machine.name), sql: (query) => machine.run(`mariadb -N -B -e ${shellQuote(query)}`, 60_000) };
}

/** The node's `fence-agent check` line (stderr), and whether it exited 0. */
async function check(machine: VagrantMachineTarget): Promise<{ ok: boolean; line: string }> {
  const ran = await machine.run('fence-agent check', 60_000);
  const first = `${ran.stderr}${ran.stdout}`.trim().split('\n')[0] ?? '';
  return { ok: ran.exitCode === 0, line: first.replace(/^fence-agent check: /, '') };
}

/**
 * Polls the node's `check` until it exits 0 with a line starting `prefix`; resolves with that line.
 * @throws Error after `timeoutMs`, with the last line seen (an ssh failure counts as a miss)
 */
async function checkUntil(machine: VagrantMachineTarget, prefix: string, timeoutMs: number, intervalMs: number): Promise<string> {
  let last = '';
  try {
    await waitFor(
      `${machine.name}: ${prefix}`,
      async () => {
        const c = await check(machine).catch(() => ({ ok: false, line: '(ssh failed)' }));
        last = c.line;
        return c.ok && c.line.startsWith(prefix);
      },
      timeoutMs,
      intervalMs,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last: ${last}`, { cause: error });
  }
  return last;
}

/**
 * Runs the demo against a lab that is up and settled (one healthy MASTER, one healthy BACKUP).
 * @param options.suspendMs how long the MASTER stays suspended (default 30 s: long past the take-over)
 * @throws Error when the pair is not settled at the start, or a step does not happen in its bound
 */
export async function demo(options: { log: (line: string) => void; suspendMs?: number; dir?: string }): Promise<DemoResult> {
  const { log } = options;
  const suspendMs = options.suspendMs ?? 30_000;
  const machines = await machineTargets();
  const nodes = ['node1', 'node2'].map((name) => {
    const machine = machines[name];
    if (machine === undefined) throw new Error(`vagrant demo: vagrant knows no machine ${name}`);
    return machine;
  });
  const lines = await Promise.all(nodes.map(check));
  const masterIndex = lines.findIndex((l) => l.ok && l.line.startsWith('healthy MASTER: VIP'));
  const backupIndex = lines.findIndex((l) => l.ok && l.line.startsWith('healthy BACKUP: no VIP'));
  if (masterIndex < 0 || backupIndex < 0) throw new Error(`vagrant demo: the pair is not settled: ${nodes.map((n, i) => `${n.name}: ${lines[i]?.line}`).join(' | ')}`);
  const master = nodes[masterIndex] as VagrantMachineTarget;
  const peer = nodes[backupIndex] as VagrantMachineTarget;
  log(`demo: ${master.name} is the MASTER (${lines[masterIndex]?.line})`);
  log(`demo: ${peer.name} is the BACKUP (${lines[backupIndex]?.line})`);

  const dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'fence-agent-vagrant-demo-'));
  await prepareLedgerDatabase(ledgerNode(master), 120_000);
  const ledger = new Ledger({ dir, clientNetns: (await sh(['test', '-e', `/run/netns/${HOST_NETNS}`])).exitCode === 0 ? HOST_NETNS : null, vip: VAGRANT_VIP });
  ledger.start();
  try {
    await waitFor('the ledger writing through the VIP', () => ledger.acks().length >= 20, 60_000, 200);
    log(`demo: the ledger writes through the VIP ${VAGRANT_VIP} (${ledger.acks().length} rows acknowledged so far)`);

    const domain = `${DOMAIN_PREFIX}${master.name}`;
    const suspended = await sh(['virsh', '-c', 'qemu:///system', 'suspend', domain]);
    if (suspended.exitCode !== 0) throw new Error(`virsh suspend ${domain}: ${suspended.stderr.trim()}`);
    const t0 = Date.now();
    log(`demo: virsh suspend ${domain}: its kernel, clock and watchdog stopped`);

    const last = await checkUntil(peer, 'healthy MASTER: VIP', 180_000, 500);
    const takeoverMs = Date.now() - t0;
    log(`demo: ${peer.name} is the MASTER ${(takeoverMs / 1000).toFixed(1)} s after the suspend (${last})`);
    const firstAck = await ledger.firstAckTakenBy(ledgerNode(peer), t0, 120_000);
    const firstAckByPeerMs = firstAck - t0;
    log(`demo: the first row ${peer.name} acknowledged came ${(firstAckByPeerMs / 1000).toFixed(1)} s after the suspend`);

    const status = JSON.parse((await peer.run('fence-agent status --json')).stdout) as { fence: { detail: string | null } };
    const takenOverBy = /taken over by ([^;)]*)/.exec(status.fence.detail ?? '')?.[1]?.trim() ?? `(status: ${status.fence.detail ?? 'no detail'})`;
    const shown = await fenceShow(peer);
    const keysAfter = shown.keys;
    log(`demo: the LU's keys: ${keysAfter.join(', ') || 'none'} (${peer.name}'s ${shown.thisNodeKey}); taken over by ${takenOverBy}`);

    const rest = suspendMs - (Date.now() - t0);
    if (rest > 0) await delay(rest);
    const resumed = await sh(['virsh', '-c', 'qemu:///system', 'resume', domain]);
    if (resumed.exitCode !== 0) throw new Error(`virsh resume ${domain}: ${resumed.stderr.trim()}`);
    const t1 = Date.now();
    const suspendedMs = t1 - t0;
    log(`demo: virsh resume ${domain} after ${(suspendedMs / 1000).toFixed(1)} s`);
    const oldLine = await checkUntil(master, 'healthy BACKUP: no VIP', 300_000, 1000);
    const rejoinMs = Date.now() - t1;
    log(`demo: ${master.name} is a healthy BACKUP ${(rejoinMs / 1000).toFixed(1)} s after the resume (${oldLine})`);

    await delay(3000);
    await ledger.stop();
    const { acked, missing } = await ledger.missingOn(ledgerNode(peer));
    const late = ledger.acksFrom(vagrantServerId(master.name), firstAck + 1);
    const result: DemoResult = {
      master: master.name,
      peer: peer.name,
      takeoverMs,
      firstAckByPeerMs,
      takenOverBy,
      keysAfter,
      peerKey: shown.thisNodeKey,
      suspendedMs,
      rejoinMs,
      oldMasterLine: oldLine,
      acks: acked,
      lost: missing.length,
      lateAcks: late.length,
    };
    log(`demo: the ledger: ${acked} rows acknowledged, ${missing.length} missing on ${peer.name}, ${late.length} acknowledged by ${master.name} after ${peer.name}'s first`);
    return result;
  } finally {
    await ledger.stop();
  }
}
