import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hostMirror, mirrorFromDeb822, mirrorFromOneLine } from '../../../lab/vm/mirror.ts';
import { scratchDir } from '../../helpers/scratch.ts';

const { fresh } = scratchDir('vm-mirror');

const DEBIAN_SOURCES = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
`;

describe('the guest image mirror, read from the host apt sources', () => {
  it('takes the URIs of the deb822 stanza whose Suites list the release', () => {
    assert.equal(mirrorFromDeb822(DEBIAN_SOURCES, 'bookworm'), 'http://deb.debian.org/debian');
    assert.equal(mirrorFromDeb822(DEBIAN_SOURCES, 'bookworm-security'), 'http://deb.debian.org/debian-security');
    assert.equal(mirrorFromDeb822(DEBIAN_SOURCES, 'trixie'), null);
  });

  it('skips deb-src only and disabled stanzas, and reads the first of several URIs', () => {
    const text = 'Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n\nEnabled: no\nTypes: deb\nURIs: http://off.example/debian\nSuites: bookworm\n\nTypes: deb deb-src\nURIs: http://a.example/debian http://b.example/debian\nSuites: bookworm\n';
    assert.equal(mirrorFromDeb822(text, 'bookworm'), 'http://a.example/debian');
  });

  it('reads one-line entries, options and comments included', () => {
    const text = '# deb http://old.example/debian bookworm main\ndeb-src http://src.example/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main contrib\n';
    assert.equal(mirrorFromOneLine(text, 'bookworm'), 'http://mirror.example/debian');
    assert.equal(mirrorFromOneLine(text, 'bookworm-updates'), null);
  });

  it('prefers *.sources over sources.list, and names the files it read when none matches', () => {
    const root = fresh('root');
    mkdirSync(path.join(root, 'etc/apt/sources.list.d'), { recursive: true });
    writeFileSync(path.join(root, 'etc/apt/sources.list'), 'deb http://list.example/debian bookworm main\n');
    assert.equal(hostMirror('bookworm', root), 'http://list.example/debian');
    writeFileSync(path.join(root, 'etc/apt/sources.list.d/debian.sources'), DEBIAN_SOURCES);
    assert.equal(hostMirror('bookworm', root), 'http://deb.debian.org/debian');
    assert.throws(() => hostMirror('trixie', root), /no apt source for suite trixie on this host \(read .*debian\.sources, .*sources\.list\)/);
  });
});
