// The two-VM lab: two QEMU guests (node1, node2) cloned from the project's image, each with its
// own kernel, systemd and identity, logged in at boot to one iSCSI LUN (/dev/sdb1) served by the
// lab's tgtd, mounting the lease storage from the lab's nfs-ganesha, joined by a cluster link a
// client namespace is on (lab/vm/net.ts). `VmLab.up` brings it all up and copies the agent in;
// `VmLab.down` removes everything, from the state file (lab/vm/state.ts) and the namespaces,
// however far an earlier `up` got. Nothing of the pair runs yet: keepalived, the agent and mysqld
// are installed in the guests but not started (the scenarios start them).
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { sh, shOk, type Ran } from '../sh.ts';
import { delay } from '../wait.ts';
import { installAgent } from './agent.ts';
import { guestFacts, type GuestFacts } from './facts.ts';
import { ensureImage, type GuestImage, type ImageOptions } from './image.ts';
import { createNetwork, destroyNetwork, namespaces, netnsExists, STORAGE_SERVER_IP, vmAddresses, CLUSTER_SUBNET, PREFIX } from './net.ts';
import { isGanesha, LEASE_EXPORT, startGanesha, stopGanesha, freezeGanesha, thawGanesha } from './nfs.ts';
import { createOverlay, detectAccel, isQemu, monitorCommand, startVm, stopVm, type VmSpec } from './qemu.ts';
import { closeSharedConnection, sshOk, sshRun, type SshTarget } from './ssh.ts';
import { labDirs, readState, writeState, type VmLabState, type VmState } from './state.ts';
import { addScratchLun, deleteScratchLun, freeControlPort, ISCSI_PORT, recreateLun, startTgt, stopTgt, TARGET_IQN } from './tgt.ts';
import { LIO_SETUP, STORAGE_VM_ID } from './lio.ts';
import { withHeartbeat } from './progress.ts';

const REPO = path.resolve(import.meta.dirname, '..', '..');
/** The default lab tag (`npm run vmlab`); tests use their own. */
export const DEFAULT_TAG = 'lab';
/** ssh hostfwd ports on the lab namespace's loopback: 2200 + id. */
const SSH_PORT_BASE = 2200;

export interface VmLabOptions {
  /** names the lab's namespaces (`vl-<tag>`), directories and QEMU processes; default {@link DEFAULT_TAG} */
  tag?: string;
  /** how many VMs (default 2) */
  vms?: number;
  /**
   * who serves the LUN: `tgtd` on the host (default), or `lio`: the Linux kernel's target in a
   * third VM (lab/vm/lio.ts), for PREEMPT AND ABORT, which tgtd lacks
   */
  storage?: 'tgtd' | 'lio';
  memoryMb?: number;
  /** copy the agent in (default true) */
  agent?: boolean;
  /** per-VM deadline from QEMU start to ssh answering, ms (default 300 s: TCG on a loaded host) */
  bootTimeoutMs?: number;
  /**
   * a raw disk image attached read-only to every VM as /dev/vda (virtio): the install test's
   * media (lab/vm/install-media.ts); none by default
   */
  media?: string;
  /** keep whatever was made when `up` fails (default: taken down) */
  keepOnFailure?: boolean;
  image?: ImageOptions;
  /** progress lines; default stderr */
  log?: (line: string) => void;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** One VM of the lab: ssh, its QEMU monitor, its facts. */
export class VmNode {
  constructor(
    private readonly lab: VmLab,
    readonly vm: VmState,
  ) {}

  get id(): number {
    return this.vm.id;
  }

  get name(): string {
    return this.vm.name;
  }

  /** How to reach the guest over ssh (from the lab's namespace). */
  get ssh(): SshTarget {
    return { netns: this.lab.state.netns.lab, port: this.vm.sshPort, key: this.lab.state.image.sshKey, control: path.join(this.lab.state.runDir, `${this.name}.ssh`) };
  }

  /** Runs a shell command line (or an argv) in the guest as root. Exit 255: ssh failed. */
  run(command: string | readonly string[], options: { timeoutMs?: number; input?: string } = {}): Promise<Ran> {
    return sshRun(this.ssh, command, options);
  }

  /** Like {@link run}, throwing on a non-zero exit; resolves with stdout. */
  ok(command: string | readonly string[], options: { timeoutMs?: number; input?: string } = {}): Promise<string> {
    return sshOk(this.ssh, command, options);
  }

  /** One HMP command to the VM's QEMU monitor (`stop`, `cont`, `quit`, `system_reset`, `info status`). */
  monitor(command: string, timeoutMs?: number): Promise<string> {
    return monitorCommand(this.vm.monitor, command, timeoutMs);
  }

  /** Whether the VM's QEMU process runs. */
  get running(): boolean {
    return this.vm.pid !== null && isQemu(this.vm.pid, this.vm.qemuName);
  }

  /** The end of the serial console (boot messages), for error reports. */
  consoleTail(lines = 15): string {
    try {
      return readFileSync(this.vm.console, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no console output)';
    }
  }

  /**
   * Waits until the guest answers ssh; resolves with the ms since `sinceMs` (epoch ms).
   * @throws when QEMU exits or `timeoutMs` passes (with the console's tail)
   */
  async waitSsh(sinceMs: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`${this.name}: QEMU exited during boot; console:\n${this.consoleTail()}`);
      const ran = await sshRun(this.ssh, 'true', { timeoutMs: 20_000 });
      if (ran.exitCode === 0) return Date.now() - sinceMs;
      if (Date.now() > deadline) throw new Error(`${this.name}: no ssh after ${seconds(timeoutMs)}; console:\n${this.consoleTail()}`);
      await delay(1000);
    }
  }

  /**
   * Waits for the boot's iSCSI login (vmlab-iscsi.service) and the lease mount (vmlab-lease.service);
   * resolves with the ms since `sinceMs`.
   * @throws when either unit failed (with its journal), or neither ends within `timeoutMs`
   */
  async waitStorage(sinceMs: number, timeoutMs: number): Promise<number> {
    const units = ['vmlab-iscsi.service', 'vmlab-lease.service'];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ran = await this.run(['systemctl', 'is-active', ...units], { timeoutMs: 20_000 });
      const states = ran.stdout.trim().split('\n');
      if (states.every((state) => state === 'active')) {
        await this.ok('test -b /dev/sdb1 && mountpoint -q /mnt/lease');
        return Date.now() - sinceMs;
      }
      const failed = units.filter((_, i) => states[i] === 'failed');
      if (failed.length > 0 || Date.now() > deadline) {
        const journal = await this.run(['journalctl', '-b', '--no-pager', '-n', '20', ...units.flatMap((u) => ['-u', u])]);
        throw new Error(`${this.name}: ${failed.length > 0 ? `${failed.join(', ')} failed` : `storage not ready after ${seconds(timeoutMs)} (${units.map((u, i) => `${u} ${states[i] ?? '?'}`).join(', ')})`}:\n${journal.stdout.trim()}`);
      }
      await delay(1000);
    }
  }

  /** Pulls the plug (QEMU `quit`): the guest is gone at once, nothing flushed. Idempotent. */
  async powerOff(): Promise<void> {
    await stopVm(this.vm.pid, this.vm);
    await closeSharedConnection(this.ssh);
  }

  /**
   * Starts a powered-off VM again from its overlay (a cold boot) and waits for ssh and its
   * storage; resolves with the ms from QEMU start to the storage ready.
   * @throws when the VM runs already, its start spec is unknown, or it does not come up in `timeoutMs`
   */
  async powerOn(timeoutMs = 300_000): Promise<number> {
    if (this.running) throw new Error(`${this.name} is running already`);
    const spec = this.vm.spec;
    if (spec === undefined) throw new Error(`${this.name}: the lab's state has no QEMU spec to start it from`);
    await closeSharedConnection(this.ssh);
    const started = Date.now();
    this.vm.pid = await startVm(this.lab.state.netns.lab, spec);
    writeState(this.lab.state);
    await this.waitSsh(started, timeoutMs);
    return this.waitStorage(started, 120_000);
  }

  /** Pauses the whole VM (QEMU `stop`: its vCPU, clocks and watchdog stop with it). */
  async pause(): Promise<void> {
    await this.monitor('stop');
  }

  async resume(): Promise<void> {
    await this.monitor('cont');
  }

  /** What the guest sees (lab/vm/facts.ts). */
  facts(): Promise<GuestFacts> {
    return guestFacts(this.ssh);
  }
}

/** Durations of `up`'s phases, ms. */
export interface UpTimings {
  image: number;
  hostSide: number;
  /** QEMU start → ssh answering, per VM */
  ssh: Record<string, number>;
  /** QEMU start → LUN logged in and lease storage mounted, per VM */
  storage: Record<string, number>;
  agent: number;
  total: number;
}

export class VmLab {
  readonly nodes: VmNode[];
  /** the VM serving the LUN with LIO, or null (tgtd on the host) */
  storageVm: VmNode | null;

  private constructor(public state: VmLabState) {
    this.nodes = state.vms.map((vm) => new VmNode(this, vm));
    this.storageVm = state.storage?.vm ? new VmNode(this, state.storage.vm) : null;
  }

  /** The iSCSI portal the nodes log in to (tgtd's on the host's storage address, or the storage VM's) and the LUN's number there. */
  get portal(): { host: string; port: number; lun: number } {
    const [host, port] = (this.state.storage?.portal ?? `${STORAGE_SERVER_IP}:${ISCSI_PORT}`).split(':') as [string, string];
    return { host, port: Number(port), lun: this.state.storage?.kind === 'lio' ? 0 : 1 };
  }

  /** The lab of `tag` as `up` left it. @throws when no lab of that tag is up */
  static load(tag = DEFAULT_TAG): VmLab {
    const state = readState(tag);
    if (state === null) throw new Error(`no VM lab "${tag}" is up (no ${labDirs(tag).stateFile})`);
    return new VmLab(state);
  }

  /**
   * Builds (or reuses) the image, brings up the host side and the VMs, waits until every guest
   * answers ssh with the LUN at /dev/sdb1 and the lease storage mounted, and copies the agent in
   * (dist/ must be built). On failure everything made is taken down (unless `keepOnFailure`).
   * @throws on a leftover of an earlier lab (one line naming it), or a step that fails
   */
  static async up(options: VmLabOptions = {}): Promise<{ lab: VmLab; timings: UpTimings }> {
    const tag = options.tag ?? DEFAULT_TAG;
    const log = options.log ?? ((line: string) => console.error(line));
    const count = options.vms ?? 2;
    const started = Date.now();
    refuseLeftovers(tag);
    const timings: UpTimings = { image: 0, hostSide: 0, ssh: {}, storage: {}, agent: 0, total: 0 };

    let image: GuestImage;
    {
      const t = Date.now();
      image = await ensureImage({ log, ...options.image });
      timings.image = Date.now() - t;
      log(`vmlab: image ${image.hash} ready in ${seconds(timings.image)}`);
    }
    const { runDir, workDir } = labDirs(tag);
    const state: VmLabState = {
      tag,
      createdAt: new Date().toISOString(),
      upPid: process.pid,
      ready: false,
      runDir,
      workDir,
      netns: namespaces(tag),
      image: { dir: image.dir, hash: image.hash, sshKey: image.sshKey },
      lun: path.join(workDir, 'lun.img'),
      leaseDir: path.join(workDir, 'lease'),
      tgtd: null,
      ganesha: null,
      vms: [],
    };
    mkdirSync(runDir, { recursive: true });
    mkdirSync(workDir, { recursive: true });
    writeState(state);
    const lab = new VmLab(state);
    try {
      await lab.bringUp(image, { ...options, count, log }, timings);
    } catch (error) {
      if (options.keepOnFailure !== true) {
        log(`vmlab: up failed; taking down what was made`);
        await VmLab.down(tag, () => undefined).catch(() => undefined);
      }
      throw error;
    }
    timings.total = Date.now() - started;
    return { lab, timings };
  }

  private async bringUp(image: GuestImage, options: VmLabOptions & { count: number; log: (line: string) => void }, timings: UpTimings): Promise<void> {
    const { state } = this;
    const { log } = options;
    const ids = Array.from({ length: options.count }, (_, i) => i + 1);

    const t = Date.now();
    const lio = options.storage === 'lio';
    await createNetwork(state.tag, lio ? [...ids, STORAGE_VM_ID] : ids);
    await shOk(['cp', '--sparse=always', image.lun, state.lun]);
    const accel = detectAccel();
    const hosts = ids.map((id) => `node${id}=${vmAddresses(id).cluster}`).join(',');
    if (lio) await this.bringUpStorageVm(image, accel, hosts, options);
    else await this.startTgtd();
    state.ganesha = { pid: null, dir: path.join(state.workDir, 'ganesha') };
    writeState(state);
    state.ganesha.pid = await startGanesha({ netns: state.netns.lab, address: STORAGE_SERVER_IP, dir: state.ganesha.dir, exportDir: state.leaseDir });
    writeState(state);
    timings.hostSide = Date.now() - t;
    const server = lio ? `LIO in ${this.storageVm?.name ?? '?'}` : `tgtd (pid ${state.tgtd?.pid}, control port ${state.tgtd?.controlPort})`;
    log(`vmlab: host side in ${seconds(timings.hostSide)}: netns ${state.netns.lab} (+ client ${state.netns.client}), ${TARGET_IQN} on ${this.portal.host}:${this.portal.port} from ${server}, nfs-ganesha ${STORAGE_SERVER_IP}:${LEASE_EXPORT} (pid ${state.ganesha.pid})`);

    const starts: Record<string, number> = {};
    for (const id of ids) {
      const name = `node${id}`;
      const vm = this.vmState(id, name);
      state.vms.push(vm);
      this.nodes.push(new VmNode(this, vm));
      writeState(state);
      await createOverlay(image.base, vm.overlay);
      const spec = this.vmSpec(vm, image, accel, options.memoryMb ?? 768, {
        target: `${this.portal.host}:${this.portal.port}`,
        iqn: TARGET_IQN,
        nfs: `${STORAGE_SERVER_IP}:${LEASE_EXPORT}`,
        hosts,
      });
      if (options.media !== undefined) spec.media = options.media;
      vm.spec = spec;
      starts[name] = Date.now();
      vm.pid = await startVm(state.netns.lab, spec);
      writeState(state);
    }
    log(`vmlab: ${ids.length} VMs started (${accel.toUpperCase()}, ${options.memoryMb ?? 768} MiB, 1 vCPU each; cluster ${CLUSTER_SUBNET}.0/${PREFIX})`);
    await this.waitNodes(starts, options, timings);
  }

  /** The lab's tgtd on the host's storage address, serving the LUN copy. */
  private async startTgtd(): Promise<void> {
    const { state } = this;
    state.storage = { kind: 'tgtd', portal: `${STORAGE_SERVER_IP}:${ISCSI_PORT}`, vm: null };
    state.tgtd = { controlPort: freeControlPort(), pid: null, address: STORAGE_SERVER_IP };
    for (let attempt = 1; ; attempt++) {
      writeState(state);
      try {
        state.tgtd.pid = await startTgt({ netns: state.netns.lab, address: STORAGE_SERVER_IP, controlPort: state.tgtd.controlPort, backingStore: state.lun, logFile: path.join(state.workDir, 'tgtd.log') });
        break;
      } catch (error) {
        // another lab's tgtd took the control port between our pick and our start: pick again
        if (attempt >= 3 || !/^tgtd exited|is in use by another tgtd/.test((error as Error).message)) throw error;
        state.tgtd.controlPort = freeControlPort(state.tgtd.controlPort + 1);
      }
    }
    writeState(state);
  }

  /**
   * The storage VM (lab/vm/lio.ts): booted from the image with the LUN copy as its /dev/vda and
   * no target or lease of its own, then LIO configured over ssh to export it. Boots before the
   * nodes, whose iSCSI login at boot retries for 90 s only.
   */
  private async bringUpStorageVm(image: GuestImage, accel: ReturnType<typeof detectAccel>, hosts: string, options: VmLabOptions & { log: (line: string) => void }): Promise<void> {
    const { state } = this;
    const vm = this.vmState(STORAGE_VM_ID, `node${STORAGE_VM_ID}`);
    const portal = `${vmAddresses(STORAGE_VM_ID).storage}:${ISCSI_PORT}`;
    state.storage = { kind: 'lio', portal, vm };
    writeState(state);
    this.storageVm = new VmNode(this, vm);
    await createOverlay(image.base, vm.overlay);
    // 512 MiB: it runs the kernel's target and sshd, nothing else (the image's services stay off)
    vm.spec = { ...this.vmSpec(vm, image, accel, 512, { hosts }), lun: state.lun };
    const started = Date.now();
    vm.pid = await startVm(state.netns.lab, vm.spec);
    writeState(state);
    await this.storageVm.waitSsh(started, options.bootTimeoutMs ?? 300_000);
    const said = await this.storageVm.ok(['sh', '-c', LIO_SETUP(TARGET_IQN, portal)], { timeoutMs: 60_000 });
    options.log(`vmlab: storage VM ${vm.name} up in ${seconds(Date.now() - started)}; ${said.trim()}`);
  }

  /** The state of VM `id` before it starts: its names, ports and files. */
  private vmState(id: number, name: string): VmState {
    const { state } = this;
    return {
      id,
      name,
      qemuName: `vl-${state.tag}-${name}`,
      sshPort: SSH_PORT_BASE + id,
      pid: null,
      pidFile: path.join(state.runDir, `${name}.pid`),
      monitor: path.join(state.runDir, `${name}.mon`),
      overlay: path.join(state.workDir, `${name}.qcow2`),
      console: path.join(state.workDir, `${name}.console`),
    };
  }

  /** How QEMU starts VM `vm`, with `extra` vmlab.* parameters besides its addresses. */
  private vmSpec(vm: VmState, image: GuestImage, accel: ReturnType<typeof detectAccel>, memoryMb: number, extra: Record<string, string>): VmSpec {
    const addresses = vmAddresses(vm.id);
    return {
      id: vm.id,
      name: vm.name,
      qemuName: vm.qemuName,
      accel,
      memoryMb,
      kernel: image.kernel,
      initrd: image.initrd,
      overlay: vm.overlay,
      addresses,
      sshPort: vm.sshPort,
      monitor: vm.monitor,
      pidFile: vm.pidFile,
      console: vm.console,
      guest: { cluster: `${addresses.cluster}/${PREFIX}`, storage: `${addresses.storage}/${PREFIX}`, ...extra },
    };
  }

  /** Waits for every node's ssh and storage, then copies the agent in. */
  private async waitNodes(starts: Record<string, number>, options: VmLabOptions & { log: (line: string) => void }, timings: UpTimings): Promise<void> {
    const { state } = this;
    const { log } = options;
    const bootTimeoutMs = options.bootTimeoutMs ?? 300_000;
    await Promise.all(
      this.nodes.map(async (node) => {
        const since = starts[node.name] as number;
        const afterStart = (): string => `${seconds(Date.now() - since)} after QEMU start`;
        timings.ssh[node.name] = await withHeartbeat(log, () => `vmlab: ${node.name} booting: no ssh yet ${afterStart()}`, () => node.waitSsh(since, bootTimeoutMs));
        log(`vmlab: ${node.name} ssh ready ${seconds(timings.ssh[node.name] as number)} after QEMU start`);
        // the plain image logs in to nothing at boot: the install does (README "Install")
        if (options.image?.variant === 'plain') return;
        timings.storage[node.name] = await withHeartbeat(log, () => `vmlab: ${node.name}: LUN or lease mount not ready yet ${afterStart()}`, () => node.waitStorage(since, 120_000));
        log(`vmlab: ${node.name} /dev/sdb1 and /mnt/lease ready ${seconds(timings.storage[node.name] as number)} after QEMU start`);
      }),
    );

    if (options.agent !== false && options.image?.variant !== 'plain') {
      const t = Date.now();
      await Promise.all(this.nodes.map((node) => installAgent(node.ssh, REPO, node.name)));
      timings.agent = Date.now() - t;
      log(`vmlab: agent copied into ${this.nodes.length} VMs in ${seconds(timings.agent)} (/opt/fence-agent, unit installed disabled, /etc/fence-agent/config.json)`);
    }
    state.ready = true;
    writeState(state);
  }

  node(id: number): VmNode {
    const node = this.nodes.find((n) => n.id === id);
    if (node === undefined) throw new Error(`no VM ${id} in lab "${this.state.tag}" (VMs: ${this.nodes.map((n) => n.id).join(', ')})`);
    return node;
  }

  /** Runs argv in the client namespace (on the cluster link, outside both nodes). */
  clientExec(argv: readonly string[], options: { timeoutMs?: number } = {}): Promise<Ran> {
    return sh(['ip', 'netns', 'exec', this.state.netns.client, ...argv], options);
  }

  /** The lease directory on the host (what ganesha exports). */
  get leaseDir(): string {
    return this.state.leaseDir;
  }

  /** SIGSTOPs the NFS server: the lease storage hangs for both guests. */
  freezeLeaseStorage(): void {
    freezeGanesha(this.state.ganesha?.pid ?? -1);
  }

  thawLeaseStorage(): void {
    if (this.state.ganesha?.pid != null) thawGanesha(this.state.ganesha.pid);
  }

  /**
   * Cuts (`up` false) or restores one VM's link on the cluster or the storage network: its tap in
   * the lab's namespace goes down or up. The guest keeps its interface (carrier stays up, as with
   * a cable pulled at the far switch); frames in either direction are dropped.
   */
  async setLink(id: number, network: 'cluster' | 'storage', up: boolean): Promise<void> {
    const addresses = vmAddresses(this.node(id).id);
    const tap = network === 'cluster' ? addresses.clusterTap : addresses.storageTap;
    await shOk(['ip', '-n', this.state.netns.lab, 'link', 'set', tap, up ? 'up' : 'down']);
  }

  /** Whether the lab's tgtd and ganesha run. */
  hostSideAlive(): { tgtd: boolean; ganesha: boolean } {
    const tgtdPid = this.state.tgtd?.pid ?? null;
    const ganeshaPid = this.state.ganesha?.pid ?? null;
    let tgtd = false;
    try {
      tgtd = tgtdPid !== null && readFileSync(`/proc/${tgtdPid}/comm`, 'utf8').trim() === 'tgtd';
    } catch {
      // gone
    }
    return { tgtd, ganesha: ganeshaPid !== null && isGanesha(ganeshaPid) };
  }

  /**
   * A second LU (16 MiB, blank) on the target, LUN 2: for a node configured with the wrong LU.
   * Returns nothing; the guests see it after `iscsiadm -m session --rescan`. tgtd only.
   */
  async addScratchLun(): Promise<void> {
    if (this.state.tgtd === null) throw new Error('the lab has no tgtd');
    const file = path.join(this.state.runDir, 'scratch-lun.img');
    await shOk(['truncate', '-s', '16M', file]);
    await addScratchLun(this.state.tgtd.controlPort, file);
  }

  /** Removes the second LU again (idempotent). */
  async removeScratchLun(): Promise<void> {
    if (this.state.tgtd === null) return;
    await deleteScratchLun(this.state.tgtd.controlPort);
    rmSync(path.join(this.state.runDir, 'scratch-lun.img'), { force: true });
  }

  /** Recreates the LUN in tgtd: every PR registration and reservation is dropped. */
  async resetReservations(): Promise<void> {
    if (this.state.tgtd === null) throw new Error('the lab has no tgtd');
    await recreateLun(this.state.tgtd.controlPort, this.state.lun);
  }

  /**
   * Removes everything a lab of `tag` made — VMs, tgtd (target and socket), ganesha, both
   * namespaces with their bridges, taps and veth, the overlays, the LUN copy, the run and work
   * directories — whatever state `up` left, and whether or not it finished. Idempotent: with
   * nothing there it does nothing. Returns what it removed, one line each.
   */
  static async down(tag = DEFAULT_TAG, log: (line: string) => void = (line) => console.error(line)): Promise<string[]> {
    const removed: string[] = [];
    const state = readState(tag);
    const { runDir, workDir } = labDirs(tag);
    const ns = namespaces(tag);
    if (state !== null) {
      if (!state.ready && state.upPid !== process.pid && existsSync(`/proc/${state.upPid}`)) {
        log(`vmlab: note: the lab's \`up\` (pid ${state.upPid}) still runs; taking the lab down under it`);
      }
      await Promise.all(
        [...state.vms, ...(state.storage?.vm ? [state.storage.vm] : [])].map(async (vm) => {
          if (vm.pid !== null && isQemu(vm.pid, vm.qemuName)) {
            await stopVm(vm.pid, vm);
            removed.push(`VM ${vm.name} (QEMU pid ${vm.pid})`);
          }
        }),
      );
      if (state.ganesha?.pid != null && isGanesha(state.ganesha.pid)) {
        await stopGanesha(state.ganesha.pid);
        removed.push(`nfs-ganesha (pid ${state.ganesha.pid})`);
      }
      if (state.tgtd !== null) {
        const wasUp = state.tgtd.pid !== null && existsSync(`/proc/${state.tgtd.pid}`);
        await stopTgt(state.tgtd.controlPort, state.tgtd.pid);
        if (wasUp) removed.push(`tgtd (pid ${state.tgtd.pid}, control port ${state.tgtd.controlPort})`);
      }
    }
    for (const name of [ns.lab, ns.client]) if (netnsExists(name)) removed.push(`network namespace ${name}`);
    await destroyNetwork(tag);
    for (const dir of [workDir, runDir]) {
      if (existsSync(dir)) {
        rmSync(dir, { recursive: true, force: true });
        removed.push(dir);
      }
    }
    return removed;
  }
}

/**
 * Throws one line naming the first leftover of an earlier lab of `tag`: a state file, a
 * namespace, a directory.
 */
function refuseLeftovers(tag: string): void {
  const { runDir, workDir, stateFile } = labDirs(tag);
  const state = readState(tag);
  if (state !== null) {
    const how = state.ready ? 'is up' : existsSync(`/proc/${state.upPid}`) ? `is being brought up (pid ${state.upPid})` : 'was left half-made by an interrupted up';
    throw new Error(`a VM lab "${tag}" ${how} (${stateFile}): npm run vmlab -- down first`);
  }
  const ns = namespaces(tag);
  for (const name of [ns.lab, ns.client]) {
    if (netnsExists(name)) throw new Error(`network namespace ${name} exists (a leftover of an earlier lab?): npm run vmlab -- down removes it`);
  }
  for (const dir of [runDir, workDir]) {
    if (existsSync(dir)) throw new Error(`${dir} exists (a leftover of an earlier lab?): npm run vmlab -- down removes it`);
  }
}
