// `fence-agent fence show [--json]` and `fence-agent fence clear --yes-i-have-checked-the-peer`:
// the fence read whole from the storage, and the guarded clear of a fence a dead node left
// (fence/admin.ts). Exit codes: 0 shown / cleared (or nothing to clear); 1 refused (this node has
// the filesystem or its daemon holds the fence, a holder is seen alive) or the storage failed;
// 2 clear without --yes-i-have-checked-the-peer; 6 configuration.
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/types.ts';
import { askDaemon } from '../control/client.ts';
import { ExitCode, FenceAgentError } from '../errors.ts';
import { clearFence, showFence, type FenceView } from '../../fence/admin.ts';

const PR_TYPES: Record<number, string> = { 1: 'Write Exclusive', 3: 'Exclusive Access', 5: 'Write Exclusive, registrants only (WERO)', 6: 'Exclusive Access, registrants only', 7: 'Write Exclusive, all registrants', 8: 'Exclusive Access, all registrants' };

/** The view as lines for a person. */
export function formatFenceView(view: FenceView): string[] {
  if (view.method === 'none') return ['fence: none (no fencing configured)'];
  if (view.method === 'lockfile') {
    const r = view.record;
    const lines = [`fence: lockfile lease ${view.path}`];
    if (view.state === 'unreadable') lines.push('  record: UNREADABLE (not a lease record this agent reads): counts as held by someone unknown');
    else if (r === null) lines.push('  record: none (free)');
    else {
      const whose = r.node === view.thisNode ? ' (this node)' : '';
      lines.push(`  record: ${r.state} by ${r.node}${whose}, pid ${r.pid}, counter ${r.counter}, nonce ${r.nonce}`);
      lines.push(`  holder: boot ${r.bootId}, machine ${r.machineId}; written ${r.writtenAt} (its wall clock, for people only)`);
    }
    return lines;
  }
  const lines = [`fence: scsi-pr on ${view.device}, PR generation 0x${view.generation.toString(16)}`];
  lines.push(`  this node's key: ${view.thisNodeKey}`);
  lines.push(`  registrants: ${view.keys.length === 0 ? 'none' : view.keys.map((k) => `${k.key}${k.thisNode ? ' (this node)' : ''}`).join(', ')}`);
  const r = view.reservation;
  lines.push(`  reservation: ${r === null ? 'none' : `${r.key}${r.thisNode ? ' (this node)' : ''}, ${PR_TYPES[r.type] ?? `type ${r.type}`}, ${r.scope}`}`);
  if (view.fullStatus !== null) for (const line of view.fullStatus) lines.push(`  full status: ${line}`);
  else lines.push(`  full status: not given by the target (${view.fullStatusError ?? 'unknown'})`);
  return lines;
}

/** Runs `fence show`; returns the exit code. @throws FenceAgentError (configuration, storage) */
export async function show(configPath: string, json: boolean): Promise<number> {
  const config = loadConfig(configPath);
  const view = await showFence(config);
  process.stdout.write(json ? `${JSON.stringify(view, null, 2)}\n` : `${formatFenceView(view).join('\n')}\n`);
  return ExitCode.OK;
}

/** This node's daemon, if one answers, holding the fence or moving: then nothing is cleared. */
async function daemonInTheWay(config: Config): Promise<string | null> {
  let status;
  try {
    status = (await askDaemon(config.runDir, { op: 'status' }, 1000)).status;
  } catch {
    return null; // no daemon answering
  }
  const { role, transition } = status;
  if (transition !== null) return `this node's daemon is running a ${transition.kind}`;
  if (role === 'MASTER' || role === 'FENCED-IN') return `this node's daemon is ${role}: it holds the fence`;
  return null;
}

/** Runs `fence clear`; returns the exit code. @throws FenceAgentError (see fence/admin.ts clearFence) */
export async function clear(configPath: string, confirmed: boolean): Promise<number> {
  const config = loadConfig(configPath);
  if (confirmed) {
    const inTheWay = await daemonInTheWay(config);
    if (inTheWay !== null) throw new FenceAgentError('EFENCEINUSE', `fence clear refused: ${inTheWay}`, { exitCode: ExitCode.FAILURE });
  }
  const done = await clearFence(config, confirmed, { note: (line) => void process.stderr.write(`fence-agent fence clear: ${line}\n`) });
  process.stdout.write(`${done}\n`);
  return ExitCode.OK;
}
