import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cachedPrStatus, readPrStateFile, writePrStateFile, type PrStateFile } from '../../../../fence/scsi-pr/state-file.ts';

const status = { held: true, holder: '0x11', registrants: ['0x11'], detail: '/dev/sdb: reserved WERO by 0x11 (this node); keys 0x11 (generation 3)' };
const file = (over: Partial<PrStateFile> = {}): PrStateFile => ({ version: 1, bootId: 'b1', pid: 42, held: true, status, readAtMs: 1000, lost: null, lastPreempt: null, writtenAtMs: 1000, ...over });
const alive = (): boolean => true;
const dead = (): boolean => false;

describe('scsi-pr state file', () => {
  it('round-trips on the same boot and is ignored from another boot or when missing', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fa-pr-state-'));
    try {
      assert.equal(readPrStateFile(dir, 'b1'), null);
      writePrStateFile(dir, file());
      assert.deepEqual(readPrStateFile(dir, 'b1'), file());
      assert.equal(readPrStateFile(dir, 'b2'), null);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a held fence read within the bound is taken, with its age in the detail', () => {
    const cached = cachedPrStatus(file(), 3000, alive, 3500);
    assert.deepEqual({ ...cached, detail: undefined }, { ...status, detail: undefined });
    assert.match(cached?.detail ?? '', /\(read by the daemon 2500 ms ago\)$/);
  });

  it('a fence taken from a peer says how: PREEMPT AND ABORT, or plain PREEMPT and a drain where the target refused it', () => {
    assert.match(cachedPrStatus(file({ lastPreempt: 'preempt-and-abort' }), 3000, alive, 1500)?.detail ?? '', /ms ago\); taken over by PREEMPT AND ABORT$/);
    assert.match(cachedPrStatus(file({ lastPreempt: 'preempt' }), 3000, alive, 1500)?.detail ?? '', /; taken over by plain PREEMPT \(the target refused PREEMPT AND ABORT\) and a drain wait$/);
  });

  it('a held fence read longer ago than the bound, or published by a dead daemon, is not taken: read the LU', () => {
    assert.equal(cachedPrStatus(file(), 3000, alive, 4001), null);
    assert.equal(cachedPrStatus(file(), 3000, dead, 1500), null);
    assert.equal(cachedPrStatus(null, 3000, alive, 1500), null);
    assert.equal(cachedPrStatus(file({ status: null, readAtMs: null }), 3000, alive, 1500), null, 'held but never read back');
  });

  it('a live daemon holding nothing is unregistered, and a loss is named with its age', () => {
    const idle = cachedPrStatus(file({ held: false, status: null, readAtMs: null }), 3000, alive, 99_000);
    assert.deepEqual({ held: idle?.held, holder: idle?.holder, registrants: idle?.registrants }, { held: false, holder: null, registrants: [] });
    const fenced = cachedPrStatus(file({ held: false, status: null, readAtMs: null, lost: { reason: 'key 0x11 removed (preempted)', atMs: 5000 } }), 3000, alive, 6000);
    assert.match(fenced?.detail ?? '', /fence lost 1000 ms ago: key 0x11 removed \(preempted\)/);
  });
});
