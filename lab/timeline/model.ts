// The failover timeline as lanes and intervals (issue 12 §4): pure functions from a recording's
// samples and acknowledged writes to what lab/timeline/render.ts draws. Nothing here reads a node:
// every state is what the invariant monitor observed in its samples.
import type { NodeSample } from '../cluster.ts';
import type { Ack } from '../ledger.ts';
import type { Sample } from '../monitor.ts';
import type { TimelineRecording } from './recording.ts';

/** The rows of one node's lane, top to bottom; `writes` holds the ticks of the writes its server acknowledged. */
export const TRACKS = ['role', 'VIP', 'mount', 'mysqld', 'fence', 'writes'] as const;
export type Track = (typeof TRACKS)[number];

/**
 * A node's role as observed in one sample, never as the agent reports it:
 * - `MASTER`: the VIP, the disk mounted and mysqld running, all three;
 * - `BACKUP`: none of the three;
 * - `transition`: some but not all (a promotion or demotion under way, or an unhealthy node);
 * - `down`: nothing observable (crashed, powered off, booting).
 */
export type Role = 'MASTER' | 'BACKUP' | 'transition' | 'down';

/** An interval's state: a role (row `role`), or `on` (the VIP held, the disk mounted, mysqld running, the fence held). */
export type IntervalState = Role | 'on';

/** One bar: `node`'s `track` in `state` from `fromMs` to `toMs` (ms since the timeline's start). */
export interface Interval {
  node: string;
  track: Exclude<Track, 'writes'>;
  state: IntervalState;
  fromMs: number;
  toMs: number;
}

/** One acknowledged write: ledger row `id` at `atMs` (ms since the timeline's start), in the lane of the node whose server took it. */
export interface AckTick {
  id: number;
  atMs: number;
  node: string;
}

/** The longest time between two consecutive acknowledged writes, ms since the timeline's start. */
export interface WriteGap {
  fromMs: number;
  toMs: number;
  gapMs: number;
  /** the node whose server acknowledged the write before the gap, and the one after it */
  fromNode: string;
  toNode: string;
  /** the writes before and after were acknowledged by different nodes: a failover */
  failover: boolean;
}

/**
 * Everything the picture shows, times in ms since `startAt`:
 * `{ title, subtitle, startAt, durationMs, nodes, intervals, acks, gap }`.
 */
export interface TimelineModel {
  /** `<scenario id> (<lab>): passed | FAILED` */
  title: string;
  scenarioTitle: string;
  fence: TimelineRecording['fence'];
  /** wall-clock ms since the epoch of x = 0: the first sample or the first ack, whichever came first */
  startAt: number;
  /** ms from `startAt` to the last sample or ack */
  durationMs: number;
  /** node lanes, top to bottom: the recording's nodes, then any other name an ack's server maps to */
  nodes: string[];
  intervals: Interval[];
  acks: AckTick[];
  /** null with fewer than two acknowledged writes */
  gap: WriteGap | null;
}

/** {@link Role} of one node in one sample. */
export function roleOf(node: NodeSample | undefined): Role {
  if (node === undefined || node.down) return 'down';
  const parts = [node.vip, node.mounted, node.mysqld > 0];
  if (parts.every(Boolean)) return 'MASTER';
  if (!parts.some(Boolean)) return 'BACKUP';
  return 'transition';
}

/** A node's state on each non-writes row in one sample; null: nothing drawn on that row. */
function statesOf(sample: Sample, name: string): Record<Interval['track'], IntervalState | null> {
  const node = sample.nodes[name];
  const on = (value: boolean | undefined): 'on' | null => (value === true ? 'on' : null);
  return {
    role: roleOf(node),
    VIP: on(node?.vip),
    mount: on(node?.mounted),
    mysqld: on((node?.mysqld ?? 0) > 0),
    fence: on(sample.leaseHolder === name),
  };
}

/**
 * Merges consecutive samples into intervals: each sample's state holds from its time until the
 * next sample's (the last one's until its own time, so a state first seen there is a zero-width
 * bar); a row that is off (no VIP, no mount…) draws nothing. A pause in sampling extends the state
 * seen before it.
 * @param samples oldest first (wall-clock `at`, ms)
 * @param startAt wall-clock ms of x = 0
 */
export function intervalsOf(samples: readonly Sample[], nodes: readonly string[], startAt: number): Interval[] {
  const out: Interval[] = [];
  for (const node of nodes) {
    const open = new Map<Interval['track'], Interval>();
    samples.forEach((sample, i) => {
      const toMs = (samples[i + 1] ?? sample).at - startAt;
      const states = statesOf(sample, node);
      for (const track of Object.keys(states) as Interval['track'][]) {
        const state = states[track];
        const current = open.get(track);
        if (current !== undefined && current.state === state) {
          current.toMs = toMs;
          continue;
        }
        if (current !== undefined) out.push(current);
        open.delete(track);
        if (state !== null) open.set(track, { node, track, state, fromMs: sample.at - startAt, toMs });
      }
    });
    out.push(...open.values());
  }
  return out.sort((a, b) => a.fromMs - b.fromMs);
}

/** The node an ack's server is (`servers`: server_id → name), or `server_id N` for a server no node has. */
export const nodeOfServer = (servers: Readonly<Record<string, string>>, server: number): string => servers[String(server)] ?? `server_id ${server}`;

/**
 * The longest interval between consecutive acknowledged writes (by time), or null with fewer than
 * two. During a failover it runs from the old MASTER's last write to the new one's first.
 * @param startAt wall-clock ms of x = 0
 */
export function longestGap(acks: readonly Ack[], servers: Readonly<Record<string, string>>, startAt: number): WriteGap | null {
  const sorted = [...acks].sort((a, b) => a.at - b.at);
  let best: WriteGap | null = null;
  for (let i = 1; i < sorted.length; i++) {
    const before = sorted[i - 1] as Ack;
    const after = sorted[i] as Ack;
    const gapMs = after.at - before.at;
    if (best !== null && gapMs <= best.gapMs) continue;
    const fromNode = nodeOfServer(servers, before.server);
    const toNode = nodeOfServer(servers, after.server);
    best = { fromMs: before.at - startAt, toMs: after.at - startAt, gapMs, fromNode, toNode, failover: fromNode !== toNode };
  }
  return best;
}

/** The whole picture's model from a recording (see {@link TimelineModel}). */
export function timelineModel(recording: TimelineRecording): TimelineModel {
  const { samples, acks, servers } = recording;
  let startAt = Infinity;
  let endAt = -Infinity;
  for (const { at } of [...samples, ...acks]) {
    startAt = Math.min(startAt, at);
    endAt = Math.max(endAt, at);
  }
  if (startAt === Infinity) startAt = endAt = 0;
  const nodes = [...recording.nodes];
  for (const ack of acks) {
    const node = nodeOfServer(servers, ack.server);
    if (!nodes.includes(node)) nodes.push(node);
  }
  const verdict = recording.passed === null ? 'verdict unknown' : recording.passed ? 'passed' : 'FAILED';
  return {
    title: `${recording.scenario.id} (${recording.scenario.lab} lab): ${verdict}`,
    scenarioTitle: recording.scenario.title,
    fence: recording.fence,
    startAt,
    durationMs: endAt - startAt,
    nodes,
    intervals: intervalsOf(samples, recording.nodes, startAt),
    acks: acks.map((ack) => ({ id: ack.id, atMs: ack.at - startAt, node: nodeOfServer(servers, ack.server) })),
    gap: longestGap(acks, servers, startAt),
  };
}

/** A duration in seconds with one decimal, as the labs print them: `12.3 s`. */
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** The label the picture puts on the gap: `failover gap 12.3 s (db1 → db2)`, or `longest write gap 0.4 s (db1)` when no failover happened. */
export function gapLabel(gap: WriteGap): string {
  return gap.failover ? `failover gap ${seconds(gap.gapMs)} (${gap.fromNode} → ${gap.toNode})` : `longest write gap ${seconds(gap.gapMs)} (${gap.fromNode})`;
}
