// One lab VM: QEMU (KVM when /dev/kvm is usable, else TCG with a 256 MiB translation cache), q35,
// 1 vCPU, 768 MiB, booting the image's kernel and initrd directly with the VM's identity on the
// kernel command line (read by the guest's vmlab-identity), root on virtio-scsi (root = sda, so
// the iSCSI LUN is /dev/sdb), a qcow2 overlay per VM on the cached base. NICs, in PCI order:
//   eth0  user networking, restrict=on (no route anywhere), hostfwd 127.0.0.1:<sshPort> → :22
//         (in the lab's namespace, where QEMU runs): management, ssh;
//   eth1  tap tcN on the cluster bridge;  eth2  tap tsN on the storage bridge.
// An i6300esb watchdog with `-action watchdog=reset` (not autoloaded in the guest: softdog is
// /dev/watchdog0; see lab/vm/guest/rootfs/etc/modprobe.d/vmlab.conf), an HMP monitor on a Unix
// socket (stop, cont, quit, system_reset), the serial console to a file, `nice -n 10`.
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { sh, shOk } from '../sh.ts';
import type { VmAddresses } from './net.ts';

export type Accel = 'kvm' | 'tcg';

/** KVM when /dev/kvm opens read-write, else TCG. */
export function detectAccel(): Accel {
  try {
    closeSync(openSync('/dev/kvm', constants.O_RDWR));
    return 'kvm';
  } catch {
    return 'tcg';
  }
}

export interface VmSpec {
  id: number;
  /** `node<id>`: the guest's hostname */
  name: string;
  /** a tag unique on the host: QEMU's `-name` and process name, e.g. `vl-lab-node1` */
  qemuName: string;
  accel: Accel;
  memoryMb: number;
  kernel: string;
  initrd: string;
  overlay: string;
  addresses: VmAddresses;
  /** the hostfwd port for ssh on the lab namespace's loopback */
  sshPort: number;
  monitor: string;
  pidFile: string;
  console: string;
  /** `vmlab.*` parameters for the guest (vmlab-identity), besides `vmlab.id` */
  guest: Record<string, string>;
  /** a raw image attached as a virtio disk (/dev/vda): the LUN the storage VM exports (lab/vm/lio.ts) */
  lun?: string;
  /** a raw image attached read-only as a virtio disk (/dev/vda): the install test's media (lab/vm/install-media.ts) */
  media?: string;
}

/**
 * The kernel command line: root on sda, the serial console, classic NIC names, the VM's identity.
 * Not `quiet`: the console keeps systemd's unit status ("A start job is running for …") and, at
 * loglevel 7, the hung-task detector's call traces (KERN_INFO); the detector reports a task blocked
 * 30 s (not 120), so a guest hung in boot shows which task and where while the lab can still act
 * on it (VmCluster's boot guard). Both came in after a CI run whose node1 hung in boot after a
 * watchdog reset ("task mount:153 blocked", no sshd) with nothing else on its console.
 */
export function kernelCmdline(spec: Pick<VmSpec, 'id' | 'guest'>): string {
  for (const [key, value] of Object.entries(spec.guest)) {
    if (!/^[a-z]+$/.test(key) || /\s/.test(value) || value === '') throw new Error(`vmlab: bad guest parameter vmlab.${key}=${JSON.stringify(value)}`);
  }
  const vmlab = Object.entries({ id: String(spec.id), ...spec.guest }).map(([key, value]) => `vmlab.${key}=${value}`);
  return ['root=/dev/sda', 'rw', 'console=ttyS0', 'net.ifnames=0', 'loglevel=7', 'sysctl.kernel.hung_task_timeout_secs=30', ...vmlab].join(' ');
}

/** QEMU's argv (without `nice`/`ip netns exec`): daemonizes once the VM is set up, writes its pid file. */
export function qemuArgv(spec: VmSpec): string[] {
  const { macs, clusterTap, storageTap } = spec.addresses;
  const accel = spec.accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,tb-size=256', '-cpu', 'max'];
  return [
    'qemu-system-x86_64',
    '-name',
    `${spec.qemuName},process=${spec.qemuName}`,
    '-nodefaults',
    '-machine',
    'q35',
    ...accel,
    '-smp',
    '1',
    '-m',
    String(spec.memoryMb),
    '-kernel',
    spec.kernel,
    '-initrd',
    spec.initrd,
    '-append',
    kernelCmdline(spec),
    '-device',
    'virtio-net-pci,netdev=mgmt,mac=' + macs[0] + ',addr=0x3',
    '-netdev',
    `user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:${spec.sshPort}-:22`,
    '-device',
    'virtio-net-pci,netdev=cluster,mac=' + macs[1] + ',addr=0x4',
    '-netdev',
    `tap,id=cluster,ifname=${clusterTap},script=no,downscript=no`,
    '-device',
    'virtio-net-pci,netdev=storage,mac=' + macs[2] + ',addr=0x5',
    '-netdev',
    `tap,id=storage,ifname=${storageTap},script=no,downscript=no`,
    '-device',
    'virtio-scsi-pci,id=scsi0,addr=0x6',
    '-drive',
    `file=${spec.overlay},if=none,id=root,format=qcow2,cache=unsafe,discard=unmap`,
    '-device',
    'scsi-hd,drive=root,bus=scsi0.0',
    // virtio-blk (/dev/vda), not a second scsi-hd: sd names follow the async scan's order, and the
    // storage VM once booted with the LUN as sda and its root (root=/dev/sda) as sdb
    ...(spec.lun === undefined ? [] : ['-drive', `file=${spec.lun},if=none,id=lun,format=raw`, '-device', 'virtio-blk-pci,drive=lun,addr=0x9']),
    ...(spec.media === undefined ? [] : ['-drive', `file=${spec.media},if=none,id=media,format=raw,readonly=on`, '-device', 'virtio-blk-pci,drive=media,addr=0x9']),
    '-device',
    'virtio-rng-pci,addr=0x7',
    '-device',
    'i6300esb,addr=0x8',
    '-action',
    'watchdog=reset',
    '-serial',
    `file:${spec.console}`,
    '-monitor',
    `unix:${spec.monitor},server=on,wait=off`,
    '-display',
    'none',
    '-daemonize',
    '-pidfile',
    spec.pidFile,
  ];
}

/** Creates the VM's qcow2 overlay on the cached base (the base is never written). */
export async function createOverlay(base: string, overlay: string): Promise<void> {
  await shOk(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', overlay]);
}

/**
 * Starts QEMU inside `netns` at nice 10; resolves with its pid once it has daemonized (the VM is
 * set up and running, the guest is booting).
 * @throws with QEMU's own message when it refuses to start (a missing tap, a used port, ...)
 */
export async function startVm(netns: string, spec: VmSpec): Promise<number> {
  const ran = await sh(['ip', 'netns', 'exec', netns, 'nice', '-n', '10', ...qemuArgv(spec)], { timeoutMs: 60_000 });
  if (ran.exitCode !== 0) throw new Error(`QEMU for ${spec.name} exited ${ran.exitCode}: ${(ran.stderr || ran.stdout).trim()}`);
  return Number(readFileSync(spec.pidFile, 'utf8').trim());
}

/** Whether `pid` is the QEMU named `qemuName` (not a pid reused by something else). */
export function isQemu(pid: number, qemuName: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return (argv[0] ?? '').endsWith('qemu-system-x86_64') && argv.includes(`${qemuName},process=${qemuName}`);
  } catch {
    return false;
  }
}

/**
 * Sends one HMP command to the VM's monitor socket and resolves with its output (the text between
 * the echoed command and the next `(qemu) ` prompt). `quit` resolves when QEMU closes the socket.
 * @throws when the socket does not answer within `timeoutMs`
 */
export function monitorCommand(socket: string, command: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = net.createConnection(socket);
    let buffer = '';
    let sent = false;
    const timer = setTimeout(() => {
      client.destroy();
      reject(new Error(`QEMU monitor ${socket}: no answer to "${command}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (output: string): void => {
      clearTimeout(timer);
      client.destroy();
      resolve(output);
    };
    client.setEncoding('utf8');
    client.on('data', (chunk: string) => {
      buffer += chunk;
      if (!sent && buffer.includes('(qemu) ')) {
        sent = true;
        buffer = '';
        client.write(`${command}\n`);
        return;
      }
      if (sent) {
        const prompt = buffer.indexOf('(qemu) ');
        if (prompt !== -1) done(cleanMonitorOutput(buffer.slice(0, prompt), command));
      }
    });
    client.on('close', () => done(cleanMonitorOutput(buffer, command)));
    client.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`QEMU monitor ${socket}: ${error.message}`));
    });
  });
}

/** HMP echoes the command with terminal escapes; keep the lines after the echo, without escapes. */
export function cleanMonitorOutput(raw: string, command: string): string {
  // eslint-disable-next-line no-control-regex
  const text = raw.replace(/\u001b\[[0-9;]*[A-Za-z]|\u001b[A-Za-z]/g, '').replace(/\r/g, '');
  const lines = text.split('\n');
  const echo = lines.findIndex((line) => line.trim().endsWith(command));
  return (echo === -1 ? lines : lines.slice(echo + 1)).join('\n').trim();
}

/**
 * Powers the VM off (`quit`: QEMU exits at once, like pulling the plug) and waits for the process
 * to go; SIGKILL if the monitor does not answer or QEMU outlives 10 s. A SIGSTOPped QEMU is
 * continued first. Idempotent.
 */
export async function stopVm(pid: number | null, spec: Pick<VmSpec, 'monitor' | 'qemuName'>): Promise<void> {
  if (pid === null || !isQemu(pid, spec.qemuName)) return;
  // a QEMU frozen with SIGSTOP (a scenario's paused host) would not answer its monitor
  process.kill(pid, 'SIGCONT');
  await monitorCommand(spec.monitor, 'quit', 3_000).catch(() => undefined);
  const deadline = Date.now() + 10_000;
  while (isQemu(pid, spec.qemuName) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (isQemu(pid, spec.qemuName)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}
