// The lab's shared disk: an ext4 image holding a MariaDB datadir (`/mysql`), attached to a loop
// device. A golden image is built once per machine and copied (sparse) for every disk.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sh, shOk } from './sh.ts';

/** Where the golden image is cached between runs. */
export const CACHE_DIR = process.env.FENCE_AGENT_LAB_CACHE ?? '/var/tmp/fence-agent-lab';
const IMAGE_MB = 256;
// bump when the recipe changes
const IMAGE_VERSION = 1;

/** MariaDB settings shared by the golden image build and every lab mysqld (small, fast). */
export const MYSQLD_SETTINGS = ['innodb_log_file_size=16M', 'innodb_buffer_pool_size=32M', 'skip-name-resolve', 'character-set-server=utf8mb4'];

/**
 * Builds (once) an ext4 image with `mariadb-install-db` run into `/mysql`, root authenticated
 * through unix_socket. The build mounts inside a private mount namespace (unshare), so a crash
 * leaves no mount behind. Returns the image path.
 */
export async function goldenImage(): Promise<string> {
  const image = path.join(CACHE_DIR, `disk-v${IMAGE_VERSION}.img`);
  if (existsSync(image)) return image;
  mkdirSync(CACHE_DIR, { recursive: true });
  const work = mkdtempSync(path.join(CACHE_DIR, 'build-'));
  chmodSync(work, 0o755); // mariadb-install-db runs as mysql and must reach the datadir
  try {
    const img = path.join(work, 'disk.img');
    const mnt = path.join(work, 'mnt');
    mkdirSync(mnt);
    const cnf = path.join(work, 'my.cnf');
    writeFileSync(cnf, `[mysqld]\n${MYSQLD_SETTINGS.join('\n')}\n`);
    await shOk(['truncate', '-s', `${IMAGE_MB}M`, img]);
    await shOk(['mkfs.ext4', '-q', '-F', '-L', 'fence-agent', img]);
    const script = [
      'set -e',
      `mount -o loop ${img} ${mnt}`,
      `mkdir ${mnt}/mysql && chown mysql:mysql ${mnt}/mysql`,
      `mariadb-install-db --defaults-file=${cnf} --datadir=${mnt}/mysql --user=mysql --auth-root-authentication-method=socket --skip-test-db > ${work}/install.log 2>&1`,
      `umount ${mnt}`,
    ].join('\n');
    const built = await sh(['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script], { timeoutMs: 180_000 });
    if (built.exitCode !== 0) {
      const log = existsSync(path.join(work, 'install.log')) ? readFileSync(path.join(work, 'install.log'), 'utf8') : '';
      throw new Error(`building the lab disk image failed (exit ${built.exitCode}): ${built.stderr}\n${log.split('\n').slice(-15).join('\n')}`);
    }
    renameSync(img, image);
    return image;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface LoopDisk {
  image: string;
  device: string;
  detach(): Promise<void>;
}

/** Copies the golden image to `image` and attaches it to a free loop device. */
export async function createLoopDisk(image: string): Promise<LoopDisk> {
  await shOk(['cp', '--sparse=always', await goldenImage(), image]);
  const device = (await shOk(['losetup', '--show', '-f', image])).trim();
  return {
    image,
    device,
    async detach() {
      await sh(['losetup', '-d', device]);
    },
  };
}

/** `fsck -n` on the image: resolves with fsck's exit code and output (0 = clean). */
export const fsckImage = (image: string): ReturnType<typeof sh> => sh(['fsck.ext4', '-n', '-f', image]);
