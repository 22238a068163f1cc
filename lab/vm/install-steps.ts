// The README's install procedure as the install test runs it: every fenced ```sh block right
// after an `<!-- install-test: NAME -->` comment, in order, with its placeholders (`<LU>`,
// `<portal>`, …: a lowercase word or words in angle brackets) filled in. Docs and test cannot
// drift apart: a block the test does not know, or a placeholder it has no value for, is an error.

export interface InstallBlock {
  /** the NAME of `<!-- install-test: NAME -->` */
  name: string;
  /** the block's text, as in the README */
  script: string;
}

const MARKER = /^<!-- install-test: ([a-z][a-z0-9-]*) -->$/;
/** `<LU>`, `<this node>`, `<node tarball>`: angle brackets around letters, digits, spaces or hyphens (not `<<'EOF'`, not `<(…)`) */
const PLACEHOLDER = /<([A-Za-z][A-Za-z0-9 -]*)>/g;

/**
 * The marked blocks of `readme`, in order.
 * @throws Error when a marker is not followed (after blank lines) by a ```sh block, a block is not
 *   closed, or two markers share a name
 */
export function installBlocks(readme: string): InstallBlock[] {
  const lines = readme.split('\n');
  const blocks: InstallBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const marker = MARKER.exec(lines[i]?.trim() ?? '');
    if (marker === null) continue;
    const name = marker[1] as string;
    let start = i + 1;
    while (start < lines.length && lines[start]?.trim() === '') start++;
    if (lines[start]?.trim() !== '```sh') throw new Error(`README: install-test "${name}" (line ${i + 1}) is not followed by a \`\`\`sh block`);
    const end = lines.findIndex((line, index) => index > start && line.trim() === '```');
    if (end < 0) throw new Error(`README: the \`\`\`sh block of install-test "${name}" (line ${start + 1}) is not closed`);
    if (blocks.some((block) => block.name === name)) throw new Error(`README: two install-test blocks named "${name}"`);
    blocks.push({ name, script: lines.slice(start + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

/** The placeholders a script uses (without brackets), each once, in order of first use. */
export function placeholdersOf(script: string): string[] {
  return [...new Set([...script.matchAll(PLACEHOLDER)].map((match) => match[1] as string))];
}

/**
 * The script with every placeholder replaced by its value from `values`.
 * @throws Error naming the placeholders `values` has no value for
 */
export function fillIn(block: InstallBlock, values: Readonly<Record<string, string>>): string {
  const missing = placeholdersOf(block.script).filter((name) => values[name] === undefined);
  if (missing.length > 0) throw new Error(`README install-test "${block.name}": no value for ${missing.map((name) => `<${name}>`).join(', ')}`);
  return block.script.replace(PLACEHOLDER, (_, name: string) => values[name] as string);
}

/**
 * The "then edit it" of README "Install" step 4 as a shell step: node reads the JavaScript from a
 * here-document and writes `/etc/fence-agent/config.json` — the example configuration with this
 * node's values from the environment: `FA_NODE`, `FA_CLUSTER`, `FA_VIP` (`ADDR/PREFIX`),
 * `FA_INTERFACE`, `FA_DEVICE` (the LU's `-part1` link), and `FA_APTPL` (optional, `fence.aptpl`:
 * `auto`, `true`, `false`). scsi-pr, Debian's mariadb.service, and the deadlines and check timing
 * the pair lab uses on one emulated vCPU (lab/vm/pair.ts pairConfig). Run by the install test and
 * by the Vagrant lab's provisioning (lab/vagrant/provision.ts).
 */
export const CONFIG_EDIT_STEP = `node <<'JS'
const fs = require('fs');
const env = (name) => {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error('config edit: no ' + name + ' in the environment');
  return value;
};
const f = '/etc/fence-agent/config.json';
const c = JSON.parse(fs.readFileSync(f, 'utf8'));
const [address, prefix] = env('FA_VIP').split('/');
c.node = env('FA_NODE');
c.cluster = env('FA_CLUSTER');
c.vip = { address, prefix: Number(prefix), interface: env('FA_INTERFACE') };
c.disk = { device: env('FA_DEVICE'), mountpoint: '/data', fstype: 'ext4', options: 'noatime' };
c.mysqld = { systemdUnit: 'mariadb.service', user: 'mysql', pidFile: '/run/mysqld/mysqld.pid', socket: '/run/mysqld/mysqld.sock' };
c.fence = { method: 'scsi-pr', commandTimeoutMs: 5000 };
const aptpl = process.env.FA_APTPL;
if (aptpl !== undefined && aptpl !== '') c.fence.aptpl = aptpl === 'auto' ? 'auto' : aptpl === 'true';
c.deadlines = { checkMs: 3000, sqlPingMs: 2000, mysqldStartMs: 60000, fenceAcquireMs: 40000 };
c.keepalived = { instance: 'VI_1', notifyFifo: '/run/fence-agent/keepalived.fifo', checkIntervalMs: 10000, checkTimeoutMs: 8000, checkFall: 3 };
c.monitor = { healthIntervalMs: 2000 };
delete c.metrics;
fs.writeFileSync(f, JSON.stringify(c, null, 2) + '\\n');
JS`;
