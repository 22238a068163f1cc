// `npm run vagrant -- prepare`: what vagrant/Vagrantfile needs from the checkout, in vagrant/.lab/
// (git-ignored; each file written again each time):
//   lab.json                     the lab (lab/vagrant/spec.ts): machines, addresses, the default box
//   san.sh, node.sh              the provisioning (lab/vagrant/provision.ts: LIO; README "Install")
//   fence-agent.tar.gz           the agent as README "Install" step 4 packs it (dist/ built first)
//   node-vX.Y.Z-linux-x64.tar.gz Node for the nodes: made from this host's binary (Linux x64), or
//                                nodejs.org's tarball given with --node-tarball
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { packAgent, packNode } from '../vm/install-media.ts';
import { nodeScript, sanScript } from './provision.ts';
import { vagrantLabSpec, type VagrantLabSpec } from './spec.ts';

/** The repository's root. */
export const REPO = path.resolve(import.meta.dirname, '..', '..');
/** The Vagrant project directory (vagrant/Vagrantfile). */
export const VAGRANT_DIR = path.join(REPO, 'vagrant');
/** What prepare writes, beside the Vagrantfile. */
export const PREPARED_DIR = path.join(VAGRANT_DIR, '.lab');

/** `node-v20.19.0-linux-x64.tar.gz` and the like: nodejs.org's Linux x64 tarballs. */
const NODE_TARBALL_NAME = /^node-v(\d+)\.(\d+)\.(\d+)-linux-x64\.tar\.(gz|xz)$/;

export interface PrepareOptions {
  /** nodejs.org's `node-vX.Y.Z-linux-x64.tar.gz` (or .xz) to use instead of packing this host's binary */
  nodeTarball?: string;
  /** default {@link PREPARED_DIR} */
  dir?: string;
  log?: (line: string) => void;
}

/**
 * Writes vagrant/.lab/'s files. Needs a built dist/ (`npm run build`).
 * @throws Error with `code` 'EVAGRANT_PREPARE' when dist/ is missing, the node tarball is not a
 *   nodejs.org Linux x64 tarball of Node ≥ 20.19, or this host cannot pack its own binary (not
 *   Linux x64) and none was given; the README's install blocks errors (lab/vagrant/provision.ts)
 */
export async function prepare(options: PrepareOptions = {}): Promise<VagrantLabSpec> {
  const dir = options.dir ?? PREPARED_DIR;
  const log = options.log ?? ((): void => {});
  const fail = (message: string): never => {
    throw Object.assign(new Error(`vagrant prepare: ${message}`), { code: 'EVAGRANT_PREPARE' });
  };
  if (options.nodeTarball !== undefined) {
    const match = NODE_TARBALL_NAME.exec(path.basename(options.nodeTarball));
    if (match === null) fail(`--node-tarball ${options.nodeTarball}: expected nodejs.org's node-vX.Y.Z-linux-x64.tar.gz (or .tar.xz)`);
    const [major, minor] = [Number(match?.[1]), Number(match?.[2])];
    if (major < 20 || (major === 20 && minor < 19)) fail(`--node-tarball ${options.nodeTarball}: Node ${major}.${minor} is older than 20.19`);
    if (!existsSync(options.nodeTarball)) fail(`--node-tarball ${options.nodeTarball}: no such file`);
  } else if (process.platform !== 'linux' || process.arch !== 'x64') {
    fail(`this host is ${process.platform}-${process.arch}: download node-v20.x.y-linux-x64.tar.gz from nodejs.org and pass it with --node-tarball`);
  }
  if (!existsSync(path.join(REPO, 'dist', 'cli.cjs'))) fail('no dist/cli.cjs: run `npm run build` first');
  // the scripts first: a README they cannot follow changes nothing on disk
  const nodeTarball = options.nodeTarball === undefined ? `node-${process.version}-linux-x64.tar.gz` : path.basename(options.nodeTarball);
  const spec = vagrantLabSpec(nodeTarball);
  const nodeSh = nodeScript(readFileSync(path.join(REPO, 'README.md'), 'utf8'), spec);

  // only its own files: the directory is not emptied (a lab that is up keeps what it uses)
  mkdirSync(dir, { recursive: true });
  if (options.nodeTarball !== undefined) copyFileSync(options.nodeTarball, path.join(dir, nodeTarball));
  else if (path.basename(await packNode(process.execPath, dir)) !== nodeTarball) fail(`packing ${process.execPath} did not make ${nodeTarball}`);
  log(`vagrant prepare: ${nodeTarball}`);
  await packAgent(REPO, path.join(dir, 'fence-agent.tar.gz'));
  log('vagrant prepare: fence-agent.tar.gz (dist/, contrib/, production node_modules)');
  writeFileSync(path.join(dir, 'lab.json'), `${JSON.stringify(spec, null, 2)}\n`);
  writeFileSync(path.join(dir, 'san.sh'), `${sanScript()}\n`, { mode: 0o755 });
  writeFileSync(path.join(dir, 'node.sh'), nodeSh, { mode: 0o755 });
  log(`vagrant prepare: lab.json, san.sh, node.sh (README "Install") in ${path.relative(REPO, dir)}/`);
  return spec;
}
