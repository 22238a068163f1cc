// `fence-agent config check` — validate the configuration and print it resolved (defaults filled
// in, secrets masked), then check what the configuration points at on this node: where the lease
// lives (fence/lease/placement.ts: statfs, bounded) and the watchdog device (sysfs only; it is never
// opened here); for scsi-pr the LU (sysfs), the filesystem's MMP heartbeat (dumpe2fs, a direct
// read of its block) and the target's persistent reservations (PR IN, read-only). Exit 0 when
// valid, 6 otherwise; warnings and what was read go to stderr.
import { loadConfig, maskSecrets } from '../config/load.ts';
import { configError, errorLine, ExitCode } from '../errors.ts';
import type { Config, ScsiPrFenceConfig } from '../config/types.ts';
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
  if (config.fence.method === 'scsi-pr') await checkScsiPr(config, config.fence, (line) => void process.stderr.write(`fence-agent config check: ${line}\n`));
  process.stderr.write(`fence-agent config check: ${config.configPath} is valid\n`);
  return ExitCode.OK;
}

/**
 * What scsi-pr needs on this node: `fence.device` on a SCSI LU (not device-mapper); ext4 with
 * multi-mount protection on `disk.device` (the heartbeat that tells a partitioned holder from a
 * dead one; without it a live MASTER behind a cut cluster link would be preempted) whose wait fits
 * relation (c); a target that answers PR IN. Prints what it read.
 * @throws FenceAgentError code `ECONFIG` (exit 6), one line naming what is missing
 */
async function checkScsiPr(config: Config, fence: ScsiPrFenceConfig, info: (line: string) => void): Promise<void> {
  const refuse = (line: string): never => {
    throw configError(`config ${config.configPath}: ${line}`);
  };
  const [{ resolveLu }, { readMmpLocation, readMmpBlock, mmpWaitMs }, { PrDevice }, { reservationKey, formatKey }, { DEFAULT_MMP_WAIT_MS }] = await Promise.all([
    import('../../fence/scsi-pr/device.ts'),
    import('../../fence/scsi-pr/mmp.ts'),
    import('../../fence/scsi-pr/sg-persist.ts'),
    import('../../fence/scsi-pr/key.ts'),
    import('../config/relations.ts'),
  ]);
  if (config.disk.fstype !== 'ext4') refuse(`fence.method scsi-pr needs disk.fstype ext4 (its multi-mount protection is the holder's heartbeat), not ${config.disk.fstype}`);
  let lu: ReturnType<typeof resolveLu>;
  try {
    lu = resolveLu(fence.device);
  } catch (error) {
    return refuse(errorLine(error));
  }
  const options = { timeoutMs: fence.commandTimeoutMs };
  let location: Awaited<ReturnType<typeof readMmpLocation>>;
  try {
    location = await readMmpLocation(config.disk.device, options);
  } catch (error) {
    return refuse(`fence.method scsi-pr: ${errorLine(error)}`);
  }
  if (location === null) {
    return refuse(`fence.method scsi-pr needs ext4 multi-mount protection on ${config.disk.device} (tune2fs -O mmp ${config.disk.device}, unmounted): without the heartbeat a live MASTER behind a cut cluster link would be preempted`);
  }
  const block = await readMmpBlock(config.disk.device, location, options).catch((error: unknown) => refuse(`fence.method scsi-pr: ${errorLine(error)}`));
  const waitMs = mmpWaitMs(location, block);
  if (waitMs > DEFAULT_MMP_WAIT_MS) {
    const needMs = waitMs + fence.drainMs + 2 * fence.commandTimeoutMs;
    if (config.deadlines.fenceAcquireMs < needMs) {
      refuse(`timer relation (c): deadlines.fenceAcquireMs = ${config.deadlines.fenceAcquireMs} ms must be ≥ MMP wait of ${config.disk.device} (${waitMs}) + fence.drainMs + 2·fence.commandTimeoutMs = ${needMs} ms (its mmp_update_interval is ${location.updateIntervalS} s)`);
    }
  }
  info(`${config.disk.device}: MMP block ${location.block}, update interval ${location.updateIntervalS} s (a silent holder is known after ${waitMs} ms)`);
  const device = new PrDevice(lu.device, { commandTimeoutMs: fence.commandTimeoutMs });
  try {
    await device.clearUnitAttentions();
    const keys = await device.readKeys();
    const reservation = await device.readReservation();
    const holder = reservation.holder === null ? 'no reservation' : `reserved type ${reservation.holder.type} by ${formatKey(reservation.holder.key)}`;
    info(`${lu.device}: this node's key ${formatKey(reservationKey(config.cluster, fence.nodeId))}; registered ${keys.keys.length === 0 ? 'none' : keys.keys.map(formatKey).join(', ')}; ${holder}`);
  } catch (error) {
    refuse(`fence.method scsi-pr: persistent reservations on ${lu.device}: ${errorLine(error)}`);
  }
}
