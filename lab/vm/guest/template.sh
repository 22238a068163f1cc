# Sourced by both images' customize scripts (lab/vm/guest/customize.sh, the pair's;
# lab/vm/guest-plain/customize.sh, the install test's), inside the chroot as
# /tmp/vmlab-template.sh: what makes a debootstrapped root a template every VM clones.

# Before the image's own steps: no identity of its own (vmlab-identity.service gives each VM its
# own at systemd's first boot), root's ssh key for the lab, and nothing at boot or on a timer the
# lab does not use (every unit costs seconds under TCG; nothing periodic that writes or reaches out).
template_begin() {
  : > /etc/machine-id
  rm -f /var/lib/dbus/machine-id
  echo vmlab > /etc/hostname
  printf '127.0.0.1 localhost\n127.0.1.1 vmlab\n' > /etc/hosts
  # no DNS: a lookup that cannot be answered must fail at once, not after a resolver timeout
  : > /etc/resolv.conf
  chmod 700 /root/.ssh
  chmod 600 /root/.ssh/authorized_keys
  # no display, so no VT gettys (the serial console has its own); no binfmt
  systemctl mask getty@tty1.service getty-static.service systemd-binfmt.service proc-sys-fs-binfmt_misc.automount
  systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
    fstrim.timer man-db.timer dpkg-db-backup.timer
}

# After them: the small initrd of /etc/initramfs-tools/conf.d/vmlab.conf (MODULES=list), and no
# package lists or caches in the image.
template_end() {
  update-initramfs -u -k all
  apt-get clean
  rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log /var/log/apt/* /tmp/* /var/tmp/*.tmp
}
