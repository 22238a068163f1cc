// SCSI-3 persistent-reservation commands on one device, through sg3_utils' `sg_persist` and
// `sg_turs` (execa, argument arrays, no shell). SPC-4 §6.15 (PERSISTENT RESERVE IN: READ KEYS,
// READ RESERVATION) and §6.16 (PERSISTENT RESERVE OUT: REGISTER, REGISTER AND IGNORE EXISTING
// KEY, RESERVE, RELEASE, CLEAR, PREEMPT, PREEMPT AND ABORT); the command lines follow
// resource-agents' fence_scsi (`sg_persist -n -o -G -S <key>` …), with long options.
//
// Rules this layer keeps for the fence above it:
//   - every command is bounded (`commandTimeoutMs`); one that does not answer is SIGKILLed and
//     reported as code ETIMEDOUT: its outcome is *unknown* (a PR OUT may have executed), never
//     "free" — the caller reads the keys back;
//   - one command in flight per device: the next starts only once the previous *process* exited.
//     A process stuck in the kernel (D state) past SIGKILL keeps the device busy, and commands
//     queued behind it fail with ETIMEDOUT at their own bound without starting;
//   - every sg_persist opens the device read-only (`--readonly`), PR OUT too: SG_IO passes any
//     command on a read-only descriptor for a caller with CAP_SYS_RAWIO (root; the kernel's
//     scsi_cmd_allowed()). A read-write open has two side effects: a non-registrant of a
//     WERO-reserved LU logs reservation conflicts on close, and udev's `watch` (60-block.rules)
//     turns the close into a re-read of the partition table (BLKRRPART) while no partition is in
//     use — the partition device disappears for a moment, exactly when the fence was just taken
//     and fsck, `tune2fs -E clear_mmp` and the mount come next (measured on LIO, 2026-12-04:
//     "Couldn't find valid filesystem superblock", "/dev/sdb1 is not a valid block device").
import { monoNow } from '../../src/clock.ts';
import { FenceAgentError } from '../../src/errors.ts';
import { formatKey } from './key.ts';

/**
 * A failed sg_persist/sg_turs call. `code`:
 *   - `EPRNOTREADY`       sense key NOT READY (sg3_utils exit 2)
 *   - `EPRILLEGAL`        ILLEGAL REQUEST (exit 5): e.g. tgtd refusing PREEMPT AND ABORT
 *   - `EPRUNITATTENTION`  UNIT ATTENTION (exit 6): `sense` says which (reservations preempted,
 *                         power on or reset — a target restart)
 *   - `EPRCONFLICT`       RESERVATION CONFLICT status (exit 24): another key holds the LU
 *   - `EPRUNSUPPORTED`    invalid opcode (exit 9): the device implements no persistent reservations
 *   - `ETIMEDOUT`         no answer within the bound, or sg3_utils' own command timeout (exit 33):
 *                         outcome unknown
 *   - `EPRFAILED`         any other failure (`status` = the exit status, null when it did not run)
 */
export class PrCommandError extends FenceAgentError {
  constructor(
    code: string,
    message: string,
    /** sg3_utils' exit status, or null when the command did not run or was killed */
    readonly status: number | null,
    /** the "Additional sense" text sg3_utils printed, or null */
    readonly sense: string | null,
  ) {
    super(code, message);
  }
}

/** sg3_utils exit statuses (sg_lib.h SG_LIB_CAT_*) and the codes they become. */
const STATUS_CODES: ReadonlyMap<number, string> = new Map([
  [2, 'EPRNOTREADY'],
  [5, 'EPRILLEGAL'],
  [6, 'EPRUNITATTENTION'],
  [9, 'EPRUNSUPPORTED'],
  [24, 'EPRCONFLICT'],
  [33, 'ETIMEDOUT'],
]);

/** SPC-4 Table 212 (PERSISTENT RESERVATION type codes) as sg_persist prints them. */
const TYPE_NAMES: readonly string[] = [
  'obsolete [0]',
  'Write Exclusive',
  'obsolete [2]',
  'Exclusive Access',
  'obsolete [4]',
  'Write Exclusive, registrants only',
  'Exclusive Access, registrants only',
  'Write Exclusive, all registrants',
  'Exclusive Access, all registrants',
];

/** Write Exclusive – Registrants Only (WERO), SPC-4 type 5: every registrant may write. */
export const WERO = 5;

export interface PrKeys {
  /** PRgeneration: bumped by the target on every successful PR OUT except RESERVE/RELEASE */
  generation: number;
  /** registered keys, one per I_T nexus (a key appears twice when two nexuses registered it) */
  keys: bigint[];
}

export interface PrReservation {
  generation: number;
  /** the reservation, or null when none is held */
  holder: { key: bigint; type: number; scope: string } | null;
}

/** Parses `sg_persist --in --no-inquiry --read-keys` output. @throws PrCommandError code `EPRPARSE`. */
export function parseReadKeys(stdout: string): PrKeys {
  const generation = parseGeneration(stdout);
  if (/there are NO registered reservation keys/.test(stdout)) return { generation, keys: [] };
  const announced = /(\d+) registered reservation keys? follows?/.exec(stdout);
  const keys = [...stdout.matchAll(/^\s+0x([0-9a-fA-F]{1,16})\s*$/gm)].map((m) => BigInt(`0x${m[1] as string}`));
  if (announced === null || Number(announced[1]) !== keys.length) {
    throw new PrCommandError('EPRPARSE', `sg_persist --read-keys: unexpected output: ${oneLine(stdout)}`, 0, null);
  }
  return { generation, keys };
}

/** Parses `sg_persist --in --no-inquiry --report-capabilities` output (PTPL_C, PTPL_A). @throws PrCommandError code `EPRPARSE`. */
export function parseReportCapabilities(stdout: string): { ptplCapable: boolean; ptplActive: boolean } {
  const capable = /PTPL_C\)?\s*:\s*([01])/.exec(stdout);
  const active = /PTPL_A\)?\s*:\s*([01])/.exec(stdout);
  if (capable === null) throw new PrCommandError('EPRPARSE', `sg_persist --report-capabilities: no PTPL_C in its output: ${oneLine(stdout)}`, 0, null);
  return { ptplCapable: capable[1] === '1', ptplActive: active?.[1] === '1' };
}

/** Parses `sg_persist --in --no-inquiry --read-reservation` output. @throws PrCommandError code `EPRPARSE`. */
export function parseReadReservation(stdout: string): PrReservation {
  const generation = parseGeneration(stdout);
  if (/there is NO reservation held/.test(stdout)) return { generation, holder: null };
  const key = /Key\s*=\s*0x([0-9a-fA-F]{1,16})/.exec(stdout);
  const scopeType = /scope:\s*([^,]+),\s*type:\s*(.+?)\s*$/m.exec(stdout);
  const type = scopeType === null ? -1 : TYPE_NAMES.indexOf(scopeType[2] as string);
  if (!/Reservation follows/.test(stdout) || key === null || scopeType === null || type < 0) {
    throw new PrCommandError('EPRPARSE', `sg_persist --read-reservation: unexpected output: ${oneLine(stdout)}`, 0, null);
  }
  return { generation, holder: { key: BigInt(`0x${key[1] as string}`), type, scope: (scopeType[1] as string).trim() } };
}

function parseGeneration(stdout: string): number {
  const match = /PR generation=0x([0-9a-fA-F]+)/.exec(stdout);
  if (match === null) throw new PrCommandError('EPRPARSE', `sg_persist: no PR generation in its output: ${oneLine(stdout)}`, 0, null);
  return Number.parseInt(match[1] as string, 16);
}

const oneLine = (text: string): string => text.trim().replace(/\s+/g, ' ').slice(0, 200);

/** The "Additional sense" sg3_utils printed on stderr (e.g. `Reservations preempted`), or null. */
export function senseOf(stderr: string): string | null {
  return /Additional sense: (.+)/.exec(stderr)?.[1]?.trim() ?? null;
}

export interface PrDeviceOptions {
  /** bound on one command, ms: past it the process is SIGKILLed and the call fails with ETIMEDOUT */
  commandTimeoutMs: number;
  /** sg_persist to run: a name looked up on PATH, or a path (default `sg_persist`) */
  sgPersist?: string;
  /** sg_turs to run (default `sg_turs`) */
  sgTurs?: string;
  /** the commands' environment (default: this process's) */
  env?: NodeJS.ProcessEnv;
}

interface Ran {
  status: number;
  stdout: string;
  stderr: string;
}

const loadExeca = (): Promise<typeof import('execa')> => import('execa');

/** Persistent-reservation commands on one SCSI device (a whole LU: `/dev/sdb`, not `/dev/sdb1`). */
export class PrDevice {
  /** settles when the last started command's process has exited (the device is free again) */
  private idle: Promise<void> = Promise.resolve();

  constructor(
    readonly device: string,
    private readonly options: PrDeviceOptions,
  ) {}

  /** READ KEYS (read-only open). @throws PrCommandError */
  async readKeys(): Promise<PrKeys> {
    return parseReadKeys((await this.persist(['--in', '--read-keys'])).stdout);
  }

  /**
   * READ FULL STATUS (read-only open; SPC-4 §6.16.5): each registration with its I_T nexus, as
   * the lines sg_persist prints about it — the key, and the initiator's transport ID (for iSCSI
   * its name and session ID) where the target reports one. Not every target implements it.
   * @throws PrCommandError (`EPRILLEGAL` where the target does not implement it)
   */
  async readFullStatus(): Promise<string[]> {
    const { stdout } = await this.persist(['--in', '--read-full-status']);
    return stdout
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => /^Key=0x|Transport Id|iSCSI|relative port|All target ports|reservation holder/i.test(line));
  }

  /**
   * REPORT CAPABILITIES (read-only open; SPC-4 §6.16.4): whether the target can persist
   * registrations through its power loss (PTPL_C) and does now (PTPL_A).
   * @throws PrCommandError (`EPRPARSE` when the output names neither)
   */
  async reportCapabilities(): Promise<{ ptplCapable: boolean; ptplActive: boolean }> {
    return parseReportCapabilities((await this.persist(['--in', '--report-capabilities'])).stdout);
  }

  /** READ RESERVATION (read-only open). @throws PrCommandError */
  async readReservation(): Promise<PrReservation> {
    return parseReadReservation((await this.persist(['--in', '--read-reservation'])).stdout);
  }

  /**
   * REGISTER `key` from the unregistered state (service action reservation key = key), with
   * APTPL when `aptpl` (the registration persists through a target power loss, where supported).
   */
  async register(key: bigint, aptpl = false): Promise<void> {
    await this.persist(['--out', '--register', `--param-sark=${formatKey(key)}`, ...(aptpl ? ['--param-aptpl'] : [])]);
  }

  /** REGISTER AND IGNORE EXISTING KEY: registers `key` whatever this I_T nexus had registered. */
  async registerIgnore(key: bigint, aptpl = false): Promise<void> {
    await this.persist(['--out', '--register-ignore', `--param-sark=${formatKey(key)}`, ...(aptpl ? ['--param-aptpl'] : [])]);
  }

  /** Unregisters `key` (REGISTER with service action reservation key 0); a reservation it held goes with it. */
  async unregister(key: bigint): Promise<void> {
    await this.persist(['--out', '--register', `--param-rk=${formatKey(key)}`, '--param-sark=0x0']);
  }

  /** RESERVE with `key` (already registered), type `type` (WERO by default). */
  async reserve(key: bigint, type = WERO): Promise<void> {
    await this.persist(['--out', '--reserve', `--param-rk=${formatKey(key)}`, `--prout-type=${type}`]);
  }

  /** RELEASE the reservation `key` holds, of type `type`. */
  async release(key: bigint, type = WERO): Promise<void> {
    await this.persist(['--out', '--release', `--param-rk=${formatKey(key)}`, `--prout-type=${type}`]);
  }

  /**
   * PREEMPT (or PREEMPT AND ABORT with `abort`: the victim's queued commands are aborted too,
   * SPC-4 §5.13.11.2.6): removes every registration of `victim` and, if it held the reservation,
   * moves it to `key` with type `type`. @throws PrCommandError `EPRILLEGAL` where the target does
   * not implement the service action (tgtd refuses PREEMPT AND ABORT)
   */
  async preempt(key: bigint, victim: bigint, options: { abort: boolean; type?: number }): Promise<void> {
    await this.persist(['--out', options.abort ? '--preempt-abort' : '--preempt', `--param-rk=${formatKey(key)}`, `--param-sark=${formatKey(victim)}`, `--prout-type=${options.type ?? WERO}`]);
  }

  /** CLEAR with `key` (registered): removes every registration and the reservation. */
  async clear(key: bigint): Promise<void> {
    await this.persist(['--out', '--clear', `--param-rk=${formatKey(key)}`]);
  }

  /**
   * TEST UNIT READY until it passes, at most `tries` times: each pending UNIT ATTENTION is
   * reported to one command and then cleared (SAM-5 §5.14), so the PR commands after it see
   * none (fence_scsi does the same). The kernel's own I/O may consume one first (it logs
   * "Parameters changed"). Resolves with the sense text of every unit attention seen, oldest first.
   * @throws PrCommandError the last failure when it never passed, or a failure other than UNIT ATTENTION
   */
  async clearUnitAttentions(tries = 5): Promise<string[]> {
    const seen: string[] = [];
    for (let attempt = 1; ; attempt++) {
      try {
        await this.command(this.options.sgTurs ?? 'sg_turs', [this.device]);
        return seen;
      } catch (error) {
        if (!(error instanceof PrCommandError) || error.code !== 'EPRUNITATTENTION' || attempt >= tries) throw error;
        seen.push(error.sense ?? 'unit attention');
      }
    }
  }

  private persist(args: readonly string[]): Promise<Ran> {
    return this.command(this.options.sgPersist ?? 'sg_persist', ['--no-inquiry', '--readonly', ...args, this.device]);
  }

  /** Runs one command once the device is free; bounded; non-zero exit → PrCommandError. */
  private async command(file: string, args: readonly string[]): Promise<Ran> {
    const bound = this.options.commandTimeoutMs;
    const started = monoNow();
    const label = `${file.split('/').at(-1) ?? file} ${args.join(' ')}`;
    const previous = this.idle;
    let free!: () => void;
    this.idle = new Promise((resolve) => (free = resolve));
    let timer: NodeJS.Timeout | undefined;
    const timeout = (why: string): Promise<never> =>
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new PrCommandError('ETIMEDOUT', `${label}: ${why} within ${bound} ms: outcome unknown`, null, null)), Math.max(0, started + bound - monoNow()));
      });
    try {
      await Promise.race([previous, timeout('an earlier command on this device did not exit')]);
    } catch (error) {
      void previous.then(free); // we never started: the device is free when the earlier one exits
      throw error;
    } finally {
      clearTimeout(timer);
    }
    // execa is loaded with the first command, not with the module: `check` builds this device
    // but takes the daemon's published state, and execa's load is most of a check under TCG
    const { execa } = await loadExeca();
    const child = execa(file, args, { reject: false, stdin: 'ignore', killSignal: 'SIGKILL', ...(this.options.env === undefined ? {} : { env: this.options.env, extendEnv: false }) });
    void child.then(free, free); // free only once the process has really exited
    let result;
    try {
      result = await Promise.race([child, timeout('no answer')]);
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    } finally {
      clearTimeout(timer);
    }
    const stdout = String(result.stdout ?? '');
    const stderr = String(result.stderr ?? '');
    if (result.exitCode === undefined) throw new PrCommandError('EPRFAILED', `${label}: ${result.shortMessage ?? 'did not run'}`, null, null);
    if (result.exitCode !== 0) {
      const sense = senseOf(stderr);
      const code = STATUS_CODES.get(result.exitCode) ?? 'EPRFAILED';
      const why = (stderr.trim() || stdout.trim()).split('\n').at(-1)?.trim() ?? '';
      throw new PrCommandError(code, `${label} exited ${result.exitCode}${sense === null ? '' : ` (${sense})`}${why ? `: ${why}` : ''}`, result.exitCode, sense);
    }
    return { status: 0, stdout, stderr };
  }
}
