// What a failover timeline is drawn from (issue 12 §4): the invariant monitor's samples and the
// ledger's acknowledged writes of one scenario, saved as JSON beside the picture so that it can be
// drawn again (lab/timeline/cli.ts) or looked at by hand. Only types and a parser: no lab module
// is loaded at run time.
import type { Ack } from '../ledger.ts';
import type { Sample } from '../monitor.ts';

/** The `format` field of a saved recording; a new field changes nothing, a changed meaning changes it. */
export const RECORDING_FORMAT = 'fence-agent-timeline/1';

/**
 * One scenario's observations, as saved in `<id>.json`:
 * `{ format, scenario: {id, title, lab}, passed, fence, nodes, servers, samples, acks }`.
 */
export interface TimelineRecording {
  format: typeof RECORDING_FORMAT;
  scenario: { id: string; title: string; lab: 'netns' | 'vm' };
  /** the scenario's verdict; null when it is not known (a demo cut short) */
  passed: boolean | null;
  /** the fencing method: what the `fence` row means (lease holder, or reservation holder) */
  fence: 'lockfile' | 'scsi-pr';
  /** node names, in the order of their lanes */
  nodes: string[];
  /** MariaDB `server_id` (as a string) → node name: which lane an acknowledged write goes to */
  servers: Record<string, string>;
  /** the invariant monitor's samples (lab/monitor.ts), oldest first; `at` is wall-clock ms */
  samples: Sample[];
  /** the ledger's acknowledged writes (lab/ledger.ts), `at` wall-clock ms */
  acks: Ack[];
}

/** A recording that cannot be read: code `ETIMELINE_FORMAT` (stable), the reason in the message. */
export class TimelineFormatError extends Error {
  readonly code = 'ETIMELINE_FORMAT';

  override get name(): string {
    return 'TimelineFormatError';
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

function checkSample(value: unknown, index: number): Sample {
  const where = `samples[${index}]`;
  if (!isObject(value) || !isFiniteNumber(value.at) || !isObject(value.nodes)) throw new TimelineFormatError(`${where}: expected {at: number, mono, nodes: {…}, leaseHolder}`);
  for (const [name, node] of Object.entries(value.nodes)) {
    if (!isObject(node) || typeof node.down !== 'boolean' || typeof node.mounted !== 'boolean' || typeof node.vip !== 'boolean' || !isFiniteNumber(node.mysqld)) {
      throw new TimelineFormatError(`${where}.nodes.${name}: expected {down, mounted, superblock, vip: boolean, mysqld: number}`);
    }
  }
  if (value.leaseHolder !== null && typeof value.leaseHolder !== 'string') throw new TimelineFormatError(`${where}.leaseHolder: expected a node name or null`);
  return value as unknown as Sample;
}

function checkAck(value: unknown, index: number): Ack {
  if (!isObject(value) || !isFiniteNumber(value.id) || !isFiniteNumber(value.at) || !isFiniteNumber(value.server)) throw new TimelineFormatError(`acks[${index}]: expected {id, at, server: number}`);
  return value as unknown as Ack;
}

/**
 * Reads a saved recording (the JSON text of `<id>.json`).
 * @throws TimelineFormatError (code `ETIMELINE_FORMAT`) on text that is not JSON, another format, or a field of the wrong shape
 */
export function parseRecording(text: string): TimelineRecording {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TimelineFormatError(`not JSON: ${(error as Error).message}`);
  }
  if (!isObject(value)) throw new TimelineFormatError('expected a JSON object');
  if (value.format !== RECORDING_FORMAT) throw new TimelineFormatError(`format ${JSON.stringify(value.format)}, expected "${RECORDING_FORMAT}"`);
  const scenario = value.scenario;
  if (!isObject(scenario) || typeof scenario.id !== 'string' || typeof scenario.title !== 'string' || (scenario.lab !== 'netns' && scenario.lab !== 'vm')) {
    throw new TimelineFormatError('scenario: expected {id, title: string, lab: "netns" | "vm"}');
  }
  if (value.passed !== null && typeof value.passed !== 'boolean') throw new TimelineFormatError('passed: expected true, false or null');
  if (value.fence !== 'lockfile' && value.fence !== 'scsi-pr') throw new TimelineFormatError('fence: expected "lockfile" or "scsi-pr"');
  if (!Array.isArray(value.nodes) || !value.nodes.every((n) => typeof n === 'string')) throw new TimelineFormatError('nodes: expected an array of names');
  if (!isObject(value.servers) || !Object.values(value.servers).every((n) => typeof n === 'string')) throw new TimelineFormatError('servers: expected {server_id: node name}');
  if (!Array.isArray(value.samples)) throw new TimelineFormatError('samples: expected an array');
  if (!Array.isArray(value.acks)) throw new TimelineFormatError('acks: expected an array');
  return {
    format: RECORDING_FORMAT,
    scenario: { id: scenario.id, title: scenario.title, lab: scenario.lab },
    passed: value.passed,
    fence: value.fence,
    nodes: value.nodes,
    servers: value.servers as Record<string, string>,
    samples: value.samples.map(checkSample),
    acks: value.acks.map(checkAck),
  };
}
