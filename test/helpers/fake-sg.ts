// A scripted PR target for tests (test/unit/fixtures/fake-sg/fake-sg.cjs): its state file, and the
// environment that makes `sg_persist`/`sg_turs` on PATH the fake acting as one initiator.
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const FAKE_SG_DIR = fileURLToPath(new URL('../unit/fixtures/fake-sg/', import.meta.url));

export interface FakeFault {
  op: string;
  initiator?: string;
  /** let this many matching calls pass before the fault applies */
  skip?: number;
  exit?: number;
  stderr?: string;
  hangMs?: number;
  holdOutputMs?: number;
  apply?: boolean;
}

export interface FakeTargetState {
  generation: number;
  registrations: { initiator: string; key: string }[];
  reservation: { key: string; type: number; initiator: string } | null;
  ua: Record<string, string[]>;
  faults: FakeFault[];
  log: string[];
  /** REPORT CAPABILITIES' PTPL_C (default false, as tgtd) */
  ptplCapable?: boolean;
}

/** One logical unit of the fake target, in a temporary directory removed by `remove()`. */
export class FakeTarget {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'fake-sg-'));
  readonly stateFile = path.join(this.dir, 'lu.json');

  constructor(initial: Partial<FakeTargetState> = {}) {
    this.write({ generation: 0, registrations: [], reservation: null, ua: {}, faults: [], log: [], ...initial });
  }

  read(): FakeTargetState {
    return JSON.parse(readFileSync(this.stateFile, 'utf8')) as FakeTargetState;
  }

  /** Replaces the state atomically (a fake sg_persist may be reading it). */
  write(state: FakeTargetState): void {
    writeFileSync(`${this.stateFile}.test`, JSON.stringify(state, null, 2));
    renameSync(`${this.stateFile}.test`, this.stateFile);
  }

  /** Read, change, write under the fake's own lock (the directory `<state>.lock`, as fake-sg.cjs takes it). */
  update(change: (state: FakeTargetState) => void): void {
    const lock = `${this.stateFile}.lock`;
    for (let i = 0; ; i++) {
      try {
        mkdirSync(lock);
        break;
      } catch {
        if (i > 2000) throw new Error('fake-sg: state lock held for 10 s');
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      }
    }
    try {
      const state = this.read();
      change(state);
      this.write(state);
    } finally {
      rmdirSync(lock);
    }
  }

  /** The environment under which sg_persist/sg_turs act as `initiator` on this LU. */
  env(initiator: string): NodeJS.ProcessEnv {
    return { ...process.env, PATH: `${FAKE_SG_DIR}:${process.env.PATH ?? ''}`, FAKE_PR_STATE: this.stateFile, FAKE_PR_INITIATOR: initiator };
  }

  /** PrDevice options that make it `initiator` on this LU, with commands bounded by `commandTimeoutMs`. */
  deviceOptions(initiator: string, commandTimeoutMs = 5000): { commandTimeoutMs: number; sgPersist: string; sgTurs: string; env: NodeJS.ProcessEnv } {
    return { commandTimeoutMs, sgPersist: path.join(FAKE_SG_DIR, 'sg_persist'), sgTurs: path.join(FAKE_SG_DIR, 'sg_turs'), env: this.env(initiator) };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
