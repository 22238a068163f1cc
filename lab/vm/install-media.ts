// The install test's media: what an operator's server would fetch from the network, on a read-only
// disk the plain VM sees as /dev/vda (the lab's guests have no route out). An ext4 image holding
//   debs/       the Debian packages the lab's image builds downloaded (`<cache>/debs`), with a
//               Packages index (dpkg-scanpackages): a flat apt repository, `deb [trusted=yes]
//               file:/media/install/debs ./`, standing for the distribution's mirror;
//   agent/      fence-agent.tar.gz, made as README "Install" step 4 says for a server without the
//               npm registry: the built checkout's dist/, package.json, package-lock.json, contrib/
//               and its production node_modules;
//   node/       node-<version>-linux-x64.tar.gz with the layout of the official tarball
//               (`node-<version>-linux-x64/bin/node`), made from the host's binary: nodejs.org's
//               own tarball cannot be fetched here.
// Made fresh for each test run in the lab's work directory (a few seconds, ~300 MB sparse).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { sh, shOk } from '../sh.ts';
import { productionPackages } from './agent.ts';

/** Where the install test mounts the media in the guest. */
export const MEDIA_MOUNT = '/media/install';

export interface InstallMedia {
  /** the raw ext4 image */
  image: string;
  /** `node-<version>-linux-x64.tar.gz` under `node/` */
  nodeTarball: string;
  /** `fence-agent.tar.gz` under `agent/` */
  agentTarball: string;
  /** how many .deb files the repository has */
  debs: number;
}

/**
 * Builds the media in `workDir` (removed and made again) from the image cache's `debs`, the
 * checkout `repo` (dist/ built) and the node binary `nodeBinary`.
 * @throws when dist/ is missing, there are no .deb files, or a command fails
 */
export async function buildInstallMedia(options: { workDir: string; debsDir: string; repo: string; nodeBinary: string }): Promise<InstallMedia> {
  const { workDir, debsDir, repo, nodeBinary } = options;
  if (!existsSync(path.join(repo, 'dist', 'cli.cjs'))) throw new Error(`no ${path.join(repo, 'dist', 'cli.cjs')} (npm run build first)`);
  const debs = existsSync(debsDir) ? readdirSync(debsDir).filter((name) => name.endsWith('.deb')) : [];
  if (debs.length === 0) throw new Error(`no .deb files in ${debsDir}: build the pair's image first (it downloads them)`);
  const root = path.join(workDir, 'media');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(path.join(root, 'debs'), { recursive: true });
  mkdirSync(path.join(root, 'agent'));
  mkdirSync(path.join(root, 'node'));

  // hard links where the filesystem allows (the cache and the work dir are both under /var)
  for (const name of debs) {
    const linked = await sh(['ln', path.join(debsDir, name), path.join(root, 'debs', name)]);
    if (linked.exitCode !== 0) await shOk(['cp', path.join(debsDir, name), path.join(root, 'debs', name)]);
  }
  await shOk(['sh', '-c', 'cd "$1" && dpkg-scanpackages --multiversion . > Packages 2> scan.log && rm scan.log', 'scan', path.join(root, 'debs')], { timeoutMs: 120_000 });

  await packAgent(repo, path.join(root, 'agent', 'fence-agent.tar.gz'));
  const nodeTarball = await packNode(nodeBinary, path.join(root, 'node'));

  const image = path.join(workDir, 'media.img');
  rmSync(image, { force: true });
  const usedMb = Math.ceil(Number((await shOk(['du', '-sm', '--apparent-size', root])).split(/\s/)[0]) * 1.3) + 64;
  await shOk(['mkfs.ext4', '-q', '-F', '-L', 'install', '-d', root, image, `${usedMb}M`]);
  rmSync(root, { recursive: true, force: true });
  return { image, nodeTarball: `node/${path.basename(nodeTarball)}`, agentTarball: 'agent/fence-agent.tar.gz', debs: debs.length };
}

/**
 * `file`: the agent as README "Install" step 4 packs it for a server without the npm registry —
 * the built checkout's dist/, package.json, package-lock.json, contrib/ and its production
 * node_modules, root-owned (also the Vagrant lab's, lab/vagrant/prepare.ts).
 * @throws when dist/ is missing or tar fails
 */
export async function packAgent(repo: string, file: string): Promise<void> {
  if (!existsSync(path.join(repo, 'dist', 'cli.cjs'))) throw new Error(`no ${path.join(repo, 'dist', 'cli.cjs')} (npm run build first)`);
  const packages = productionPackages(readFileSync(path.join(repo, 'package-lock.json'), 'utf8')).filter((entry) => existsSync(path.join(repo, entry)));
  mkdirSync(path.dirname(file), { recursive: true });
  await shOk(['tar', '-czf', file, '--owner=0', '--group=0', '-C', repo, 'dist', 'package.json', 'package-lock.json', 'contrib', ...packages]);
}

/**
 * `node-<version>-linux-x64.tar.gz` in `dir`, with the layout of nodejs.org's tarball
 * (`node-<version>-linux-x64/bin/node`), made from the binary `nodeBinary` (nodejs.org cannot be
 * reached from here). Resolves with the tarball's path.
 * @throws when the binary does not run or tar fails
 */
export async function packNode(nodeBinary: string, dir: string): Promise<string> {
  const version = (await shOk([nodeBinary, '--version'])).trim();
  const nodeName = `node-${version}-linux-x64`;
  const stage = path.join(dir, '.node-stage');
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(path.join(stage, nodeName, 'bin'), { recursive: true });
  try {
    await shOk(['cp', nodeBinary, path.join(stage, nodeName, 'bin', 'node')]);
    const tarball = path.join(dir, `${nodeName}.tar.gz`);
    await shOk(['tar', '-czf', tarball, '--owner=0', '--group=0', '-C', stage, nodeName]);
    return tarball;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
