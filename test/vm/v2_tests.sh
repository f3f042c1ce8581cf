#!/bin/sh
# cgroup v2 tests, run by /init inside the VM with skiff against busybox
# bundles (test/vm/initramfs.ts writes their config.json). One line per test:
#   vmtest: ok NAME
#   vmtest: FAIL NAME: WHY
# then "vmtest: N passed, N failed".
CG=/sys/fs/cgroup
B=/test/bundles
. /test/vmtest_lib.sh
t0=$(cut -d' ' -f1 /proc/uptime)

# ------------------------------------------------------------ limits
D=$CG/skiff-test/limits
run create-limits skiff create -b $B/limits limits
check memory.max $D/memory.max 67108864
check memory.swap.max $D/memory.swap.max 33554432
check cpu.weight-from-shares $D/cpu.weight 39
check cpu.max $D/cpu.max "50000 100000"
check pids.max $D/pids.max 20
check cpuset.cpus $D/cpuset.cpus 0
check cpuset.mems $D/cpuset.mems 0
missing=""
for c in cpuset cpu io memory pids; do
	for d in $CG $CG/skiff-test; do
		grep -qw $c $d/cgroup.subtree_control || missing="$missing $c@$d"
	done
done
if [ -z "$missing" ]; then ok subtree_control-ancestors; else bad subtree_control-ancestors "not enabled:$missing"; fi
pid=$(pid_of limits)
if [ -n "$pid" ] && grep -qx "$pid" $D/cgroup.procs; then ok process-in-cgroup; else bad process-in-cgroup "pid '$pid' not in $D/cgroup.procs: $(cat $D/cgroup.procs)"; fi
run start-limits skiff start limits

run update skiff update --memory 128m --pids-limit 30 --cpu-quota 20000 --cpu-share 512 --cpuset-cpus 0-1 limits
check update-memory.max $D/memory.max 134217728
check update-pids.max $D/pids.max 30
check update-cpu.max $D/cpu.max "20000 100000"
check update-cpu.weight $D/cpu.weight 20
check update-cpuset.cpus $D/cpuset.cpus 0-1
echo '{"memory": {"limit": 100663296}, "unified": {"memory.high": "90000000"}}' >/tmp/res.json
run update-r skiff update -r /tmp/res.json limits
check update-r-memory.max $D/memory.max 100663296
check update-r-memory.high $D/memory.high 89997312

run pause skiff pause limits
check pause-cgroup.freeze $D/cgroup.freeze 1
if grep -qx "frozen 1" $D/cgroup.events; then ok pause-frozen; else bad pause-frozen "cgroup.events: $(tr '\n' ' ' <$D/cgroup.events)"; fi
s=$(status_of limits)
if [ "$s" = paused ]; then ok state-paused; else bad state-paused "status '$s'"; fi
run resume skiff resume limits
check resume-cgroup.freeze $D/cgroup.freeze 0
s=$(status_of limits)
if [ "$s" = running ]; then ok state-running; else bad state-running "status '$s'"; fi

if skiff events --stats limits >/tmp/stats 2>&1; then
	st=$(tr -d '\n\t ' </tmp/stats)
	case "$st" in
	'{"type":"stats","id":"limits","data":{'*'"memory":{'*) ok events-stats-memory ;;
	*) bad events-stats-memory "$st" ;;
	esac
	case "$st" in
	*'"pids":{"current":'[1-9]*) ok events-stats-pids ;;
	*) bad events-stats-pids "$st" ;;
	esac
	case "$st" in
	*'"limit":100663296'*) ok events-stats-memory-limit ;;
	*) bad events-stats-memory-limit "$st" ;;
	esac
else
	bad events-stats "$(cat /tmp/stats)"
fi

run kill-limits skiff kill limits KILL
wait_status limits stopped
run delete-limits skiff delete limits
if [ ! -e $D ]; then ok delete-removes-cgroup; else bad delete-removes-cgroup "$D still exists"; fi

# ------------------------------------------------------------ io weight
# An optional kernel file: io.bfq.weight with BFQ, io.weight with blk-iocost.
# Where the kernel has neither, the config cannot be honoured: create must
# fail naming the field and leave no cgroup. Either way one result.
D=$CG/skiff-test/ioweight
if skiff create -b $B/ioweight ioweight >/tmp/out 2>&1; then
	if [ -e $D/io.bfq.weight ]; then
		check io-weight $D/io.bfq.weight "default 500"
	elif [ -e $D/io.weight ]; then
		check io-weight $D/io.weight "default 4950"
	else
		bad io-weight "create succeeded, but $D has neither io.weight nor io.bfq.weight"
	fi
	skiff delete -f ioweight >/dev/null 2>&1
elif grep -q "/linux/resources/blockIO/weight: the kernel has no io.weight file" /tmp/out && [ ! -e $D ]; then
	echo "  io-weight: this kernel has no io weight file; create refused the config: $(cat /tmp/out)"
	ok io-weight
else
	bad io-weight "create failed: $(tr '\n' ' ' </tmp/out)"
fi

# ------------------------------------------------------------ devices (eBPF)
# c 1:11 (kmsg) in the rootfs, outside /dev: no default rule allows it
mknod /rootfs/kmsg c 1 11
out=$(skiff run -b $B/devdeny devdeny 2>&1)
echo "$out" | sed 's/^/  devdeny: /'
line devices-default-null-write "$out" null-write ok
line devices-default-zero-read "$out" null-read ok
line devices-default-deny-write "$out" kmsg-write "denied:*Operation not permitted*"
line devices-default-deny-read "$out" kmsg-read "denied:*Operation not permitted*"
skiff delete -f devdeny >/dev/null 2>&1

out=$(skiff run -b $B/devread devread 2>&1)
echo "$out" | sed 's/^/  devread: /'
line devices-later-rule-wins-read "$out" kmsg-read ok
line devices-later-rule-wins-write "$out" kmsg-write "denied:*Operation not permitted*"
line devices-rules-keep-defaults "$out" null-write ok
skiff delete -f devread >/dev/null 2>&1

out=$(skiff run -b $B/devwild devwild 2>&1)
echo "$out" | sed 's/^/  devwild: /'
line devices-wildcard-minor-write "$out" kmsg-write ok
line devices-wildcard-access-read "$out" kmsg-read "denied:*Operation not permitted*"
skiff delete -f devwild >/dev/null 2>&1
out=$(skiff run -b $B/devlist devlist 2>&1)
echo "$out" | sed 's/^/  devlist: /'
# linux.devices make the node; only linux.resources.devices grant access (runc)
line devices-linux-devices-made-not-allowed "$out" dev-kmsg-write 'denied*'
line devices-linux-devices-by-number-denied "$out" kmsg-write 'denied*'
skiff delete -f devlist >/dev/null 2>&1

if skiff create -b $B/devbad devbad >/tmp/out 2>&1; then
	bad devices-hole-in-wildcard-refused "create succeeded"
	skiff delete -f devbad >/dev/null 2>&1
elif grep -q "cannot punch a hole" /tmp/out; then ok devices-hole-in-wildcard-refused; else bad devices-hole-in-wildcard-refused "$(cat /tmp/out)"; fi
left=""
for id in devdeny devread devwild devlist devbad; do
	[ ! -e $CG/skiff-test/$id ] || left="$left $CG/skiff-test/$id"
done
if [ -z "$left" ]; then ok devices-cleanup; else bad devices-cleanup "left behind:$left"; fi

# ------------------------------------------------------------ OOM
rm -f /rootfs/go-oom
run create-oom skiff create -b $B/oom oom
D=$CG/skiff-test/oom
check oom-memory.max $D/memory.max 16777216
check oom-memory.swap.max $D/memory.swap.max 0
skiff events --interval 1s oom >/tmp/ev 2>&1 &
evpid=$!
i=0
while [ ! -s /tmp/ev ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
run start-oom skiff start oom
touch /rootfs/go-oom
i=0
while kill -0 $evpid 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
kill $evpid 2>/dev/null
if grep -q '"type": *"oom"' /tmp/ev; then ok events-oom; else bad events-oom "$(grep -v stats /tmp/ev | tr '\n' ' ')"; fi
n=$(sed -n 's/^oom_kill //p' $D/memory.events)
if [ "${n:-0}" -ge 1 ]; then ok oom-kill-counted; else bad oom-kill-counted "memory.events: $(tr '\n' ' ' <$D/memory.events)"; fi
wait_status oom stopped
s=$(status_of oom)
if [ "$s" = stopped ]; then ok oom-stopped; else bad oom-stopped "status '$s'"; fi
run delete-oom skiff delete oom
if [ ! -e $D ]; then ok oom-delete-removes-cgroup; else bad oom-delete-removes-cgroup "$D still exists"; fi

# ------------------------------------------------------------ nothing left
if [ ! -e $CG/skiff-test ]; then ok no-cgroup-left; else bad no-cgroup-left "$(find $CG/skiff-test -type d | tr '\n' ' ')"; fi

t1=$(cut -d' ' -f1 /proc/uptime)
echo "vmtest: tests took $(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}')s"
echo "vmtest: $pass passed, $fail failed"
