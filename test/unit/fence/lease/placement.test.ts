// Where the lease may live, against a fake LeaseIo (statfs answers a chosen f_type, deviceOf a
// chosen major:minor, or either times out) and mountinfo text written here; then once through the
// real in-process LeaseIo on a scratch directory. /dev/null stands in for the shared device: its
// number is 1:3 on every Linux system, and checkLeasePlacement only reads its st_rdev.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { checkLeasePlacement, mountOf, nfsCachingWarning, SHARED_FILESYSTEMS } from '../../../../fence/lease/placement.ts';
import type { LockfileFenceConfig } from '../../../../src/config/types.ts';
import { FenceAgentError } from '../../../../src/errors.ts';
import { createInlineLeaseIo, type LeaseIo } from '../../../../src/lease-io.ts';
import { majorMinorOf, parseMountinfo, type MountEntry } from '../../../../src/probes/mountinfo.ts';
import { scratchDir } from '../../../helpers/scratch.ts';

const SHARED_DEVICE = '/dev/null';
const SHARED_NUMBER = '1:3';
const NFS = 0x6969;
const EXT4 = 0xef53;
const TMPFS = 0x01021994;
const FUSE = 0x65735546;

const LEASE_DIR = '/srv/nfs/fence';
const config = (over: Partial<LockfileFenceConfig> = {}): LockfileFenceConfig => ({
  method: 'lockfile',
  path: `${LEASE_DIR}/lease`,
  staleMs: 12_000,
  updateMs: 1000,
  ioTimeoutMs: 250,
  marginMs: 1000,
  takeoverAfterMs: 13_000,
  watchdog: null,
  allowNoWatchdog: true,
  allowLocalLease: false,
  ...over,
});

const timedOut = (op: string, where: string, ms: number): FenceAgentError => new FenceAgentError('ETIMEDOUT', `${op} ${where} did not return within ${ms} ms (storage not answering?)`);

interface FakeIo extends LeaseIo {
  /** every statfs/deviceOf call: `<op> <path> <timeoutMs>` */
  calls: string[];
}

/** Makes a fake call time out. */
const HANG: unique symbol = Symbol('hang');

/** A LeaseIo whose statfs answers `type` (or times out) and whose deviceOf answers `device` (or times out). */
const fakeIo = (type: number | typeof HANG, device: string | typeof HANG = '0:52'): FakeIo => {
  const calls: string[] = [];
  return {
    calls,
    read: () => Promise.reject(new Error('not used')),
    replaceIf: () => Promise.reject(new Error('not used')),
    statfs: (where, timeoutMs) => {
      calls.push(`statfs ${where} ${timeoutMs}`);
      if (type === HANG) return Promise.reject(timedOut('statfs', where, timeoutMs));
      return Promise.resolve({ type, bsize: 4096, blocks: 1000, bfree: 500, bavail: 500, files: 100, ffree: 50 });
    },
    deviceOf: (where, timeoutMs) => {
      calls.push(`deviceOf ${where} ${timeoutMs}`);
      return device === HANG ? Promise.reject(timedOut('deviceOf', where, timeoutMs)) : Promise.resolve(device);
    },
    close: () => undefined,
  };
};

const ROOT = '22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro';
const SRV = '30 22 253:2 / /srv rw,relatime shared:5 - ext4 /dev/vda2 rw';
/** An NFS mount line as the kernel prints it: per-mount options, then the NFS options in the super options. */
const nfsLine = (id: number, mountpoint: string, superOptions: string, options = 'rw,relatime'): string =>
  `${id} 30 0:${id} / ${mountpoint} ${options} shared:${id} - nfs4 nas:/export${id} rw,vers=4.2,rsize=1048576,wsize=1048576,namlen=255,${superOptions}hard,proto=tcp,timeo=600,retrans=2,sec=sys,clientaddr=10.0.0.2,local_lock=none,addr=10.0.0.1`;
/** What the kernel prints for `actimeo=0`: every ac* timer, each 0. */
const ACTIMEO_0 = 'acregmin=0,acregmax=0,acdirmin=0,acdirmax=0,';
const mountinfo = (...lines: string[]): string => `${[ROOT, SRV, ...lines].join('\n')}\n`;
const entry = (line: string): MountEntry => parseMountinfo(line)[0]!;

describe('SHARED_FILESYSTEMS', () => {
  it('names NFS by its statfs magic 0x6969, and holds no local filesystem', () => {
    assert.equal(SHARED_FILESYSTEMS.get(NFS), 'nfs');
    for (const local of [EXT4, TMPFS, FUSE]) assert.equal(SHARED_FILESYSTEMS.has(local), false);
  });
});

describe('mountOf', () => {
  const entries = parseMountinfo(mountinfo(nfsLine(40, '/srv/nfs', ''), nfsLine(41, '/srv/nfsX', '')));

  it('picks the mount whose mountpoint is the longest prefix of the directory', () => {
    assert.equal(mountOf('/srv/nfs/fence', entries)?.mountpoint, '/srv/nfs');
    assert.equal(mountOf('/srv/nfs', entries)?.mountpoint, '/srv/nfs');
    assert.equal(mountOf('/srv/other', entries)?.mountpoint, '/srv');
    assert.equal(mountOf('/var/lib', entries)?.mountpoint, '/');
  });

  it('does not take /srv/nfsX for a directory under /srv/nfs, nor /srv/nfs for one under /srv/nfsX', () => {
    assert.equal(mountOf('/srv/nfs/fence', entries)?.mountId, 40);
    assert.equal(mountOf('/srv/nfsX/fence', entries)?.mountId, 41);
    const withoutX = parseMountinfo(mountinfo(nfsLine(40, '/srv/nfs', '')));
    assert.equal(mountOf('/srv/nfsX/fence', withoutX)?.mountpoint, '/srv');
  });

  it('takes the last of mounts stacked on one mountpoint (the one on top), and null when nothing covers the directory', () => {
    const stacked = parseMountinfo(mountinfo(nfsLine(40, '/srv/nfs', ''), nfsLine(42, '/srv/nfs', ACTIMEO_0)));
    assert.equal(mountOf('/srv/nfs/fence', stacked)?.mountId, 42);
    assert.equal(mountOf('/srv/nfs/fence', parseMountinfo(nfsLine(41, '/srv/nfsX', ''))), null);
    assert.equal(mountOf('/srv/nfs/fence', []), null);
  });
});

describe('nfsCachingWarning', () => {
  it('warns about an NFS mount with the default attribute cache, naming the mountpoint and the defaults', () => {
    const warning = nfsCachingWarning(entry(nfsLine(40, '/srv/nfs', '')));
    assert.match(warning ?? '', /^the lease's NFS mount \/srv\/nfs caches attributes \(the defaults \(acregmax 60 s\)\): .* mount it with actimeo=0 \(or noac\)$/);
  });

  it('names the ac* options of a mount that caches for a while', () => {
    const warning = nfsCachingWarning(entry(nfsLine(40, '/srv/nfs', 'acregmin=1,acregmax=5,acdirmin=1,acdirmax=5,')));
    assert.match(warning ?? '', /NFS mount \/srv\/nfs caches attributes \(acregmin=1,acregmax=5,acdirmin=1,acdirmax=5\)/);
  });

  it('warns when only the file timers are 0 (the directory still caches, and a rename shows late)', () => {
    const warning = nfsCachingWarning(entry(nfsLine(40, '/srv/nfs', 'acregmin=0,acregmax=0,')));
    assert.match(warning ?? '', /caches attributes \(acregmin=0,acregmax=0\)/);
  });

  it('accepts actimeo=0 as the kernel prints it (every ac* timer 0) and noac', () => {
    assert.equal(nfsCachingWarning(entry(nfsLine(40, '/srv/nfs', ACTIMEO_0))), null);
    assert.equal(nfsCachingWarning(entry(nfsLine(40, '/srv/nfs', 'sync,noac,'))), null);
    assert.equal(nfsCachingWarning(entry(nfsLine(40, '/srv/nfs', '', 'rw,noac'))), null, 'noac among the per-mount options');
  });
});

describe('checkLeasePlacement', () => {
  it('accepts a lease on NFS mounted with actimeo=0, asking statfs and deviceOf of its directory within fence.ioTimeoutMs', async () => {
    const io = fakeIo(NFS);
    const placement = await checkLeasePlacement(config(), SHARED_DEVICE, io, mountinfo(nfsLine(40, '/srv/nfs', ACTIMEO_0)));
    assert.deepEqual(placement, { errors: [], warnings: [] });
    assert.deepEqual(io.calls.sort(), [`deviceOf ${LEASE_DIR} 250`, `statfs ${LEASE_DIR} 250`]);
  });

  it('accepts a lease on NFS mounted with noac', async () => {
    const placement = await checkLeasePlacement(config(), SHARED_DEVICE, fakeIo(NFS), mountinfo(nfsLine(40, '/srv/nfs', 'sync,noac,')));
    assert.deepEqual(placement, { errors: [], warnings: [] });
  });

  it('accepts, with one warning naming the mountpoint and its options, an NFS mount that caches attributes', async () => {
    const placement = await checkLeasePlacement(config(), SHARED_DEVICE, fakeIo(NFS), mountinfo(nfsLine(40, '/srv/nfs', 'acregmin=3,acregmax=30,')));
    assert.deepEqual(placement.errors, []);
    assert.equal(placement.warnings.length, 1);
    assert.match(placement.warnings[0] ?? '', /NFS mount \/srv\/nfs caches attributes \(acregmin=3,acregmax=30\)/);
  });

  it('judges the caching of the mount the lease is on, not of a neighbour whose name it prefixes', async () => {
    const text = mountinfo(nfsLine(40, '/srv/nfs', ACTIMEO_0), nfsLine(41, '/srv/nfsX', ''));
    assert.deepEqual(await checkLeasePlacement(config(), SHARED_DEVICE, fakeIo(NFS), text), { errors: [], warnings: [] });
    const placement = await checkLeasePlacement(config({ path: '/srv/nfsX/fence/lease' }), SHARED_DEVICE, fakeIo(NFS), text);
    assert.equal(placement.warnings.length, 1);
    assert.match(placement.warnings[0] ?? '', /NFS mount \/srv\/nfsX caches/);
  });

  it('accepts every shared filesystem it knows, and looks at the attribute cache of NFS only', async () => {
    const caching = nfsCachingWarning(entry(nfsLine(40, '/srv/nfs', '')));
    assert.ok(caching !== null);
    for (const [type, name] of SHARED_FILESYSTEMS) {
      const placement = await checkLeasePlacement(config(), SHARED_DEVICE, fakeIo(type), mountinfo(nfsLine(40, '/srv/nfs', '')));
      assert.deepEqual(placement, { errors: [], warnings: name === 'nfs' ? [caching] : [] }, name);
    }
  });

  it('an NFS lease whose path mountinfo shows on another filesystem (reached through a symlink) is accepted with a warning that its caching could not be checked', async () => {
    // before the fix this claimed "the lease's NFS mount /srv caches attributes" of the ext4 mount /srv
    for (const text of [mountinfo(), '']) {
      const placement = await checkLeasePlacement(config(), SHARED_DEVICE, fakeIo(NFS), text);
      assert.deepEqual(placement, {
        errors: [],
        warnings: [`could not check the attribute caching of the lease's NFS mount: no NFS mount in mountinfo covers ${LEASE_DIR} (a symlink?); mount it with actimeo=0 (or noac)`],
      });
    }
  });

  it('reads f_type as unsigned: a statfs that reports CIFS magic as a negative 32-bit number is CIFS', async () => {
    const signed = 0xff534d42 | 0;
    assert.ok(signed < 0);
    assert.deepEqual(await checkLeasePlacement(config(), SHARED_DEVICE, fakeIo(signed), mountinfo()), { errors: [], warnings: [] });
  });

  for (const [type, name] of [
    [EXT4, 'ext2/3/4, f_type 0xef53'],
    [TMPFS, 'tmpfs, f_type 0x1021994'],
    [FUSE, 'fuse \\(cannot tell what is behind it\\), f_type 0x65735546'],
    [0x1234, 'a local filesystem, f_type 0x1234'],
  ] as const) {
    it(`refuses a lease on ${name.replace(/\\/g, '')} with one line naming the directory and the f_type`, async () => {
      const placement = await checkLeasePlacement(config(), SHARED_DEVICE, fakeIo(type), mountinfo());
      assert.deepEqual(placement.warnings, []);
      assert.equal(placement.errors.length, 1);
      assert.match(placement.errors[0] ?? '', new RegExp(`^fence\\.path: the lease directory /srv/nfs/fence is on ${name}, which the peer cannot see; put it on NFS both nodes mount`));
    });
  }

  it('with fence.allowLocalLease, a local lease is a warning naming the directory and the f_type, not an error', async () => {
    const placement = await checkLeasePlacement(config({ allowLocalLease: true }), SHARED_DEVICE, fakeIo(TMPFS), mountinfo());
    assert.deepEqual(placement.errors, []);
    assert.equal(placement.warnings.length, 1);
    assert.match(placement.warnings[0] ?? '', /^the lease directory \/srv\/nfs\/fence is on tmpfs, f_type 0x1021994: accepted only because fence\.allowLocalLease is set/);
  });

  it('refuses a lease directory on the shared device itself, even with fence.allowLocalLease', async () => {
    const onDisk = await checkLeasePlacement(config(), SHARED_DEVICE, fakeIo(EXT4, SHARED_NUMBER), mountinfo());
    assert.equal(onDisk.errors.length, 2);
    assert.match(onDisk.errors[1] ?? '', /^fence\.path: the lease directory \/srv\/nfs\/fence is on the shared device \/dev\/null itself; the BACKUP cannot read it while it is unmounted there$/);
    const allowed = await checkLeasePlacement(config({ allowLocalLease: true }), SHARED_DEVICE, fakeIo(EXT4, SHARED_NUMBER), mountinfo());
    assert.equal(allowed.warnings.length, 1);
    assert.deepEqual(allowed.errors, [onDisk.errors[1]]);
    // the same local filesystem on another device is only the local-filesystem complaint
    const elsewhere = await checkLeasePlacement(config({ allowLocalLease: true }), SHARED_DEVICE, fakeIo(EXT4, '1:4'), mountinfo());
    assert.deepEqual(elsewhere.errors, []);
  });

  it('cannot compare devices when the shared device node is missing, and says nothing about it', async () => {
    const placement = await checkLeasePlacement(config({ allowLocalLease: true }), '/dev/fence-agent-no-such-device', fakeIo(EXT4, SHARED_NUMBER), mountinfo());
    assert.deepEqual(placement.errors, []);
    assert.equal(placement.warnings.length, 1);
  });

  it('a statfs that times out gives a warning naming the directory and the timeout, not an error', async () => {
    const io = fakeIo(HANG);
    const placement = await checkLeasePlacement(config(), SHARED_DEVICE, io, mountinfo());
    assert.deepEqual(placement.errors, []);
    assert.deepEqual(placement.warnings, [`could not check where the lease lives (statfs ${LEASE_DIR}: statfs ${LEASE_DIR} did not return within 250 ms (storage not answering?))`]);
  });

  it('a deviceOf that times out on NFS leaves the lease accepted', async () => {
    const placement = await checkLeasePlacement(config(), SHARED_DEVICE, fakeIo(NFS, HANG), mountinfo(nfsLine(40, '/srv/nfs', ACTIMEO_0)));
    assert.deepEqual(placement, { errors: [], warnings: [] });
  });

  describe('through the real in-process LeaseIo', () => {
    const scratch = scratchDir('placement');

    it('refuses a lease in a scratch directory as local, naming the f_type statfs(1) reports', async () => {
      const dir = scratch.fresh('lease-dir');
      mkdirSync(dir);
      const fType = Number.parseInt(execFileSync('stat', ['-f', '-c', '%t', dir], { encoding: 'utf8' }).trim(), 16);
      assert.equal(SHARED_FILESYSTEMS.has(fType), false, `this test needs a local filesystem under ${dir}`);
      const placement = await checkLeasePlacement(config({ path: path.join(dir, 'lease'), ioTimeoutMs: 5000 }), SHARED_DEVICE, createInlineLeaseIo());
      assert.deepEqual(placement.warnings, []);
      assert.equal(placement.errors.length, 1);
      assert.match(placement.errors[0] ?? '', new RegExp(`^fence\\.path: the lease directory ${dir} is on .*, f_type 0x${fType.toString(16)}, which the peer cannot see`));
    });

    it('refuses it as on the shared device when the device node has the number of the filesystem it is on', async () => {
      const dir = scratch.fresh('lease-dir');
      mkdirSync(dir);
      const [major, minor] = majorMinorOf(statSync(dir, { bigint: true }).dev).split(':');
      const device = scratch.fresh('shared-device');
      execFileSync('mknod', [device, 'b', major!, minor!]);
      const placement = await checkLeasePlacement(config({ path: path.join(dir, 'lease'), ioTimeoutMs: 5000, allowLocalLease: true }), device, createInlineLeaseIo());
      assert.equal(placement.warnings.length, 1);
      assert.deepEqual(placement.errors, [`fence.path: the lease directory ${dir} is on the shared device ${device} itself; the BACKUP cannot read it while it is unmounted there`]);
    });
  });
});
