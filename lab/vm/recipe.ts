// What goes into the two-VM lab's guest image, and the hash that names its cache directory: the
// package list, every file of lab/vm/guest/ (the customize script and the files copied over the
// root), the generated MariaDB settings, the sizes, and the version of the node binary copied in.
// Change any of them and the next `ensureImage` builds a new image beside the old one.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { MYSQLD_SETTINGS } from '../disk.ts';

/** Debian release of the guest. */
export const GUEST_RELEASE = 'bookworm';

/**
 * Packages debootstrap (`--variant=minbase`) installs besides the base: a kernel, systemd, the
 * shared LUN's initiator and PR tools, the pair's software, the lease storage's client, ssh.
 */
export const GUEST_PACKAGES = [
  'linux-image-amd64',
  'systemd-sysv',
  'udev',
  'kmod',
  'open-iscsi',
  'sg3-utils',
  'e2fsprogs',
  'keepalived',
  'mariadb-server',
  'mariadb-client',
  'nfs-common',
  'openssh-server',
  'iproute2',
  'iputils-ping',
  'iputils-arping',
  'psmisc',
  'procps',
  'fdisk',
  'netbase',
  // the Vagrant lab's box is this image: `vagrant ssh node1 -c 'sudo fence-agent status'` as on any box
  'sudo',
] as const;

/**
 * The plain image (issue 11: the README's install followed on a VM from a plain Debian): a
 * server as an operator gets it — a kernel, systemd, ssh, the network — and nothing of the pair;
 * the install test puts the rest on it from the README's steps (lab/vm/install-media.ts).
 */
export const PLAIN_PACKAGES = ['linux-image-amd64', 'systemd-sysv', 'udev', 'kmod', 'openssh-server', 'iproute2', 'netbase', 'fdisk'] as const;

/** Bump when the build steps in lab/vm/image.ts change in a way the inputs below do not show. */
export const IMAGE_BUILD_VERSION = 1;

/** The guest's root filesystem image (sparse; the qcow2 holds only what is used), MiB. */
export const ROOT_SIZE_MB = 4096;
/** The shared LUN: a dos partition table, partition 1 from sector 2048 to the end, ext4. */
export const LUN_SIZE_MB = 512;
/** The LUN's dos disk identifier: partition 1's PARTUUID is `<id>-01` on every copy. */
export const LUN_LABEL_ID = '0x5fa1ab1e';
/** ext4 label of the LUN's partition 1. */
export const LUN_FS_LABEL = 'shared';

/** MariaDB settings of the guests (`/etc/mysql/mariadb.conf.d/60-vmlab.cnf`), datadir on the LUN. */
export function guestMariadbCnf(): string {
  return ['[mysqld]', 'datadir=/data/mysql', 'bind-address=0.0.0.0', ...MYSQLD_SETTINGS, ''].join('\n');
}

/** A file of lab/vm/guest/: its path there, whether it is executable, and its content's sha256. */
export interface RecipeFile {
  path: string;
  executable: boolean;
  sha256: string;
}

export interface Recipe {
  /** `plain` for the plain image ({@link plainRecipe}); absent for the pair's (its hash unchanged) */
  image?: 'plain';
  buildVersion: number;
  release: string;
  variant: 'minbase';
  packages: readonly string[];
  files: RecipeFile[];
  mariadbCnf: string;
  nodeVersion: string;
  rootSizeMb: number;
  lunSizeMb: number;
  lunLabelId: string;
  lunFsLabel: string;
}

/** Every regular file under `dir`, sorted by path, with its mode's executable bit and its sha256. */
export function recipeFiles(dir: string): RecipeFile[] {
  const files: RecipeFile[] = [];
  const walk = (relative: string): void => {
    for (const name of readdirSync(path.join(dir, relative)).sort()) {
      const rel = relative === '' ? name : `${relative}/${name}`;
      const stat = statSync(path.join(dir, rel));
      if (stat.isDirectory()) walk(rel);
      else files.push({ path: rel, executable: (stat.mode & 0o111) !== 0, sha256: createHash('sha256').update(readFileSync(path.join(dir, rel))).digest('hex') });
    }
  };
  walk('');
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The recipe for the guest files in `guestDir` and a node binary of `nodeVersion` (e.g. `v20.20.2`). */
export function recipe(guestDir: string, nodeVersion: string): Recipe {
  return {
    buildVersion: IMAGE_BUILD_VERSION,
    release: GUEST_RELEASE,
    variant: 'minbase',
    packages: [...GUEST_PACKAGES],
    files: recipeFiles(guestDir),
    mariadbCnf: guestMariadbCnf(),
    nodeVersion,
    rootSizeMb: ROOT_SIZE_MB,
    lunSizeMb: LUN_SIZE_MB,
    lunLabelId: LUN_LABEL_ID,
    lunFsLabel: LUN_FS_LABEL,
  };
}

/**
 * The plain image's recipe: the guest files of `guestDir` (identity, network, ssh) and those of
 * `plainDir` (its customize script) under `plain/`; no node binary, no MariaDB settings.
 */
export function plainRecipe(guestDir: string, plainDir: string): Recipe {
  return {
    image: 'plain',
    buildVersion: IMAGE_BUILD_VERSION,
    release: GUEST_RELEASE,
    variant: 'minbase',
    packages: [...PLAIN_PACKAGES],
    files: [...recipeFiles(guestDir), ...recipeFiles(plainDir).map((file) => ({ ...file, path: `plain/${file.path}` }))],
    mariadbCnf: '',
    nodeVersion: '',
    rootSizeMb: ROOT_SIZE_MB,
    lunSizeMb: LUN_SIZE_MB,
    lunLabelId: LUN_LABEL_ID,
    lunFsLabel: '',
  };
}

/** JSON with object keys sorted at every level: one text per value, whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The cache key of a recipe: the first 16 hex digits of the sha256 of its canonical JSON. */
export function recipeHash(value: Recipe): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16);
}
