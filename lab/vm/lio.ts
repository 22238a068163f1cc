// The shared LUN from LIO, the Linux kernel's SCSI target, instead of tgtd: a third VM of the lab
// ("storage VM", id 9) gets the LUN image as a virtio disk (/dev/vda) and exports it over iSCSI,
// configured through configfs by {@link LIO_SETUP} (no targetcli: the image has no D-Bus, which
// targetcli-fb needs, ../shared/reference/vm-lab.md §10). The host kernel has no LIO
// (CONFIG_TARGET_CORE unset), so a VM it is. What LIO adds over tgtd: PREEMPT AND ABORT (tgtd
// answers ILLEGAL REQUEST) and persistence of the PR state (APTPL) through a restart.
// Traps (vm-lab.md §5): without a PR database root every state-changing PR OUT returns NOT READY
// to the initiator while still changing state — `dbroot` is set before any backstore exists.

/** The storage VM's id: the last VM id the lab's network has (lab/vm/net.ts MAX_VMS). */
export const STORAGE_VM_ID = 9;

/**
 * The shell script (run as root in the storage VM) that exports `device` (default /dev/vda) as
 * LUN 0 of `iqn` on `portal` (ADDR:PORT) — also the Vagrant lab's `san` (lab/vagrant/provision.ts): iblock backstore, one TPG, no authentication, ACLs generated for any
 * initiator (each still its own I_T nexus for persistent reservations), writable. Idempotent
 * only on a fresh boot (configfs is empty after one).
 */
export const LIO_SETUP = (iqn: string, portal: string, device = '/dev/vda'): string => `set -eu
modprobe target_core_mod
modprobe target_core_iblock
modprobe iscsi_target_mod
mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
C=/sys/kernel/config/target
mkdir -p /etc/target/pr
# the PR database root first: with none, PR OUT returns NOT READY while still changing state
if [ -w $C/dbroot ]; then echo /etc/target > $C/dbroot; fi
mkdir -p $C/core/iblock_0/shared
echo udev_path=${device} > $C/core/iblock_0/shared/control
echo 1 > $C/core/iblock_0/shared/enable
# a unit serial, as targetcli writes one: without it VPD page 0x83 has no NAA designator, so the LU
# has no WWID — no /dev/disk/by-id link for it, nothing for doctor --peer to compare
cat /proc/sys/kernel/random/uuid > $C/core/iblock_0/shared/wwn/vpd_unit_serial
T=$C/iscsi/${iqn}/tpgt_1
mkdir -p $T/lun/lun_0
ln -s $C/core/iblock_0/shared $T/lun/lun_0/shared
mkdir -p $T/np/${portal}
echo 0 > $T/attrib/authentication
echo 1 > $T/attrib/generate_node_acls
echo 1 > $T/attrib/cache_dynamic_acls
echo 0 > $T/attrib/demo_mode_write_protect
echo 1 > $T/enable
echo "lio: ${device} exported as ${iqn} LUN 0 on ${portal} (PR emulated: $(cat $C/core/iblock_0/shared/attrib/emulate_pr 2>/dev/null || echo ?))"
`;
