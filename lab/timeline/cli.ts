// Draws a saved failover timeline again: the `.json` a scenario (SCENARIO_TIMELINE_DIR) or
// `npm run vmlab -- demo --timeline PATH` wrote beside its picture, to an SVG.
//   npm run timeline -- IN.json [OUT.svg]                       (OUT default: IN with .svg)
//   node --import tsx lab/timeline/cli.ts IN.json [OUT.svg]     (the same without npm)
// Exit 0 when written, 1 when the recording cannot be read or drawn (one line saying why), 2 on
// wrong arguments.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { errorLine } from '../../src/errors.ts';
import { parseRecording } from './recording.ts';
import { renderTimelineFile } from './write.ts';

const USAGE = 'usage: npm run timeline -- IN.json [OUT.svg]';

/** A path as typed: relative to where `npm run` was typed (npm runs scripts in the package's directory). */
const typed = (file: string): string => path.resolve(process.env.INIT_CWD ?? process.cwd(), file);

/** OUT for IN when none is given: `x/run.json` → `x/run.svg`. */
const svgPathFor = (jsonPath: string): string => `${jsonPath.endsWith('.json') ? jsonPath.slice(0, -'.json'.length) : jsonPath}.svg`;

async function main(args: string[]): Promise<number> {
  const [input, output, ...rest] = args;
  if (input === undefined || input.startsWith('-') || rest.length > 0) {
    console.error(USAGE);
    return 2;
  }
  const out = typed(output ?? svgPathFor(input));
  try {
    const gap = await renderTimelineFile(parseRecording(readFileSync(typed(input), 'utf8')), out);
    console.log(`timeline: ${out} (${gap ?? 'no write gap'})`);
    return 0;
  } catch (error) {
    console.error(`timeline: ${input}: ${errorLine(error)}`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`timeline: ${errorLine(error)}`);
    process.exit(1);
  },
);
