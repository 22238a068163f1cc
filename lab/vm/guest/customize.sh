#!/bin/sh
# Runs inside the freshly debootstrapped guest root (chroot), after lab/vm/guest/rootfs/ has been
# copied over it, the host's node binary put in /usr/local/bin/node and the lab's public key in
# /root/.ssh/authorized_keys (lab/vm/image.ts). Makes the image a template that every VM clones:
# no identity of its own, nothing of the pair's software enabled at boot, nothing that reaches out.
# Then builds the shared LUN's MariaDB datadir with this image's own MariaDB (and its mysql uid)
# in /var/tmp/vmlab-lun/mysql, which the host moves out. Settings: /tmp/vmlab-lun.cnf.
set -eu

# identity (each VM gets its own), root's ssh key, the masks every template has
. /tmp/vmlab-template.sh
template_begin
echo 'InitiatorName=iqn.2025-01.lab.vmlab:unset' > /etc/iscsi/initiatorname.iscsi

chmod 755 /usr/local/bin/node /usr/local/sbin/vmlab-*
mkdir -p /data /mnt/lease /opt/fence-agent /etc/fence-agent /var/log/mysql
chmod 700 /etc/fence-agent

# boot path: our units and the network on; MariaDB, keepalived and the agent off (disabled, so
# that `systemctl start` still works; the preset file keeps first boot's preset-all from
# re-enabling them); the MariaDB sockets masked: socket activation would start mysqld on the
# empty mountpoint; Debian's watchdog daemon masked (it would open the agent's watchdog device).
systemctl enable vmlab-identity.service vmlab-iscsi.service vmlab-lease.service systemd-networkd.service ssh.service
systemctl disable mariadb.service keepalived.service
for unit in mariadb.socket mariadb-extra.socket; do
  if [ -e "/lib/systemd/system/$unit" ]; then systemctl mask "$unit"; fi
done
systemctl mask watchdog.service wd_keepalive.service
# NFSv4 needs no rpcbind, statd or gssd (the lease storage is NFSv4 over TCP, sec=sys)
systemctl mask rpcbind.service rpcbind.socket rpc-statd-notify.service rpc-gssd.service
# a stock open-iscsi logs in to every node record marked automatic: ours are manual, made at boot
rm -rf /etc/iscsi/nodes/* /etc/iscsi/send_targets/*

# the shared LUN's datadir, owned by this image's mysql user
rm -rf /var/tmp/vmlab-lun
install -d -o mysql -g mysql /var/tmp/vmlab-lun/mysql
if ! mariadb-install-db --defaults-file=/tmp/vmlab-lun.cnf --datadir=/var/tmp/vmlab-lun/mysql --user=mysql \
  --auth-root-authentication-method=socket --skip-test-db > /tmp/vmlab-lun-install.log 2>&1; then
  tail -n 20 /tmp/vmlab-lun-install.log >&2
  exit 1
fi
rm -f /tmp/vmlab-lun.cnf /tmp/vmlab-lun-install.log

# the initrd; no package lists or caches
template_end
