import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cleanMonitorOutput, kernelCmdline, qemuArgv, type VmSpec } from '../../../lab/vm/qemu.ts';
import { namespaces, vmAddresses } from '../../../lab/vm/net.ts';

const spec = (patch: Partial<VmSpec> = {}): VmSpec => ({
  id: 1,
  name: 'node1',
  qemuName: 'vl-lab-node1',
  accel: 'tcg',
  memoryMb: 768,
  kernel: '/c/vmlinuz',
  initrd: '/c/initrd.img',
  overlay: '/w/node1.qcow2',
  addresses: vmAddresses(1),
  sshPort: 2201,
  monitor: '/r/node1.mon',
  pidFile: '/r/node1.pid',
  console: '/w/node1.console',
  guest: { cluster: '192.168.57.11/24', target: '192.168.58.254:3260' },
  ...patch,
});

/** The value following `flag` each time it appears. */
const values = (argv: string[], flag: string): string[] => argv.flatMap((arg, i) => (arg === flag ? [argv[i + 1] as string] : []));

describe('QEMU argv of a lab VM', () => {
  it('TCG with a 256 MiB translation cache when there is no KVM, KVM with the host CPU when there is', () => {
    assert.deepEqual(values(qemuArgv(spec()), '-accel'), ['tcg,tb-size=256']);
    assert.deepEqual(values(qemuArgv(spec()), '-cpu'), ['max']);
    assert.deepEqual(values(qemuArgv(spec({ accel: 'kvm' })), '-accel'), ['kvm']);
    assert.deepEqual(values(qemuArgv(spec({ accel: 'kvm' })), '-cpu'), ['host']);
  });

  it('q35, one vCPU, the memory asked for, the kernel booted directly with the identity on its command line', () => {
    const argv = qemuArgv(spec());
    assert.equal(argv[0], 'qemu-system-x86_64');
    assert.deepEqual(values(argv, '-machine'), ['q35']);
    assert.deepEqual(values(argv, '-smp'), ['1']);
    assert.deepEqual(values(argv, '-m'), ['768']);
    assert.deepEqual(values(argv, '-kernel'), ['/c/vmlinuz']);
    assert.equal(values(argv, '-append')[0], 'root=/dev/sda rw console=ttyS0 net.ifnames=0 loglevel=7 sysctl.kernel.hung_task_timeout_secs=30 vmlab.id=1 vmlab.cluster=192.168.57.11/24 vmlab.target=192.168.58.254:3260');
  });

  it('isolates the management NIC (restrict=on, ssh hostfwd on loopback only) and puts the others on the lab taps', () => {
    const netdevs = values(qemuArgv(spec()), '-netdev');
    assert.deepEqual(netdevs, [
      'user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:2201-:22',
      'tap,id=cluster,ifname=tc1,script=no,downscript=no',
      'tap,id=storage,ifname=ts1,script=no,downscript=no',
    ]);
    const nics = values(qemuArgv(spec()), '-device').filter((d) => d.startsWith('virtio-net-pci'));
    assert.deepEqual(
      nics.map((d) => /addr=(0x\d)/.exec(d)?.[1]),
      ['0x3', '0x4', '0x5'],
      'PCI order = eth0, eth1, eth2',
    );
  });

  it('root on virtio-scsi over the overlay, the i6300esb watchdog resetting the VM, monitor, console, pid file', () => {
    const argv = qemuArgv(spec());
    const devices = values(argv, '-device');
    assert.ok(devices.includes('scsi-hd,drive=root,bus=scsi0.0'));
    assert.ok(devices.some((d) => d.startsWith('virtio-scsi-pci')));
    assert.match(values(argv, '-drive')[0] as string, /^file=\/w\/node1\.qcow2,if=none,id=root,format=qcow2/);
    assert.ok(devices.some((d) => d.startsWith('i6300esb')));
    assert.deepEqual(values(argv, '-action'), ['watchdog=reset']);
    assert.deepEqual(values(argv, '-monitor'), ['unix:/r/node1.mon,server=on,wait=off']);
    assert.deepEqual(values(argv, '-serial'), ['file:/w/node1.console']);
    assert.deepEqual(values(argv, '-pidfile'), ['/r/node1.pid']);
    assert.ok(argv.includes('-daemonize') && argv.includes('-nodefaults'));
    assert.deepEqual(values(argv, '-name'), ['vl-lab-node1,process=vl-lab-node1']);
  });

  it('refuses guest parameters that would break the kernel command line', () => {
    assert.throws(() => kernelCmdline({ id: 1, guest: { hosts: 'a b' } }), /bad guest parameter vmlab\.hosts/);
    assert.throws(() => kernelCmdline({ id: 1, guest: { 'x.y': '1' } }), /bad guest parameter/);
  });

  it('cleans the HMP echo and terminal escapes off monitor output', () => {
    assert.equal(cleanMonitorOutput('info status\r\n\u001b[K\u001b[DVM status: running\r\n', 'info status'), 'VM status: running');
  });
});

describe('lab addresses and names', () => {
  it('gives each VM its own addresses, taps and MACs', () => {
    assert.deepEqual(vmAddresses(2), {
      cluster: '192.168.57.12',
      storage: '192.168.58.12',
      clusterTap: 'tc2',
      storageTap: 'ts2',
      macs: ['52:54:00:56:00:02', '52:54:00:57:00:02', '52:54:00:58:00:02'],
    });
    assert.throws(() => vmAddresses(0), /VM id 0 is not 1\.\.9/);
  });

  it('names the namespaces vl-<tag> and refuses tags that would not fit', () => {
    assert.deepEqual(namespaces('lab'), { lab: 'vl-lab', client: 'vl-lab-c' });
    assert.throws(() => namespaces('Lab'), /tag "Lab"/);
    assert.throws(() => namespaces('toolongtag'), /tag/);
  });
});
