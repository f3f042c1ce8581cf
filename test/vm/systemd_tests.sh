#!/bin/sh
# The systemd cgroup driver against a real systemd (PID 1 of this VM), run
# by vm-tests.service in multi-user.target (a name no skiff* pattern matches). skiff and Debian's runc get
# the same config (test/vm/systemd_image.ts); only the unit's prefix
# differs. Prints "vmtest: ok|FAIL ..." lines, "vmprop: RUNTIME KEY=VALUE"
# lines with the scope's properties for the host test to compare, and
# "vmtest: N passed, N failed"; then powers the VM off.
exec >/dev/console 2>&1
export PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CG=/sys/fs/cgroup
B=/test/bundles
. /test/vmtest_lib.sh
t0=$(cut -d' ' -f1 /proc/uptime)
echo "vm: systemd up, tests start at ${t0}s (uptime), kernel $(uname -r), systemd $(systemctl --version | head -1)"
echo "vm: controllers: $(cat $CG/cgroup.controllers)"

PROPS=Slice,Delegate,MemoryAccounting,CPUAccounting,IOAccounting,TasksAccounting,DefaultDependencies,MemoryMax,MemoryLow,MemorySwapMax,CPUWeight,CPUQuotaPerSecUSec,CPUQuotaPeriodUSec,TasksMax,AllowedCPUs,AllowedMemoryNodes,DevicePolicy,DeviceAllow,IOWeight,Description,ControlGroup
# props RUNTIME UNIT: the unit's properties as "vmprop:" lines
props() {
	systemctl show "$2" -p "$PROPS" | sed "s/^/vmprop: $1 /"
}
# prop UNIT KEY: one property's value
prop() { systemctl show "$1" -p "$2" --value; }
# checkprop NAME UNIT KEY WANT
checkprop() {
	got=$(prop "$2" "$3")
	if [ "$got" = "$4" ]; then ok "$1"; else bad "$1" "$2 $3='$got', want '$4'"; fi
}
# no_units PATTERN: systemd knows no unit of that name, loaded or not
no_units() {
	systemctl list-units --all --no-legend --plain "$1" >/tmp/units 2>&1
	[ ! -s /tmp/units ]
}

if busctl --system status >/dev/null 2>&1; then ok system-bus-answers; else bad system-bus-answers "$(busctl --system status 2>&1 | head -3 | tr '\n' ' ')"; fi

# ------------------------------------------------------------ skiff
U=skiff-sd1.scope
D=$CG/system.slice/$U
c0=$(cut -d' ' -f1 /proc/uptime)
run create skiff --systemd-cgroup create --no-pivot -b $B/skiff sd1
c1=$(cut -d' ' -f1 /proc/uptime)
echo "vm: create took $(echo "$c0 $c1" | awk '{printf "%.2f", $2 - $1}')s under skiff (TCG)"
checkprop unit-active $U ActiveState active
checkprop unit-slice $U Slice system.slice
checkprop unit-delegate $U Delegate yes
checkprop unit-control-group $U ControlGroup /system.slice/$U
checkprop unit-memory-max $U MemoryMax 67108864
checkprop unit-memory-low $U MemoryLow 33554432
checkprop unit-swap-max $U MemorySwapMax 33554432
checkprop unit-cpu-weight $U CPUWeight 39
checkprop unit-cpu-quota $U CPUQuotaPerSecUSec 500ms
checkprop unit-cpu-period $U CPUQuotaPeriodUSec 100ms
checkprop unit-tasks-max $U TasksMax 20
checkprop unit-allowed-cpus $U AllowedCPUs 0
checkprop unit-allowed-mems $U AllowedMemoryNodes 0
checkprop unit-device-policy $U DevicePolicy strict
props skiff $U
pid=$(pid_of sd1)
c=$(cat /proc/$pid/cgroup 2>&1)
if [ "$c" = "0::/system.slice/$U" ]; then ok init-in-scope; else bad init-in-scope "/proc/$pid/cgroup: $c"; fi
check file-memory-max $D/memory.max 67108864
check file-memory-low $D/memory.low 33554432
check file-swap-max $D/memory.swap.max 33554432
check file-cpu-max $D/cpu.max "50000 100000"
check file-cpu-weight $D/cpu.weight 39
check file-pids-max $D/pids.max 20
check file-cpuset-cpus $D/cpuset.cpus 0
# io.weight: systemd has no property from blockIO.weight; written to the file as under cgroupfs
check file-io-weight $D/io.weight "default 4950"
s=$(status_of sd1)
if [ "$s" = created ]; then ok created; else bad created "status '$s'"; fi
run start skiff start sd1
wait_status sd1 running
s=$(status_of sd1)
if [ "$s" = running ]; then ok running; else bad running "status '$s'"; fi
out=$(skiff exec sd1 sh -c 'echo in-container; cat /proc/self/cgroup' 2>&1)
case "$out" in in-container*) ok exec ;; *) bad exec "$out" ;; esac
expid=$(skiff exec sd1 sh -c 'echo $$' 2>/dev/null)
run ps skiff ps sd1
# update: through SetUnitProperties and the files
run update skiff update --memory 128M --pids-limit 30 --cpu-quota 20000 sd1
checkprop update-unit-memory-max $U MemoryMax 134217728
checkprop update-unit-tasks-max $U TasksMax 30
checkprop update-unit-cpu-quota $U CPUQuotaPerSecUSec 200ms
check update-file-memory-max $D/memory.max 134217728
check update-file-pids-max $D/pids.max 30
check update-file-cpu-max $D/cpu.max "20000 100000"
run pause skiff pause sd1
s=$(status_of sd1)
if [ "$s" = paused ]; then ok paused; else bad paused "status '$s'"; fi
check pause-freezes $D/cgroup.freeze 1
run resume skiff resume sd1
s=$(status_of sd1)
if [ "$s" = running ]; then ok resumed; else bad resumed "status '$s'"; fi
check resume-thaws $D/cgroup.freeze 0
ev=$(skiff events --stats sd1 2>&1)
case "$ev" in *'"pids"'*'"current"'*) ok events-stats ;; *) bad events-stats "$ev" ;; esac
run kill skiff kill sd1 KILL
wait_status sd1 stopped
s=$(status_of sd1)
if [ "$s" = stopped ]; then ok stopped; else bad stopped "status '$s'"; fi
run delete skiff delete sd1
if no_units "$U"; then ok no-unit-left; else bad no-unit-left "$(cat /tmp/units)"; fi
if [ ! -e $D ]; then ok no-cgroup-left; else bad no-cgroup-left "$D exists"; fi

# delete of a running container (force) stops the scope with it
run create-force skiff --systemd-cgroup create --no-pivot -b $B/skiff sd1
run start-force skiff start sd1
run delete-force skiff delete -f sd1
if no_units "$U"; then ok force-no-unit-left; else bad force-no-unit-left "$(cat /tmp/units)"; fi

# a slice that does not exist: systemd makes it as a parent, as under runc
U2=skiff-sd2.scope
run create-new-slice skiff --systemd-cgroup create --no-pivot -b $B/newslice sd2
if [ -d $CG/testpods.slice/testpods-burst.slice/$U2 ]; then ok new-slice-nested; else bad new-slice-nested "$(find $CG/testpods.slice 2>&1 | tr '\n' ' ')"; fi
checkprop new-slice-active testpods-burst.slice ActiveState active
run delete-new-slice skiff delete -f sd2
if no_units "$U2"; then ok new-slice-no-unit-left; else bad new-slice-no-unit-left "$(cat /tmp/units)"; fi

# the same container id twice: refused, the first one untouched
run create-again skiff --systemd-cgroup create --no-pivot -b $B/skiff sd1
if skiff --systemd-cgroup create --no-pivot -b $B/skiff sd1 >/tmp/out 2>&1; then bad duplicate-refused "created twice"; else ok duplicate-refused; fi
checkprop duplicate-first-untouched $U ActiveState active
# another container asking for the same unit: systemd refuses, nothing of it is left
if skiff --systemd-cgroup create --no-pivot -b $B/skiff sd1b >/tmp/out 2>&1; then bad same-unit-refused "created"; else
	case "$(cat /tmp/out)" in *"start systemd unit $U: org.freedesktop.systemd1.UnitExists"*) ok same-unit-refused ;; *) bad same-unit-refused "$(cat /tmp/out)" ;; esac
fi
if [ ! -e /run/skiff/sd1b ]; then ok same-unit-no-state-left; else bad same-unit-no-state-left "/run/skiff/sd1b exists"; fi
checkprop same-unit-first-untouched $U ActiveState active
run delete-again skiff delete -f sd1

# run in the foreground: the process sees its scope, and the unit goes with it
out=$(skiff --systemd-cgroup run --no-pivot -b $B/cgroup sd4 2>&1)
if [ "$out" = "0::/system.slice/skiff-sd4.scope" ]; then ok run-in-scope; else bad run-in-scope "$out"; fi
if no_units skiff-sd4.scope; then ok run-no-unit-left; else bad run-no-unit-left "$(cat /tmp/units)"; fi

# a container whose process fails to start: no unit left behind
cp -r $B/skiff /tmp/badbundle
sed -i 's|"sleep"|"/no/such/program"|' /tmp/badbundle/config.json
skiff --systemd-cgroup create --no-pivot -b /tmp/badbundle sd3 >/tmp/out 2>&1
skiff start sd3 >/dev/null 2>&1
skiff delete -f sd3 >/dev/null 2>&1
if no_units skiff-sd3.scope; then ok failed-start-no-unit-left; else bad failed-start-no-unit-left "$(cat /tmp/units)"; fi

# create fails after the scope started (a createRuntime hook fails): the
# clean-up stops the unit on the same bus connection, nothing is left
if skiff --systemd-cgroup create --no-pivot -b $B/hookfail sd5 >/tmp/out 2>&1; then bad hook-failure-fails "created"; else ok hook-failure-fails; fi
if no_units skiff-sd5.scope; then ok hook-failure-no-unit-left; else bad hook-failure-no-unit-left "$(cat /tmp/units)"; fi
if [ ! -e /run/skiff/sd5 ] && [ ! -e $CG/system.slice/skiff-sd5.scope ]; then ok hook-failure-nothing-left; else bad hook-failure-nothing-left "$(ls -d /run/skiff/sd5 $CG/system.slice/skiff-sd5.scope 2>&1 | tr '\n' ' ')"; fi

if no_units 'skiff*'; then ok no-skiff-units; else bad no-skiff-units "$(cat /tmp/units)"; fi

# ------------------------------------------------------------ runc, the same config
R="runc --root /run/runc-test --systemd-cgroup"
RU=runc-sd1.scope
c0=$(cut -d' ' -f1 /proc/uptime)
run runc-create $R create --no-pivot -b $B/runc sd1
c1=$(cut -d' ' -f1 /proc/uptime)
echo "vm: create took $(echo "$c0 $c1" | awk '{printf "%.2f", $2 - $1}')s under runc (TCG)"
props runc $RU
checkprop runc-unit-memory-max $RU MemoryMax 67108864
run runc-start $R start sd1
run runc-update $R update --memory 128M --pids-limit 30 --cpu-quota 20000 sd1
echo "vmprop: runc-updated MemoryMax=$(prop $RU MemoryMax) TasksMax=$(prop $RU TasksMax) CPUQuotaPerSecUSec=$(prop $RU CPUQuotaPerSecUSec)"
run runc-kill $R kill sd1 KILL
sleep 0.5
run runc-delete $R delete -f sd1
if no_units "$RU"; then ok runc-no-unit-left; else bad runc-no-unit-left "$(cat /tmp/units)"; fi

t1=$(cut -d' ' -f1 /proc/uptime)
echo "vmtest: tests took $(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}')s"
echo "vmtest: $pass passed, $fail failed"
echo "vm: done after $(cut -d' ' -f1 /proc/uptime)s"
systemctl poweroff --force --force
