// A resolved configuration for the mysqld unit tests: the shared disk is a scratch directory, mysqld
// is the fake `fakemysqld`, and `systemdUnit` (or `start`) as the test asks.
import path from 'node:path';
import { resolveConfig } from '../../src/config/schema.ts';
import type { Config } from '../../src/config/types.ts';
import { FAKE_MYSQLD } from './fake-mysqld.ts';

export interface TestConfigOptions {
  /** a directory of the test's own: the mountpoint is `<dir>/data`, pid file and socket `<dir>/run/` */
  dir: string;
  /** `mysqld.systemdUnit`; null = `mysqld.start` mode */
  unit?: string | null;
  deadlines?: Record<string, number>;
}

export function testConfig({ dir, unit = 'mariadb.service', deadlines = {} }: TestConfigOptions): Config {
  return resolveConfig(
    {
      node: 'db1',
      vip: { address: '10.0.0.100', interface: 'eth0' },
      disk: { device: '/dev/null', mountpoint: path.join(dir, 'data') },
      mysqld: {
        ...(unit === null ? { start: ['/bin/false'] } : { systemdUnit: unit }),
        user: 'root',
        pidFile: path.join(dir, 'run', 'mysqld.pid'),
        socket: path.join(dir, 'run', 'mysqld.sock'),
        processNames: [FAKE_MYSQLD],
      },
      fence: { method: 'none' },
      deadlines: { mysqldStopMs: 10000, mysqldTermGraceMs: 3000, ...deadlines },
    },
    path.join(dir, 'config.json'),
  );
}
