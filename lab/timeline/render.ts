// The failover timeline as a picture (issue 12 §4): a vega-lite specification built from the model
// (lab/timeline/model.ts), compiled to vega and rendered to SVG headless (renderer 'none', no
// canvas). vega and vega-lite are devDependencies loaded by a dynamic import only here, when a
// picture is drawn: a lab that writes no timeline never loads them.
import type { TopLevelSpec } from 'vega-lite';
import { gapLabel, TRACKS, type IntervalState, type TimelineModel, type Track } from './model.ts';

/** How each interval state is named in the legend, and its colour. */
const STATES: Record<IntervalState, { label: string; colour: string }> = {
  MASTER: { label: 'role MASTER', colour: '#2e9e44' },
  BACKUP: { label: 'role BACKUP', colour: '#4c78a8' },
  transition: { label: 'role transition / unhealthy', colour: '#f58518' },
  down: { label: 'node down (nothing observable)', colour: '#9d9d9d' },
  on: { label: 'VIP / mount / mysqld / fence: present', colour: '#3b3b3b' },
};

const GAP_COLOUR = '#d62728';

/** Width of the time axis, px; one row is {@link ROW_PX} high. */
const WIDTH_PX = 900;
const ROW_PX = 16;

/** The y label of one row of a node's lane: `db1 · mount`. */
export const rowLabel = (node: string, track: Track): string => `${node} · ${track}`;

/** Characters per subtitle line: a scenario's title is a paragraph, and unwrapped it made the picture ~8000 px wide. */
const SUBTITLE_CHARS = 150;

/** `text` wrapped at spaces into lines of at most `width` characters (a longer word gets its own line). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** The lines under the title: the scenario, what the rows mean (how a role is derived), the gap. */
function subtitle(model: TimelineModel): string[] {
  const fence = model.fence === 'scsi-pr' ? 'the SCSI-PR reservation holder, as a third initiator reads the keys' : 'the lease holder (lockfile)';
  return [
    ...wrap(model.scenarioTitle, SUBTITLE_CHARS),
    'role, per sample as observed (never asked of the agent): MASTER = VIP + mount + mysqld;',
    'BACKUP = none of them; otherwise transition / unhealthy; down = nothing observable',
    `fence: ${fence}`,
    'writes: a tick per INSERT acknowledged through the VIP, in the lane of the server that took it',
    model.gap === null ? 'fewer than two acknowledged writes: no gap to mark' : `red band: ${gapLabel(model.gap)}, the longest time between two acknowledged writes`,
  ];
}

/**
 * The vega-lite specification of the picture: one lane per node (rows role, VIP, mount, mysqld,
 * fence, writes), bars where a row's state holds, a tick per acknowledged write, the longest write
 * gap as a red band across every lane, labelled with its duration. x: seconds since `model.startAt`.
 */
export function timelineSpec(model: TimelineModel): TopLevelSpec {
  const toS = (ms: number): number => Math.round(ms) / 1000;
  const rows = model.nodes.flatMap((node) => TRACKS.map((track) => rowLabel(node, track)));
  const x = { scale: { domain: [0, toS(Math.max(model.durationMs, 1))], nice: false } };
  const y = { field: 'row', type: 'ordinal' as const, sort: rows, scale: { domain: rows }, title: null, axis: { labelLimit: 200 } };
  const shaded = model.nodes.filter((_, i) => i % 2 === 0).flatMap((node) => TRACKS.map((track) => ({ row: rowLabel(node, track) })));
  const intervals = model.intervals.map((i) => ({ row: rowLabel(i.node, i.track), state: STATES[i.state].label, from: toS(i.fromMs), to: toS(i.toMs) }));
  const acks = model.acks.map((a) => ({ row: rowLabel(a.node, 'writes'), at: toS(a.atMs), id: a.id }));
  const gap = model.gap === null ? [] : [{ from: toS(model.gap.fromMs), to: toS(model.gap.toMs), middle: toS((model.gap.fromMs + model.gap.toMs) / 2), label: gapLabel(model.gap) }];
  const states = Object.values(STATES);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: model.title, subtitle: subtitle(model), anchor: 'start', offset: 24 },
    width: WIDTH_PX,
    height: { step: ROW_PX },
    background: 'white',
    config: { axis: { labelFontSize: 11 }, legend: { orient: 'bottom', columns: 2, labelLimit: 300, columnPadding: 24 } },
    layer: [
      { name: 'lanes', data: { values: shaded }, mark: { type: 'rect', color: '#f0f0f0', aria: false }, encoding: { y } },
      {
        name: 'gap',
        data: { values: gap },
        mark: { type: 'rect', fill: GAP_COLOUR, fillOpacity: 0.12, stroke: GAP_COLOUR, strokeOpacity: 0.7 },
        encoding: { x: { field: 'from', type: 'quantitative', ...x }, x2: { field: 'to' } },
      },
      {
        name: 'intervals',
        data: { values: intervals },
        mark: { type: 'bar', height: { band: 0.75 } },
        encoding: {
          x: { field: 'from', type: 'quantitative', ...x, title: `seconds since ${new Date(model.startAt).toISOString()}` },
          x2: { field: 'to' },
          y,
          color: { field: 'state', type: 'nominal', title: null, scale: { domain: states.map((s) => s.label), range: states.map((s) => s.colour) } },
        },
      },
      { name: 'acks', data: { values: acks }, mark: { type: 'tick', color: 'black', thickness: 1, aria: false }, encoding: { x: { field: 'at', type: 'quantitative', ...x }, y } },
      {
        name: 'gap_label',
        data: { values: gap },
        mark: { type: 'text', color: GAP_COLOUR, fontWeight: 'bold', dy: -8, baseline: 'bottom' },
        encoding: { x: { field: 'middle', type: 'quantitative', ...x }, y: { value: 0 }, text: { field: 'label' } },
      },
    ],
    resolve: { scale: { x: 'shared', y: 'shared' } },
  };
}

/**
 * Renders the model to an SVG document (a string starting `<svg`), headless: vega's View with
 * renderer 'none' and `toSVG()` needs no canvas. Loads vega-lite and vega on first use.
 */
export async function renderTimelineSvg(model: TimelineModel): Promise<string> {
  const [vegaLite, vega] = await Promise.all([import('vega-lite'), import('vega')]);
  const { spec } = vegaLite.compile(timelineSpec(model));
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
