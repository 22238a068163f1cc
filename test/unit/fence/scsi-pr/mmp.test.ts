import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MMP_MAGIC, MMP_SEQ_CLEAN, mmpWaitMs, parseDumpe2fs, parseMmpBlock } from '../../../../fence/scsi-pr/mmp.ts';

const DUMPE2FS = `Filesystem volume name:   shared
Filesystem features:      has_journal ext_attr resize_inode dir_index filetype extent 64bit mmp flex_bg sparse_super large_file huge_file dir_nlink extra_isize metadata_csum
Block size:               4096
MMP block number:         4385
MMP update interval:      5
`;

/** An mmp_struct as the kernel writes it (little-endian). */
function block(seq: number, nodename: string, checkIntervalS: number): Buffer {
  const b = Buffer.alloc(1024);
  b.writeUInt32LE(MMP_MAGIC, 0);
  b.writeUInt32LE(seq, 4);
  b.writeBigUInt64LE(1796318682n, 8);
  b.write(nodename, 16, 'latin1');
  b.write('sdb1', 80, 'latin1');
  b.writeUInt16LE(checkIntervalS, 112);
  return b;
}

describe('MMP parsing', () => {
  it('parseDumpe2fs finds the MMP block, block size and interval, and null without the mmp feature', () => {
    assert.deepEqual(parseDumpe2fs(DUMPE2FS), { blockSize: 4096, block: 4385, updateIntervalS: 5 });
    assert.equal(parseDumpe2fs(DUMPE2FS.replace(' mmp ', ' ')), null);
    assert.throws(() => parseDumpe2fs(DUMPE2FS.replace(/^MMP block number:.*$/m, '')), { code: 'EMMP' });
  });

  it('parseMmpBlock reads the sequence, time, writer and check interval', () => {
    assert.deepEqual(parseMmpBlock(block(0x1234abcd, 'node1', 7)), { seq: 0x1234abcd, timeS: 1796318682, nodename: 'node1', bdevname: 'sdb1', checkIntervalS: 7 });
    assert.equal(parseMmpBlock(block(MMP_SEQ_CLEAN, 'node1', 5)).seq, MMP_SEQ_CLEAN);
  });

  it('parseMmpBlock refuses a block without the MMP magic, or too short', () => {
    assert.throws(() => parseMmpBlock(Buffer.alloc(1024)), { code: 'EMMP', message: /magic 0x0/ });
    assert.throws(() => parseMmpBlock(Buffer.alloc(16)), { code: 'EMMP' });
  });

  it('mmpWaitMs is the kernel\'s mount-time wait: 2·ci + 1 s, ci at least 5 s, at most ci + 60 s', () => {
    const location = { blockSize: 4096, block: 1, updateIntervalS: 1 };
    assert.equal(mmpWaitMs(location, parseMmpBlock(block(1, 'n', 0))), 11_000);
    assert.equal(mmpWaitMs({ ...location, updateIntervalS: 10 }, parseMmpBlock(block(1, 'n', 0))), 21_000);
    assert.equal(mmpWaitMs(location, parseMmpBlock(block(1, 'n', 100))), 160_000);
  });
});
