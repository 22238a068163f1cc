#!/bin/sh
# Runs inside the freshly debootstrapped plain image (chroot), after lab/vm/guest/rootfs/ has been
# copied over it and the lab's public key put in /root/.ssh/authorized_keys (lab/vm/image.ts
# buildPlain). A plain Debian server for the install test: the lab's per-VM identity, network and
# ssh — how the lab reaches it — and nothing of the pair: no iSCSI login, no lease mount, no
# agent drop-in, no node, no MariaDB. The install test puts the rest on it from the README.
set -eu

# identity (each VM gets its own), root's ssh key, the masks every template has
. /tmp/vmlab-template.sh
template_begin
# vmlab-identity writes the initiator name and a MariaDB server-id there before the packages exist
mkdir -p /etc/iscsi /etc/mysql/mariadb.conf.d

chmod 755 /usr/local/sbin/vmlab-identity
# the pair image's boot-time iSCSI login, lease mount and agent drop-in: the install does its own
rm -f /etc/systemd/system/vmlab-iscsi.service /etc/systemd/system/vmlab-lease.service \
  /usr/local/sbin/vmlab-iscsi-login /usr/local/sbin/vmlab-lease-mount
rm -rf /etc/systemd/system/fence-agent.service.d
cat > /etc/systemd/system-preset/10-vmlab.preset <<'PRESET'
# the plain image's boot path (first boot's preset-all): identity, network, ssh
enable vmlab-identity.service
enable ssh.service
enable systemd-networkd.service
enable systemd-networkd-wait-online.service
PRESET
systemctl enable vmlab-identity.service systemd-networkd.service ssh.service

# the initrd; no package lists or caches
template_end
