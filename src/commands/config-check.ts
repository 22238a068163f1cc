// `fence-agent config check` — validate the configuration and print it resolved (defaults filled
// in, secrets masked). Exit 0 when valid, 6 otherwise.
import { loadConfig, maskSecrets } from '../config/load.ts';
import { ExitCode } from '../errors.ts';
import { NONE_WARNING } from '../../fence/none.ts';

export function main(configPath: string): number {
  const config = loadConfig(configPath);
  process.stdout.write(`${JSON.stringify(maskSecrets(config), null, 2)}\n`);
  if (config.fence.method === 'none') process.stderr.write(`fence-agent config check: warning: ${NONE_WARNING}\n`);
  process.stderr.write(`fence-agent config check: ${config.configPath} is valid\n`);
  return ExitCode.OK;
}
