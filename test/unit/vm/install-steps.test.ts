// The README's install procedure as the install test reads it (lab/vm/install-steps.ts), and the
// README itself: its marked blocks are the ones the install test knows.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fillIn, installBlocks, placeholdersOf } from '../../../lab/vm/install-steps.ts';

const fence = '```';
const readme = (body: string): string => body.replaceAll('FENCE', fence);

describe('install steps from the README', () => {
  it('installBlocks takes each sh block right after an install-test marker, in order, and leaves the unmarked ones', () => {
    const text = readme(['intro', '<!-- install-test: one -->', '', 'FENCEsh', 'echo 1', 'echo <LU>', 'FENCE', 'FENCEsh', 'dnf install x', 'FENCE', '<!-- install-test: two -->', 'FENCEsh', "cat > f <<'EOF'", 'x', 'EOF', 'FENCE'].join('\n'));
    assert.deepEqual(installBlocks(text), [
      { name: 'one', script: 'echo 1\necho <LU>' },
      { name: 'two', script: "cat > f <<'EOF'\nx\nEOF" },
    ]);
  });

  it('installBlocks refuses a marker without a sh block, an unclosed block, and a name used twice', () => {
    assert.throws(() => installBlocks(readme('<!-- install-test: a -->\ntext\nFENCEsh\nx\nFENCE')), /install-test "a" \(line 1\) is not followed by a ```sh block/);
    assert.throws(() => installBlocks(readme('<!-- install-test: a -->\nFENCEsh\nx')), /of install-test "a" \(line 2\) is not closed/);
    assert.throws(() => installBlocks(readme('<!-- install-test: a -->\nFENCEsh\nx\nFENCE\n<!-- install-test: a -->\nFENCEsh\ny\nFENCE')), /two install-test blocks named "a"/);
  });

  it('placeholdersOf finds words in angle brackets, once each, and not heredocs or redirections', () => {
    assert.deepEqual(placeholdersOf("iscsiadm -p <portal> -T <target> -p <portal>\ncat > f <<'EOF'\ndiff <(a) b\nmount <LU>-part1 /data\nx --src <this node>"), ['portal', 'target', 'LU', 'this node']);
  });

  it('fillIn replaces every placeholder, and names the ones it has no value for', () => {
    const block = { name: 'iscsi', script: 'iscsiadm -p <portal> -T <target> -p <portal>' };
    assert.equal(fillIn(block, { portal: '10.0.0.1:3260', target: 'iqn.x' }), 'iscsiadm -p 10.0.0.1:3260 -T iqn.x -p 10.0.0.1:3260');
    assert.throws(() => fillIn(block, { portal: 'p' }), /README install-test "iscsi": no value for <target>/);
  });

  it("the README's install section has the blocks the install test runs, in its order", () => {
    const blocks = installBlocks(readFileSync(path.join(import.meta.dirname, '..', '..', '..', 'README.md'), 'utf8'));
    assert.deepEqual(
      blocks.map((block) => block.name),
      ['packages', 'database', 'iscsi', 'filesystem', 'agent', 'units', 'doctor', 'start'],
    );
    assert.deepEqual([...new Set(blocks.flatMap((block) => placeholdersOf(block.script)))].sort(), ['LU', 'agent tarball', 'interface', 'node tarball', 'portal', 'priority', 'target', 'the other node', 'this node']);
  });
});
