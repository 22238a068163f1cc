// The two-VM lab's guest image, built by the project: Debian 12 debootstrapped from the host's own
// mirror (lab/vm/mirror.ts), customized in a chroot (lab/vm/guest/customize.sh plus the files of
// lab/vm/guest/rootfs/), with the host's node binary copied in (Debian 12 ships Node 18). Out of
// it: a qcow2 root filesystem (no partition table, no bootloader: QEMU boots the copied-out kernel
// and initrd), the golden shared LUN (a dos partition table, partition 1 ext4 holding a MariaDB
// datadir made by the guest's own MariaDB), and the lab's ssh key. Cached in
// `<cache>/<recipe hash>/`; a changed recipe (lab/vm/recipe.ts) builds a new one. A build works in
// `<cache>/.build-<hash>-<pid>/` and is renamed into place at the end, so a killed build leaves
// no half-made image (the next build removes its leftovers). The agent is not in the image: it
// changes with every commit and is copied in by `vmlab up` (lab/vm/agent.ts).
import { appendFileSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sh, shOk } from '../sh.ts';
import { inBuildSandbox } from './build-sandbox.ts';
import { hostMirror } from './mirror.ts';
import { withHeartbeat } from './progress.ts';
import { VMLAB_RUN } from './state.ts';
import { GUEST_PACKAGES, GUEST_RELEASE, LUN_FS_LABEL, LUN_LABEL_ID, LUN_SIZE_MB, PLAIN_PACKAGES, plainRecipe, recipe, recipeHash, ROOT_SIZE_MB, type Recipe } from './recipe.ts';

/** Root of the image cache: one directory per recipe hash, plus `debs/` (debootstrap's package cache). */
export const VMLAB_CACHE = process.env.FENCE_AGENT_VMLAB_CACHE ?? '/var/cache/fence-agent-vmlab';
/** The guest's customize script and the files copied over its root. */
export const GUEST_DIR = path.join(import.meta.dirname, 'guest');
/** The plain image's customize script (lab/vm/recipe.ts plainRecipe). */
export const PLAIN_GUEST_DIR = path.join(import.meta.dirname, 'guest-plain');

/** A built image, everything in `dir`. */
export interface GuestImage {
  /** `<cache>/<hash>` */
  dir: string;
  hash: string;
  /** the root filesystem, qcow2 (each VM runs on its own overlay of it) */
  base: string;
  kernel: string;
  initrd: string;
  /** the golden shared LUN (raw, sparse): copied per lab; the plain image's has a partition and no filesystem */
  lun: string;
  /** the lab's private ssh key (root in every guest) */
  sshKey: string;
  recipe: Recipe;
}

export interface ImageOptions {
  /**
   * `pair` (default): the pair's software installed, the agent's runtime copied in, a LUN with
   * MariaDB's datadir; `plain`: a plain Debian server (kernel, systemd, ssh, network) for the
   * install test, and a LUN with one empty partition
   */
  variant?: 'pair' | 'plain';
  /** default {@link VMLAB_CACHE} */
  cacheDir?: string;
  /** the node binary copied into the guest as /usr/local/bin/node; default /usr/bin/node (else this process's) */
  nodeBinary?: string;
  /** the Debian mirror; default the host's (lab/vm/mirror.ts) */
  mirror?: string;
  /** progress lines (phases and their durations); default stderr */
  log?: (line: string) => void;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** The node binary to copy in and its version (`node --version`). */
async function nodeBinaryOf(options: ImageOptions): Promise<{ file: string; version: string }> {
  const file = options.nodeBinary ?? (existsSync('/usr/bin/node') ? '/usr/bin/node' : process.execPath);
  const version = (await shOk([file, '--version'])).trim();
  return { file, version };
}

/** The image's files for a cache directory and hash (whether built or not). */
function imageAt(dir: string, hash: string, value: Recipe): GuestImage {
  return {
    dir,
    hash,
    base: path.join(dir, 'base.qcow2'),
    kernel: path.join(dir, 'vmlinuz'),
    initrd: path.join(dir, 'initrd.img'),
    lun: path.join(dir, 'lun.img'),
    sshKey: path.join(dir, 'id_ed25519'),
    recipe: value,
  };
}

/** Whether a pid names a live process. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes `.build-<hash>-<pid>` directories whose builder is gone (a killed build). */
function removeStaleBuilds(cacheDir: string, log: (line: string) => void): void {
  for (const name of readdirSync(cacheDir)) {
    const match = /^\.build-[0-9a-f]+-(\d+)$/.exec(name);
    if (match === null || alive(Number(match[1]))) continue;
    log(`image: removing ${path.join(cacheDir, name)} (left by a build that did not finish)`);
    rmSync(path.join(cacheDir, name), { recursive: true, force: true });
  }
}

/**
 * The cached image for the current recipe, built first if missing (2–5 min, mostly debootstrap;
 * a rebuild reuses the downloaded packages in `<cache>/debs`).
 * @throws when a build step fails: one line naming the step, with the tail of its output (the
 *   whole log is kept in `<cache>/failed-<hash>.log`)
 */
export async function ensureImage(options: ImageOptions = {}): Promise<GuestImage> {
  const cacheDir = options.cacheDir ?? VMLAB_CACHE;
  const log = options.log ?? ((line: string) => console.error(line));
  const node = await nodeBinaryOf(options);
  const value = options.variant === 'plain' ? plainRecipe(GUEST_DIR, PLAIN_GUEST_DIR) : recipe(GUEST_DIR, node.version);
  const hash = recipeHash(value);
  const image = imageAt(path.join(cacheDir, hash), hash, value);
  if (existsSync(path.join(image.dir, 'recipe.json'))) {
    // last used = newest, for pruneImages
    utimesSync(image.dir, new Date(), new Date());
    return image;
  }

  mkdirSync(cacheDir, { recursive: true });
  removeStaleBuilds(cacheDir, log);
  const work = path.join(cacheDir, `.build-${hash}-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work);
  const buildLog = path.join(work, 'build.log');
  const started = Date.now();
  log(`image: building ${hash} in ${work} (recipe changed or no cache)`);
  try {
    await (value.image === 'plain' ? buildPlain : build)(imageAt(work, hash, value), { cacheDir, hash, mirror: options.mirror ?? hostMirror(GUEST_RELEASE), node, buildLog, log });
    writeFileSync(path.join(work, 'recipe.json'), `${JSON.stringify(value, null, 2)}\n`);
    rmSync(buildLog, { force: true });
    rmSync(path.join(cacheDir, `failed-${hash}.log`), { force: true });
    try {
      renameSync(work, image.dir);
    } catch (error) {
      // another build of the same recipe finished first: use it
      if (!existsSync(path.join(image.dir, 'recipe.json'))) throw error;
      rmSync(work, { recursive: true, force: true });
    }
  } catch (error) {
    if (existsSync(buildLog)) copyFileSync(buildLog, path.join(cacheDir, `failed-${hash}.log`));
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
  log(`image: ${hash} built in ${seconds(Date.now() - started)} (${image.dir})`);
  pruneImages(cacheDir, KEEP_IMAGES, log);
  return image;
}

/** How many built images the cache keeps (the most recently used or built; one in use by a lab is never removed): the pair's, the plain one, and one more. */
export const KEEP_IMAGES = 3;

/** Image directories (`<cache>/<16 hex digits>`) named by the state file of any lab that exists. */
function imagesInUse(): Set<string> {
  const used = new Set<string>();
  if (!existsSync(VMLAB_RUN)) return used;
  for (const tag of readdirSync(VMLAB_RUN)) {
    try {
      const state = JSON.parse(readFileSync(path.join(VMLAB_RUN, tag, 'state.json'), 'utf8')) as { image?: { dir?: string } };
      if (state.image?.dir !== undefined) used.add(state.image.dir);
    } catch {
      // no state there
    }
  }
  return used;
}

/**
 * Removes built images beyond the `keep` most recently used (directory mtime, touched on each use),
 * except those a lab's state names (their VMs' overlays are backed by them). Each is ~1.1 GB.
 */
export function pruneImages(cacheDir: string, keep: number, log: (line: string) => void): void {
  const used = imagesInUse();
  const images = readdirSync(cacheDir)
    .filter((name) => /^[0-9a-f]{16}$/.test(name) && existsSync(path.join(cacheDir, name, 'recipe.json')))
    .map((name) => ({ dir: path.join(cacheDir, name), mtimeMs: statSync(path.join(cacheDir, name)).mtimeMs }))
    .sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const image of images.slice(keep)) {
    if (used.has(image.dir)) continue;
    log(`image: removing the older image ${image.dir}`);
    rmSync(image.dir, { recursive: true, force: true });
  }
}

interface BuildContext {
  cacheDir: string;
  hash: string;
  mirror: string;
  node: { file: string; version: string };
  buildLog: string;
  log: (line: string) => void;
}

/**
 * Runs one build command in the build's sandbox (lab/vm/build-sandbox.ts: it and all it starts die
 * with this process, its mounts stay private), its output appended to the build log; throws with
 * the output's tail.
 */
async function step(what: string, argv: readonly string[], context: BuildContext, timeoutMs = 600_000): Promise<void> {
  appendFileSync(context.buildLog, `\n$ ${argv.join(' ')}\n`);
  const ran = await sh(inBuildSandbox(argv), { timeoutMs });
  appendFileSync(context.buildLog, `${ran.stdout}${ran.stderr}`);
  if (ran.exitCode !== 0) {
    const tail = `${ran.stdout}${ran.stderr}`.trim().split('\n').slice(-12).join('\n');
    throw new Error(`image: ${what} failed (exit ${ran.exitCode}; whole log in ${path.join(context.cacheDir, `failed-${context.hash}.log`)}):\n${tail}`);
  }
}

/** Times a build phase and logs its duration; every 30 s while it runs, that it still does. */
async function phase<T>(name: string, context: BuildContext, body: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await withHeartbeat(context.log, (ms) => `image: ${name}: still running, ${seconds(ms)}`, body);
  context.log(`image: ${name} ${seconds(Date.now() - started)}`);
  return result;
}

/** The one file in `dir` whose name starts with `prefix` (the kernel, the initrd). */
function onlyFile(dir: string, prefix: string): string {
  const found = readdirSync(dir)
    .filter((name) => name.startsWith(prefix))
    .sort();
  const last = found.at(-1);
  if (last === undefined) throw new Error(`image: no ${prefix}* in ${dir}`);
  return path.join(dir, last);
}

/** The root filesystem tree `rootfs` as the image's qcow2 base (mkfs.ext4 -d, qemu-img convert); the tree is removed. */
async function rootImage(image: GuestImage, rootfs: string, context: BuildContext): Promise<void> {
  await phase('root image (mkfs.ext4 -d, qemu-img convert)', context, async () => {
    const raw = path.join(image.dir, 'root.raw');
    await step('mkfs.ext4 (root)', ['mkfs.ext4', '-q', '-F', '-L', 'root', '-d', rootfs, raw, `${ROOT_SIZE_MB}M`], context);
    await step('qemu-img convert', ['qemu-img', 'convert', '-O', 'qcow2', raw, image.base], context);
    rmSync(raw);
    rmSync(rootfs, { recursive: true, force: true });
  });
}

async function build(image: GuestImage, context: BuildContext): Promise<void> {
  const rootfs = path.join(image.dir, 'rootfs');
  const lunRoot = path.join(image.dir, 'lun-root');

  await phase(`debootstrap (${GUEST_RELEASE} minbase + ${GUEST_PACKAGES.length} packages from ${context.mirror})`, context, async () => {
    const debs = path.join(context.cacheDir, 'debs');
    mkdirSync(debs, { recursive: true });
    await step(
      'debootstrap',
      ['debootstrap', '--variant=minbase', `--include=${GUEST_PACKAGES.join(',')}`, `--cache-dir=${debs}`, GUEST_RELEASE, rootfs, context.mirror],
      context,
      1_200_000,
    );
  });

  await phase('customize (chroot)', context, async () => {
    cpSync(path.join(GUEST_DIR, 'rootfs'), rootfs, { recursive: true });
    writeFileSync(path.join(rootfs, 'etc/mysql/mariadb.conf.d/60-vmlab.cnf'), image.recipe.mariadbCnf);
    copyFileSync(context.node.file, path.join(rootfs, 'usr/local/bin/node'));
    await step('ssh-keygen', ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', `vmlab-${image.hash}`, '-f', image.sshKey], context);
    mkdirSync(path.join(rootfs, 'root/.ssh'), { recursive: true });
    copyFileSync(`${image.sshKey}.pub`, path.join(rootfs, 'root/.ssh/authorized_keys'));
    copyFileSync(path.join(GUEST_DIR, 'customize.sh'), path.join(rootfs, 'tmp/vmlab-customize.sh'));
    copyFileSync(path.join(GUEST_DIR, 'template.sh'), path.join(rootfs, 'tmp/vmlab-template.sh'));
    writeFileSync(path.join(rootfs, 'tmp/vmlab-lun.cnf'), image.recipe.mariadbCnf.replace('datadir=/data/mysql\n', ''));
    await step('customize.sh', ['sh', '-c', `mount -t proc proc '${rootfs}/proc' && exec chroot '${rootfs}' /bin/sh /tmp/vmlab-customize.sh`], context);
    renameSync(path.join(rootfs, 'var/tmp/vmlab-lun'), lunRoot);
    copyFileSync(onlyFile(path.join(rootfs, 'boot'), 'vmlinuz-'), image.kernel);
    copyFileSync(onlyFile(path.join(rootfs, 'boot'), 'initrd.img-'), image.initrd);
  });

  await rootImage(image, rootfs, context);

  await phase(`golden LUN (${LUN_SIZE_MB} MiB, dos, partition 1 ext4 "${LUN_FS_LABEL}" with /mysql)`, context, async () => {
    await step('truncate (LUN)', ['truncate', '-s', `${LUN_SIZE_MB}M`, image.lun], context);
    const table = `label: dos\nlabel-id: ${LUN_LABEL_ID}\nstart=2048, type=83\n`;
    appendFileSync(context.buildLog, `\n$ sfdisk ${image.lun} <<< ${JSON.stringify(table)}\n`);
    await shOk(['sfdisk', '-q', image.lun], { input: table });
    const partitionKb = LUN_SIZE_MB * 1024 - 1024;
    await step('mkfs.ext4 (LUN)', ['mkfs.ext4', '-q', '-F', '-L', LUN_FS_LABEL, '-E', 'offset=1048576', '-d', lunRoot, image.lun, `${partitionKb}k`], context);
    rmSync(lunRoot, { recursive: true, force: true });
  });
  const size = (file: string): string => `${(statSync(file).size / 1048576).toFixed(0)} MiB`;
  context.log(`image: base.qcow2 ${size(image.base)}, vmlinuz ${size(image.kernel)}, initrd ${size(image.initrd)}; node ${context.node.version} from ${context.node.file}`);
  if (!readFileSync(`${image.sshKey}.pub`, 'utf8').startsWith('ssh-ed25519 ')) throw new Error('image: the generated ssh key is not ed25519');
}

/**
 * The plain image: debootstrap of {@link PLAIN_PACKAGES}, the lab's identity, network and ssh
 * (lab/vm/guest/rootfs, then lab/vm/guest-plain/customize.sh), and a LUN with a dos partition
 * table and one partition, no filesystem: what a storage admin hands over.
 */
async function buildPlain(image: GuestImage, context: BuildContext): Promise<void> {
  const rootfs = path.join(image.dir, 'rootfs');
  await phase(`debootstrap (${GUEST_RELEASE} minbase + ${PLAIN_PACKAGES.length} packages from ${context.mirror})`, context, async () => {
    const debs = path.join(context.cacheDir, 'debs');
    mkdirSync(debs, { recursive: true });
    await step('debootstrap', ['debootstrap', '--variant=minbase', `--include=${PLAIN_PACKAGES.join(',')}`, `--cache-dir=${debs}`, GUEST_RELEASE, rootfs, context.mirror], context, 1_200_000);
  });
  await phase('customize (chroot)', context, async () => {
    cpSync(path.join(GUEST_DIR, 'rootfs'), rootfs, { recursive: true });
    await step('ssh-keygen', ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', `vmlab-${image.hash}`, '-f', image.sshKey], context);
    mkdirSync(path.join(rootfs, 'root/.ssh'), { recursive: true });
    copyFileSync(`${image.sshKey}.pub`, path.join(rootfs, 'root/.ssh/authorized_keys'));
    copyFileSync(path.join(PLAIN_GUEST_DIR, 'customize.sh'), path.join(rootfs, 'tmp/vmlab-customize.sh'));
    copyFileSync(path.join(GUEST_DIR, 'template.sh'), path.join(rootfs, 'tmp/vmlab-template.sh'));
    await step('customize.sh (plain)', ['sh', '-c', `mount -t proc proc '${rootfs}/proc' && exec chroot '${rootfs}' /bin/sh /tmp/vmlab-customize.sh`], context);
    copyFileSync(onlyFile(path.join(rootfs, 'boot'), 'vmlinuz-'), image.kernel);
    copyFileSync(onlyFile(path.join(rootfs, 'boot'), 'initrd.img-'), image.initrd);
  });
  await rootImage(image, rootfs, context);
  await phase(`blank LUN (${LUN_SIZE_MB} MiB, dos, partition 1, no filesystem)`, context, async () => {
    await step('truncate (LUN)', ['truncate', '-s', `${LUN_SIZE_MB}M`, image.lun], context);
    await shOk(['sfdisk', '-q', image.lun], { input: `label: dos\nlabel-id: ${LUN_LABEL_ID}\nstart=2048, type=83\n` });
  });
  if (!readFileSync(`${image.sshKey}.pub`, 'utf8').startsWith('ssh-ed25519 ')) throw new Error('image: the generated ssh key is not ed25519');
}
