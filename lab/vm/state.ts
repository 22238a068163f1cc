// What a two-VM lab has made, kept in `/run/fence-agent-vmlab/<tag>/state.json` and written
// before each piece is created, so that `vmlab down` finds everything even after an `up` that
// failed or was killed halfway. The lab's large files (overlays, the LUN, consoles, the lease
// export) live in `/var/tmp/fence-agent-vmlab/<tag>/`, its sockets and pid files in the run dir.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { VmSpec } from './qemu.ts';

export const VMLAB_RUN = process.env.FENCE_AGENT_VMLAB_RUN ?? '/run/fence-agent-vmlab';
export const VMLAB_WORK = process.env.FENCE_AGENT_VMLAB_WORK ?? '/var/tmp/fence-agent-vmlab';

export interface VmState {
  id: number;
  name: string;
  qemuName: string;
  sshPort: number;
  /** QEMU's pid once it has daemonized */
  pid: number | null;
  pidFile: string;
  monitor: string;
  overlay: string;
  console: string;
  /** how QEMU was started (lab/vm/qemu.ts), so that a powered-off VM can be started again */
  spec?: VmSpec;
}

export interface VmLabState {
  tag: string;
  createdAt: string;
  /** the `up` process (a lab whose `up` is gone while `ready` is false was interrupted) */
  upPid: number;
  /** true once `up` finished */
  ready: boolean;
  runDir: string;
  workDir: string;
  netns: { lab: string; client: string };
  image: { dir: string; hash: string; sshKey: string };
  lun: string;
  leaseDir: string;
  tgtd: { controlPort: number; pid: number | null; address: string } | null;
  ganesha: { pid: number | null; dir: string } | null;
  vms: VmState[];
  /** the LUN's server: the lab's tgtd, or LIO in a third VM (lab/vm/lio.ts); absent in states written before LIO existed (tgtd) */
  storage?: { kind: 'tgtd' | 'lio'; portal: string; vm: VmState | null };
}

/** The run and work directories of a lab tag. */
export function labDirs(tag: string): { runDir: string; workDir: string; stateFile: string } {
  const runDir = path.join(VMLAB_RUN, tag);
  return { runDir, workDir: path.join(VMLAB_WORK, tag), stateFile: path.join(runDir, 'state.json') };
}

/** The lab's state, or null when no lab of that tag has been started (or it was taken down). */
export function readState(tag: string): VmLabState | null {
  const { stateFile } = labDirs(tag);
  if (!existsSync(stateFile)) return null;
  return JSON.parse(readFileSync(stateFile, 'utf8')) as VmLabState;
}

/** Writes the state atomically (a temporary file renamed over it). */
export function writeState(state: VmLabState): void {
  const { stateFile } = labDirs(state.tag);
  mkdirSync(path.dirname(stateFile), { recursive: true });
  const temporary = `${stateFile}.${process.pid}`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(temporary, stateFile);
}
