#!/bin/sh
# /init of the cgroup v2 VM: mount what a host has, run the tests, power off.
# The kernel runs with cgroup_no_v1=all: cgroup2 is the only hierarchy.
#
# First pass: the initramfs root cannot be pivot_root'ed away from (it has no
# parent mount), so containers could not pivot_root: copy everything to a
# tmpfs and switch_root into it, which runs this script again.
if [ ! -e /.switched ]; then
	/bin/busybox mkdir -p /newroot
	/bin/busybox mount -t tmpfs -o size=80%,mode=755 tmpfs /newroot
	for f in /*; do
		[ "$f" = /newroot ] || /bin/busybox cp -a "$f" /newroot/
	done
	/bin/busybox touch /newroot/.switched
	exec /bin/busybox switch_root /newroot /init
fi
/bin/busybox --install -s
export PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t mqueue mqueue /dev/mqueue
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
# /dev/kmsg readable without CAP_SYSLOG (the device tests read it)
echo 0 > /proc/sys/kernel/dmesg_restrict
echo "vm: booted in $(cut -d' ' -f1 /proc/uptime)s, kernel $(uname -r), controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
sh /test/v2_tests.sh
echo "vm: done after $(cut -d' ' -f1 /proc/uptime)s"
poweroff -f
