// The Debian mirror the guest image is debootstrapped from: read from the host's own apt sources
// (deb822 `*.sources` files, then one-line `sources.list` files), never hard-coded, so that the
// lab uses whatever mirror (or proxy, or snapshot) this machine is configured for.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The first `URIs:` of a deb822 stanza that has `Types: deb` and `suite` among its `Suites:`, or
 * null. Disabled stanzas (`Enabled: no`) and comments are skipped.
 */
export function mirrorFromDeb822(text: string, suite: string): string | null {
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last: string | null = null;
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#') || line.trim() === '') continue;
      if (/^\s/.test(line) && last !== null) {
        fields.set(last, `${fields.get(last) ?? ''} ${line.trim()}`);
        continue;
      }
      const match = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (match === null) continue;
      last = (match[1] as string).toLowerCase();
      fields.set(last, (match[2] as string).trim());
    }
    const words = (key: string): string[] => (fields.get(key) ?? '').split(/\s+/).filter(Boolean);
    if ((fields.get('enabled') ?? 'yes').toLowerCase() === 'no') continue;
    if (!words('types').includes('deb') || !words('suites').includes(suite)) continue;
    const uri = words('uris')[0];
    if (uri !== undefined) return uri;
  }
  return null;
}

/** The URI of the first one-line `deb [options] URI suite components` entry for `suite`, or null. */
export function mirrorFromOneLine(text: string, suite: string): string | null {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const match = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (match !== null && match[2] === suite) return match[1] as string;
  }
  return null;
}

/** Files under a directory with the given extension, sorted; none when the directory is missing. */
function filesIn(dir: string, extension: string): string[] {
  try {
    return readdirSync(dir)
      .filter((name) => name.endsWith(extension))
      .sort()
      .map((name) => path.join(dir, name));
  } catch {
    return [];
  }
}

/**
 * The host's mirror for `suite`: `<root>/etc/apt/sources.list.d/*.sources` (deb822) first, then
 * `<root>/etc/apt/sources.list` and `sources.list.d/*.list`.
 * @throws when no apt source on the host names `suite` (one line naming the files read)
 */
export function hostMirror(suite: string, root = '/'): string {
  const aptDir = path.join(root, 'etc/apt');
  const deb822 = filesIn(path.join(aptDir, 'sources.list.d'), '.sources');
  const oneLine = [path.join(aptDir, 'sources.list'), ...filesIn(path.join(aptDir, 'sources.list.d'), '.list')];
  const read = (file: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  for (const file of deb822) {
    const uri = mirrorFromDeb822(read(file), suite);
    if (uri !== null) return uri;
  }
  for (const file of oneLine) {
    const uri = mirrorFromOneLine(read(file), suite);
    if (uri !== null) return uri;
  }
  throw new Error(`no apt source for suite ${suite} on this host (read ${[...deb822, ...oneLine].join(', ')})`);
}
