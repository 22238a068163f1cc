import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { kernelLines, kmsgMessage } from '../../../src/probes/kmsg.ts';

describe('kernel log lines (src/probes/kmsg.ts)', () => {
  it('kmsgMessage takes the message after the record header and drops its continuation lines', () => {
    assert.equal(kmsgMessage('3,1204,176861670,-;sd 7:0:0:1: reservation conflict\n SUBSYSTEM=scsi\n DEVICE=+scsi:7:0:0:1\n'), 'sd 7:0:0:1: reservation conflict');
    assert.equal(kmsgMessage('no header'), null);
  });

  it('kernelLines finds the last lines naming a device in the real kernel log, oldest first (root writes them to /dev/kmsg)', () => {
    const device = `fa${randomUUID().slice(0, 8)}1`;
    for (const n of [1, 2, 3, 4]) writeFileSync('/dev/kmsg', `fence-agent test: EXT4-fs (${device}): line ${n}\n`);
    assert.deepEqual(kernelLines(device, 3), [2, 3, 4].map((n) => `fence-agent test: EXT4-fs (${device}): line ${n}`));
    assert.deepEqual(kernelLines(`${device}-never-logged`), []);
  });

  it('kernelLines gives no lines, and no error, when the log cannot be read', () => {
    assert.deepEqual(kernelLines('sdb1', 3, '/nonexistent/kmsg'), []);
  });
});
