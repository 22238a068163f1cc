// The lab's shared disk: an ext4 image holding a MariaDB datadir (`/mysql`), attached to loop
// devices — in the two-node lab one per node, so that each node mounts its own block device and
// gets its own ext4 superblock and page cache over the one image, as two machines on one LUN
// would. A golden image is built once per machine and copied (sparse) for every disk.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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

/** The filesystem on the lab disk (agent configurations, the monitor's /sys/fs/<fstype> lookup). */
export const DISK_FSTYPE = 'ext4';

export interface LoopDisk {
  image: string;
  device: string;
  detach(): Promise<void>;
}

/** One disk image seen by several nodes, each through its own loop device (its own superblock and cache). */
export interface SharedDisk {
  image: string;
  /** node name → that node's loop device over `image` */
  devices: Record<string, string>;
  /** detaches every loop device and waits until the kernel has let go of them */
  detach(): Promise<void>;
}

/** Attaches `image` to a free loop device and returns the device (`/dev/loopN`). */
export async function attachLoop(image: string): Promise<string> {
  return (await shOk(['losetup', '--show', '-f', image])).trim();
}

/** The loop device's backing file as the kernel reports it, or null when the device is not bound. */
function backingFile(device: string): string | null {
  try {
    return readFileSync(`/sys/block/${path.basename(device)}/loop/backing_file`, 'utf8').trim();
  } catch {
    return null;
  }
}

/**
 * Detaches `device` from `image` and waits (at most 10 s) until the kernel has really let go: a
 * device still mounted in a mount namespace being torn down is only marked autoclear by
 * `losetup -d`, and fsck must not read the image while that last unmount is still being flushed.
 */
export async function detachLoop(device: string, image: string): Promise<void> {
  let real = image;
  try {
    real = realpathSync(image);
  } catch {
    // already removed: the kernel names it "<path> (deleted)"
  }
  // a device number another lab took meanwhile is not ours to detach
  const ours = (): boolean => [real, `${real} (deleted)`].includes(backingFile(device) ?? '');
  if (!ours()) return;
  await sh(['losetup', '-d', device]);
  const deadline = Date.now() + 10_000;
  while (ours() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** Copies the golden image to `image` (sparse). */
export async function copyGoldenImage(image: string): Promise<void> {
  await shOk(['cp', '--sparse=always', await goldenImage(), image]);
}

/** Copies the golden image to `image` and attaches it to a free loop device. */
export async function createLoopDisk(image: string): Promise<LoopDisk> {
  await copyGoldenImage(image);
  const device = await attachLoop(image);
  return { image, device, detach: () => detachLoop(device, image) };
}

/** A {@link SharedDisk} over devices already attached (e.g. read back from a lab's lab.json). */
export function sharedDisk(image: string, devices: Record<string, string>): SharedDisk {
  return {
    image,
    devices,
    async detach() {
      for (const device of Object.values(devices)) await detachLoop(device, image);
    },
  };
}

/** Copies the golden image to `image` and attaches it once per node: one loop device each. */
export async function createSharedDisk(image: string, nodes: readonly string[]): Promise<SharedDisk> {
  await copyGoldenImage(image);
  const disk = sharedDisk(image, {});
  try {
    for (const node of nodes) disk.devices[node] = await attachLoop(image);
  } catch (error) {
    await disk.detach();
    throw error;
  }
  return disk;
}

/** `fsck -n` on the image: resolves with fsck's exit code and output (0 = clean). */
export const fsckImage = (image: string): ReturnType<typeof sh> => sh(['fsck.ext4', '-n', '-f', image]);
