// `fence-agent config check` — validate the configuration and print it resolved (defaults filled
// in, secrets masked), then check what the configuration points at on this node: where the lease
// lives (fence/lease/placement.ts: statfs, bounded) and the watchdog device (sysfs only; it is never
// opened here). Exit 0 when valid, 6 otherwise; warnings go to stderr.
import { loadConfig, maskSecrets } from '../config/load.ts';
import { configError, ExitCode } from '../errors.ts';
import { NONE_WARNING } from '../../fence/none.ts';

export async function main(configPath: string): Promise<number> {
  const config = loadConfig(configPath);
  process.stdout.write(`${JSON.stringify(maskSecrets(config), null, 2)}\n`);
  const warn = (line: string): void => void process.stderr.write(`fence-agent config check: warning: ${line}\n`);
  if (config.fence.method === 'none') warn(NONE_WARNING);
  if (config.fence.method === 'lockfile') {
    const fence = config.fence;
    if (fence.watchdog === null) warn('no watchdog (fence.allowNoWatchdog): a frozen MASTER can keep writing after the peer took the lease over');
    const [{ checkLeasePlacement }, { createInlineLeaseIo }] = await Promise.all([import('../../fence/lease/placement.ts'), import('../lease-io.ts')]);
    const placement = await checkLeasePlacement(fence, config.disk.device, createInlineLeaseIo());
    for (const warning of placement.warnings) warn(warning);
    const refusal = placement.errors[0];
    if (refusal !== undefined) throw configError(`config ${config.configPath}: ${refusal}`);
    if (fence.watchdog !== null) {
      const { inspectWatchdog, watchdogProblems } = await import('../watchdog/device.ts');
      const info = inspectWatchdog(fence.watchdog.device); // throws EWATCHDOG (exit 6) for a missing or wrong device
      const problem = watchdogProblems(fence.watchdog, info)[0];
      if (problem !== undefined) throw configError(`config ${config.configPath}: ${problem}`);
      if (info.kind === 'simulated') warn(`watchdog ${info.device} is a FIFO: the labs' SIMULATED watchdog, not a kernel one`);
    }
  }
  process.stderr.write(`fence-agent config check: ${config.configPath} is valid\n`);
  return ExitCode.OK;
}
