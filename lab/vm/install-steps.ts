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
