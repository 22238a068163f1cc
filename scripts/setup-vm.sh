#!/usr/bin/env bash
# Installs what the two-VM lab (lab/vm/, `npm run vmlab`, scripts/test-vm.sh) needs on the host,
# beyond scripts/setup.sh: QEMU (TCG or KVM), qemu-img, debootstrap (the guest image), tgt (the
# iSCSI target serving the shared LUN), sg3-utils, socat (QEMU monitor), fdisk (sfdisk: the LUN's
# partition table), nfs-ganesha with its VFS backend (the lease storage, in userspace) and
# openssh-client (ssh into the guests), dpkg-dev (dpkg-scanpackages: the install test's apt repository),
# and the Vagrant lab's vagrant, vagrant-libvirt and libvirt (lab/vagrant/host.ts). Debian packages only; no service is started (policy-rc.d),
# the lab starts tgtd and ganesha.nfsd itself inside its own network namespace. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "setup-vm: run as root (the VM lab uses network namespaces, taps and an iSCSI target)" >&2
  exit 1
fi

# command → Debian package that provides it
declare -A wanted=(
  [qemu-system-x86_64]=qemu-system-x86 [qemu-img]=qemu-utils [debootstrap]=debootstrap
  [tgtd]=tgt [sg_persist]=sg3-utils [socat]=socat [sfdisk]=fdisk
  [ganesha.nfsd]=nfs-ganesha [ssh]=openssh-client [ssh-keygen]=openssh-client
  [mkfs.ext4]=e2fsprogs [ip]=iproute2 [dpkg-scanpackages]=dpkg-dev
  # the Vagrant lab (lab/vagrant/): vagrant with its libvirt provider, libvirtd (run by the lab in
  # a namespace of its own: no service starts here), dnsmasq and the firewall tools libvirt's networks use
  [vagrant]=vagrant [libvirtd]=libvirt-daemon-system [virsh]=libvirt-clients [dnsmasq]=dnsmasq-base
  [iptables]=iptables [ebtables]=ebtables
)
missing=()
for cmd in "${!wanted[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${wanted[$cmd]}")
done
# the VFS backend is a library, not a command
[ -e /usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so ] || missing+=(nfs-ganesha-vfs)
[ -e /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so ] || missing+=(libvirt-daemon-driver-qemu)
compgen -G '/usr/share/rubygems-integration/all/specifications/vagrant-libvirt-*.gemspec' > /dev/null || missing+=(vagrant-libvirt)
if [ "${#missing[@]}" -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "setup-vm: installing Debian packages: $pkgs"
  apt-get -o DPkg::Lock::Timeout=300 update -q >/dev/null
  # Keep the packages' services (tgt, nfs-ganesha) from starting: the lab runs its own.
  policy=/usr/sbin/policy-rc.d
  had_policy=0; [ -e "$policy" ] && had_policy=1
  [ "$had_policy" = 1 ] || { printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; }
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends $pkgs >/dev/null
  [ "$had_policy" = 1 ] || rm -f "$policy"
fi
