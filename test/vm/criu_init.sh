#!/bin/sh
# /init of the checkpoint/restore VM: as test/vm/init.sh (switch to a tmpfs
# root so containers can pivot_root, mount what a host has), plus what criu
# needs: its kernel modules and the loopback interface up.
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
# GNU tar stays (criu needs it), whatever busybox linked
[ -x /usr/bin/tar ] || echo "vm: no GNU tar"
export PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t mqueue mqueue /dev/mqueue
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
for m in /modules/*.ko; do
	insmod "$m" || echo "vm: insmod $m failed"
done
ip link set lo up
echo "vm: booted in $(cut -d' ' -f1 /proc/uptime)s, kernel $(uname -r), criu $(criu --version | head -1)"
sh /test/criu_tests.sh
echo "vm: done after $(cut -d' ' -f1 /proc/uptime)s"
poweroff -f
