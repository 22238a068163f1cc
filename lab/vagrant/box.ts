// The project's Vagrant box, `fence-agent/lab`, built from the QEMU lab's cached guest image
// (lab/vm/image.ts): every package the nodes need is in it (no network during `vagrant up`), an
// empty /etc/machine-id (each machine makes its own at first boot), no resolver (no lookup waits),
// root's login by the image's key. A plain tar (gzip costs 50 s for nothing on one machine) of
//   metadata.json  {"provider":"libvirt","format":"qcow2","virtual_size":GiB}
//   box.img        the image's base.qcow2 (hard-linked into the tar's staging directory)
//   Vagrantfile    ssh as root with the image's key, no sudo needed; the kernel and initrd of
//                  the image booted directly (the image has no bootloader): absolute paths into
//                  the image cache, so the box works on the machine that built it only
// vagrant-libvirt 0.11.2 with libvirt 9.0 (../shared/reference/vm-lab.md §6).
import { copyFileSync, linkSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { shOk } from '../sh.ts';
import type { GuestImage } from '../vm/image.ts';
import { ROOT_SIZE_MB } from '../vm/recipe.ts';

/** The box's Vagrantfile: how vagrant reaches and boots a machine made from `image`. */
export function boxVagrantfile(image: Pick<GuestImage, 'kernel' | 'initrd' | 'sshKey'>): string {
  return `# fence-agent/lab: the QEMU lab's guest image as a box (lab/vagrant/box.ts). Machine-local: the
# kernel, initrd and key are files of the image cache that built it.
Vagrant.configure("2") do |config|
  config.ssh.username = "root"
  config.ssh.private_key_path = ${JSON.stringify(image.sshKey)}
  config.ssh.insert_key = false
  config.vm.provider :libvirt do |lv|
    # no /dev/kvm here: QEMU's TCG, a CPU model every TCG has
    lv.driver = "qemu"
    lv.cpu_mode = "custom"
    lv.cpu_model = "qemu64"
    lv.kernel = ${JSON.stringify(image.kernel)}
    lv.initrd = ${JSON.stringify(image.initrd)}
    lv.cmd_line = "root=LABEL=root rw console=ttyS0 net.ifnames=0 quiet"
  end
end
`;
}

/**
 * Writes `<dir>/fence-agent-lab.box` from `image` and resolves with its path (~1 GB, a few seconds).
 * @throws when tar fails
 */
export async function buildBox(image: Pick<GuestImage, 'base' | 'kernel' | 'initrd' | 'sshKey'>, dir: string): Promise<string> {
  const stage = path.join(dir, 'box');
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  try {
    writeFileSync(path.join(stage, 'metadata.json'), `${JSON.stringify({ provider: 'libvirt', format: 'qcow2', virtual_size: Math.ceil(ROOT_SIZE_MB / 1024) })}\n`);
    writeFileSync(path.join(stage, 'Vagrantfile'), boxVagrantfile(image));
    try {
      linkSync(image.base, path.join(stage, 'box.img'));
    } catch {
      copyFileSync(image.base, path.join(stage, 'box.img')); // another filesystem
    }
    const box = path.join(dir, 'fence-agent-lab.box');
    await shOk(['tar', '-cf', box, '-C', stage, 'metadata.json', 'Vagrantfile', 'box.img'], { timeoutMs: 300_000 });
    return box;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
