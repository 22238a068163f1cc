// `fence-agent daemon` — run by systemd (or started by `notify` when none runs). Owns every
// transition; see src/daemon/daemon.ts.
import { loadConfig } from '../config/load.ts';
import { errorLine, isFenceAgentError } from '../errors.ts';
import { createLogger } from '../log.ts';
import { Daemon } from '../daemon/daemon.ts';
import { createFence } from '../../fence/index.ts';

/** Starts the daemon; resolves only if it fails to start (with the exit code). */
export async function main(configPath: string): Promise<number> {
  const config = loadConfig(configPath);
  const log = createLogger(config, 'daemon');
  // where the lease lives decides whether it fences anything (fence/lease/placement.ts); the
  // daemon checks it once the lock is taken and, if the disk is in use, the watchdog armed
  const checkPlacement = async (): Promise<{ errors: string[]; warnings: string[] }> => {
    if (config.fence.method !== 'lockfile') return { errors: [], warnings: [] };
    const [{ checkLeasePlacement }, { createHelperLeaseIo }] = await Promise.all([import('../../fence/lease/placement.ts'), import('../lease-io.ts')]);
    const io = createHelperLeaseIo();
    return checkLeasePlacement(config.fence, config.disk.device, io).finally(() => io.close());
  };
  const daemon = new Daemon(config, await createFence(config, { role: 'daemon', log }), log, checkPlacement);
  process.on('uncaughtException', (error) => {
    // The lease is deliberately left in place (see fence/lockfile.ts); the next daemon reclaims it.
    log.fatal({ err: error.stack ?? String(error) }, 'uncaught exception; exiting');
    process.exit(70);
  });
  process.on('unhandledRejection', (error) => {
    log.fatal({ err: error instanceof Error ? error.stack : String(error) }, 'unhandled rejection; exiting');
    process.exit(70);
  });
  for (const signalName of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signalName, () => {
      daemon.stop(signalName).then(
        () => process.exit(0),
        (error: unknown) => {
          log.fatal({ err: errorLine(error) }, 'error while stopping');
          process.exit(1);
        },
      );
    });
  }
  process.on('SIGHUP', () => log.info('SIGHUP ignored (restart the daemon to reload the configuration)'));
  try {
    await daemon.start();
  } catch (error) {
    log.error({ err: errorLine(error), code: isFenceAgentError(error) ? error.code : undefined }, `daemon not started: ${errorLine(error)}`);
    throw error;
  }
  return new Promise<number>(() => undefined); // runs until a signal ends it
}
