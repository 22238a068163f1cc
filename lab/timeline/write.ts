// Writing a failover timeline to files (issue 12 §4): the recording as `<name>.json`, then the
// picture as `<name>.svg` beside it. Used by the scenario harness ($SCENARIO_TIMELINE_DIR), by
// `npm run vmlab -- demo --timeline PATH` and by lab/timeline/cli.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { errorLine } from '../../src/errors.ts';
import { gapLabel, timelineModel } from './model.ts';
import type { TimelineRecording } from './recording.ts';
import { renderTimelineSvg } from './render.ts';

/** The environment variable naming the directory where every scenario writes `<scenario id>.svg` and `.json`. */
export const TIMELINE_DIR_ENV = 'SCENARIO_TIMELINE_DIR';

/** The data file beside a picture: `x/demo.svg` → `x/demo.json` (any other name gets `.json` appended). */
export const jsonPathFor = (svgPath: string): string => (svgPath.endsWith('.svg') ? `${svgPath.slice(0, -'.svg'.length)}.json` : `${svgPath}.json`);

/** Where scenario `id`'s picture goes: `<dir>/<id>.svg` under `$SCENARIO_TIMELINE_DIR`, or null when it is unset or empty. */
export function timelinePathFromEnv(id: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const dir = env[TIMELINE_DIR_ENV];
  return dir === undefined || dir === '' ? null : path.join(dir, `${id}.svg`);
}

/** Renders `recording` to `svgPath` (its directory made if missing). @returns the gap's label, or null without one */
export async function renderTimelineFile(recording: TimelineRecording, svgPath: string): Promise<string | null> {
  const model = timelineModel(recording);
  const svg = await renderTimelineSvg(model);
  mkdirSync(path.dirname(svgPath), { recursive: true });
  writeFileSync(svgPath, svg);
  return model.gap === null ? null : gapLabel(model.gap);
}

/**
 * Writes `recording` as JSON beside `svgPath` ({@link jsonPathFor}), then the picture to `svgPath`.
 * Never throws: a picture that cannot be made must not fail the scenario that asked for it. Logs
 * one line either way (the files and the gap, or why not).
 * @returns true when both files were written
 */
export async function saveTimeline(recording: TimelineRecording, svgPath: string, log: (line: string) => void): Promise<boolean> {
  try {
    const jsonPath = jsonPathFor(svgPath);
    mkdirSync(path.dirname(jsonPath), { recursive: true });
    writeFileSync(jsonPath, `${JSON.stringify(recording)}\n`);
    const gap = await renderTimelineFile(recording, svgPath);
    log(`timeline: ${svgPath} (data ${jsonPath}; ${recording.samples.length} samples, ${recording.acks.length} acks; ${gap ?? 'no write gap'})`);
    return true;
  } catch (error) {
    log(`timeline: no picture for ${recording.scenario.id} at ${svgPath}: ${errorLine(error)}`);
    return false;
  }
}
