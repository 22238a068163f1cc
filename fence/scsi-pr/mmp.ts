// Is the reservation holder alive? ext4 multi-mount protection (MMP) answers from the storage
// itself: while a kernel has the filesystem mounted, its kmmpd thread bumps a sequence number in
// the MMP block every `mmp_update_interval` seconds (ext4 Documentation: "Multiple Mount
// Protection"; fs/ext4/mmp.c). A challenger that sees the sequence move knows the holder's kernel
// is running and still reaches the disk — a cluster-link partition, not a dead MASTER — and must
// not preempt it (issue "SCSI-3 PR fencing", §2). A sequence that stays still for the kernel's own
// wait says the holder's kernel is frozen, dead or cut off from the disk.
//
// The block is read with O_DIRECT (`dd iflag=direct`): the challenger's own page cache would
// otherwise serve the value it read first, forever, and every holder would look silent. Reading
// is allowed to a non-registrant under Write Exclusive – Registrants Only.
import { monoNow } from '../../src/clock.ts';
import { FenceAgentError } from '../../src/errors.ts';

/** mmp_struct.mmp_magic (fs/ext4/ext4.h EXT4_MMP_MAGIC) */
export const MMP_MAGIC = 0x004d4d50;
/** sequence of a cleanly unmounted filesystem (EXT4_MMP_SEQ_CLEAN) */
export const MMP_SEQ_CLEAN = 0xff4d4d50;
/** sequence while e2fsck runs (EXT4_MMP_SEQ_FSCK) */
export const MMP_SEQ_FSCK = 0xe24d4d50;
/** the kernel's lower bound on the check interval, s (EXT4_MMP_MIN_CHECK_INTERVAL) */
const MIN_CHECK_INTERVAL_S = 5;

/** Where the MMP block lives and how often it is written (from the superblock). */
export interface MmpLocation {
  /** filesystem block size, bytes */
  blockSize: number;
  /** block number of the MMP block */
  block: number;
  /** s_mmp_update_interval, s */
  updateIntervalS: number;
}

/** One read of the MMP block (struct mmp_struct, little-endian). */
export interface MmpBlock {
  seq: number;
  /** mmp_time: wall-clock seconds of the last update, as the writer's clock saw them */
  timeS: number;
  /** the node that wrote it last (uname nodename) */
  nodename: string;
  /** its block device name there */
  bdevname: string;
  /** mmp_check_interval, s */
  checkIntervalS: number;
}

/**
 * Parses `dumpe2fs -h` output: null when the filesystem has no MMP.
 * @throws FenceAgentError code `EMMP` when MMP is on but its block or interval is missing.
 */
export function parseDumpe2fs(text: string): MmpLocation | null {
  const features = /^Filesystem features:\s*(.*)$/m.exec(text)?.[1]?.split(/\s+/) ?? [];
  if (!features.includes('mmp')) return null;
  const number = (label: string): number | null => {
    const match = new RegExp(`^${label}:\\s*(\\d+)\\s*$`, 'm').exec(text);
    return match === null ? null : Number(match[1]);
  };
  const blockSize = number('Block size');
  const block = number('MMP block number');
  const updateIntervalS = number('MMP update interval');
  if (blockSize === null || block === null || updateIntervalS === null) throw new FenceAgentError('EMMP', 'dumpe2fs shows MMP on but not its block size, block number and update interval');
  return { blockSize, block, updateIntervalS };
}

/** Parses an MMP block. @throws FenceAgentError code `EMMP` on a wrong magic or a short block. */
export function parseMmpBlock(block: Buffer): MmpBlock {
  if (block.length < 128) throw new FenceAgentError('EMMP', `MMP block: read ${block.length} bytes, expected at least 128`);
  const magic = block.readUInt32LE(0);
  if (magic !== MMP_MAGIC) throw new FenceAgentError('EMMP', `MMP block: magic 0x${magic.toString(16)}, expected 0x${MMP_MAGIC.toString(16)}`);
  const text = (from: number, length: number): string => block.subarray(from, from + length).toString('latin1').replace(/\0.*$/s, '');
  return {
    seq: block.readUInt32LE(4),
    timeS: Number(block.readBigUInt64LE(8)),
    nodename: text(16, 64),
    bdevname: text(80, 32),
    checkIntervalS: block.readUInt16LE(112),
  };
}

/**
 * How long the sequence must stay still before the holder counts as silent, ms: what the kernel
 * waits at mount (fs/ext4/mmp.c ext4_multi_mount_protect: check interval ci = the largest of the
 * update interval, 5 s and the block's own; wait = min(2·ci + 1, ci + 60) s).
 */
export function mmpWaitMs(location: MmpLocation, first: MmpBlock): number {
  const ci = Math.max(location.updateIntervalS, MIN_CHECK_INTERVAL_S, first.checkIntervalS);
  return Math.min(2 * ci + 1, ci + 60) * 1000;
}

export interface MmpReadOptions {
  /** bound on each command (dumpe2fs, dd, tune2fs), ms */
  timeoutMs: number;
  signal?: AbortSignal;
  /** the programs to run, by name on PATH or path (default `dumpe2fs`, `dd`, `tune2fs`) */
  programs?: { dumpe2fs?: string; dd?: string; tune2fs?: string };
}

/**
 * Resets the MMP block to "clean" (`tune2fs -f -E clear_mmp`), so that the kernel mounts at once:
 * on a block a dead holder left unclean it waits 2·ci + 1 s before and again after writing its own
 * sequence (fs/ext4/mmp.c ext4_multi_mount_protect), and ci is what the holder's kmmpd last
 * measured — under TCG, with slow writes, the wait grew past 40 s and the mount past its deadline.
 * Call it only once the holder can no longer write: its key preempted from the LU (and, after a
 * plain PREEMPT, the drain waited out) — the storage, not MMP, keeps it out from then on.
 * @throws FenceAgentError `EMMP`
 */
export async function clearMmp(device: string, options: MmpReadOptions): Promise<void> {
  const { execa } = await import('execa');
  const ran = await execa(options.programs?.tune2fs ?? 'tune2fs', ['-f', '-E', 'clear_mmp', device], { reject: false, timeout: options.timeoutMs, cancelSignal: options.signal, stdin: 'ignore' });
  if (ran.exitCode !== 0) throw new FenceAgentError('EMMP', `tune2fs -f -E clear_mmp ${device}: ${ran.timedOut ? `no answer within ${options.timeoutMs} ms` : (String(ran.stderr).trim().split('\n').at(-1) ?? `exit ${ran.exitCode}`)}`);
}

/** Reads the MMP location from the superblock (`dumpe2fs -h`, read-only). null: no MMP. @throws FenceAgentError `EMMP` */
export async function readMmpLocation(device: string, options: MmpReadOptions): Promise<MmpLocation | null> {
  const { execa } = await import('execa'); // loaded with the first read, not with the module (`check`)
  const ran = await execa(options.programs?.dumpe2fs ?? 'dumpe2fs', ['-h', device], { reject: false, timeout: options.timeoutMs, cancelSignal: options.signal, stdin: 'ignore' });
  if (ran.exitCode !== 0) throw new FenceAgentError('EMMP', `dumpe2fs -h ${device}: ${ran.timedOut ? `no answer within ${options.timeoutMs} ms` : (String(ran.stderr).trim().split('\n').at(-1) ?? `exit ${ran.exitCode}`)}`);
  return parseDumpe2fs(String(ran.stdout));
}

/** Reads the MMP block with O_DIRECT. @throws FenceAgentError `EMMP` */
export async function readMmpBlock(device: string, location: MmpLocation, options: MmpReadOptions): Promise<MmpBlock> {
  const { execa } = await import('execa');
  const ran = await execa(options.programs?.dd ?? 'dd', [`if=${device}`, 'iflag=direct', `bs=${location.blockSize}`, `skip=${location.block}`, 'count=1', 'status=none'], {
    reject: false,
    timeout: options.timeoutMs,
    cancelSignal: options.signal,
    stdin: 'ignore',
    encoding: 'buffer',
  });
  if (ran.exitCode !== 0) throw new FenceAgentError('EMMP', `reading the MMP block of ${device}: ${ran.timedOut ? `no answer within ${options.timeoutMs} ms` : (Buffer.from(ran.stderr).toString().trim() || `exit ${ran.exitCode}`)}`);
  return parseMmpBlock(Buffer.from(ran.stdout));
}

/**
 * - `clean`: unmounted cleanly everywhere (no holder's kernel has it mounted);
 * - `fsck`: e2fsck runs somewhere: in use;
 * - `alive`: the sequence moved during the wait: a kernel has it mounted and writes to it;
 * - `silent`: mounted (not clean) but unchanged for the whole wait: that kernel is frozen, dead or
 *   cannot reach the disk.
 */
export type HolderState = 'clean' | 'fsck' | 'alive' | 'silent';

export interface HolderVerdict {
  state: HolderState;
  first: MmpBlock;
  last: MmpBlock;
  /** how long it watched, ms (0 for clean and fsck) */
  waitedMs: number;
}

/**
 * One read of the MMP block of `device`: `clean` (unmounted cleanly everywhere), `fsck` (e2fsck
 * runs), or `unclean` (a kernel has it mounted, or had it when it died: whether it still writes
 * takes {@link watchHolder}'s wait to tell).
 * @throws FenceAgentError `EMMP` (no MMP on the filesystem, unreadable block)
 */
export async function heartbeatNow(device: string, options: MmpReadOptions): Promise<{ state: 'clean' | 'fsck' | 'unclean'; block: MmpBlock }> {
  const location = await readMmpLocation(device, options);
  if (location === null) throw new FenceAgentError('EMMP', `${device} has no ext4 multi-mount protection (tune2fs -O mmp)`);
  const block = await readMmpBlock(device, location, options);
  return { state: block.seq === MMP_SEQ_CLEAN ? 'clean' : block.seq === MMP_SEQ_FSCK ? 'fsck' : 'unclean', block };
}

/**
 * What an earlier watch of the same device saw first, kept between promotion attempts by the
 * fence (fence/index.ts): a holder whose kernel's wait is longer than one attempt's
 * `fenceAcquireMs` (a check interval of 42 s was measured under TCG: an 85 s wait against 25 s)
 * is then proven silent over several attempts instead of never. Sound because `silent` rests on
 * two reads only — the first and the last — of one sequence number: kmmpd changes it with every
 * update, so an equal number a wait later means no update in between, however many reads were
 * missed. A changed sequence (or clean, or fsck) forgets it.
 */
export interface HolderMemory {
  seen: { seq: number; nodename: string; firstEndedMono: number } | null;
}

/**
 * Watches the MMP block of `device` for the kernel's wait ({@link mmpWaitMs}), reading it every
 * `pollMs` (default 1000), and says whether a kernel still updates it. Returns at the first change;
 * `silent` only once a read that started at least the wait after the first read ended saw no change.
 * With `memory`, the first read of an earlier watch that saw the same sequence counts as this
 * one's first (see {@link HolderMemory}); `onWatch` is told the wait and how much of it is done
 * before the watch starts (for the log: the caller's deadline may end it first).
 * @throws FenceAgentError `EMMP` (no MMP on the filesystem, unreadable block), or the signal's reason
 */
export async function watchHolder(
  device: string,
  options: MmpReadOptions & { pollMs?: number; memory?: HolderMemory; onWatch?: (watch: { waitMs: number; doneMs: number; first: MmpBlock }) => void },
): Promise<HolderVerdict> {
  const location = await readMmpLocation(device, options);
  if (location === null) throw new FenceAgentError('EMMP', `${device} has no ext4 multi-mount protection (tune2fs -O mmp): the holder's liveness cannot be read from the disk`);
  const first = await readMmpBlock(device, location, options);
  const forget = (): void => {
    if (options.memory !== undefined) options.memory.seen = null;
  };
  if (first.seq === MMP_SEQ_CLEAN) {
    forget();
    return { state: 'clean', first, last: first, waitedMs: 0 };
  }
  if (first.seq === MMP_SEQ_FSCK) {
    forget();
    return { state: 'fsck', first, last: first, waitedMs: 0 };
  }
  const waitMs = mmpWaitMs(location, first);
  // samples are moments inside each read: only the time from the end of the first read to the
  // start of a later one certainly passed between them
  const remembered = options.memory?.seen;
  const firstEnded = remembered != null && remembered.seq === first.seq ? remembered.firstEndedMono : monoNow();
  if (options.memory !== undefined) options.memory.seen = { seq: first.seq, nodename: first.nodename, firstEndedMono: firstEnded };
  options.onWatch?.({ waitMs, doneMs: Math.round(monoNow() - firstEnded), first });
  for (;;) {
    const left = waitMs - (monoNow() - firstEnded);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(options.pollMs ?? 1000, left))));
    options.signal?.throwIfAborted();
    const readStarted = monoNow();
    const last = await readMmpBlock(device, location, options);
    const waited = readStarted - firstEnded;
    if (last.seq !== first.seq) {
      forget();
      return { state: last.seq === MMP_SEQ_CLEAN ? 'clean' : last.seq === MMP_SEQ_FSCK ? 'fsck' : 'alive', first, last, waitedMs: Math.round(waited) };
    }
    if (waited >= waitMs) return { state: 'silent', first, last, waitedMs: Math.round(waited) };
  }
}
