#!/bin/sh
# checkpoint/restore tests, run by /init inside the criu VM, the same steps
# under skiff and under runc (differential). One line per check:
#   vmtest: ok NAME | vmtest: FAIL NAME: WHY
# timings as "vmtime: RUNTIME ACTION SECONDS", then "vmtest: N passed, N failed".
B=/test/bundles
pass=0
fail=0
ok() { echo "vmtest: ok $1"; pass=$((pass + 1)); }
bad() { echo "vmtest: FAIL $1: $2"; fail=$((fail + 1)); }
# run NAME COMMAND...: the command succeeds (its output is shown when not)
run() {
	name=$1
	shift
	if "$@" </dev/null >/tmp/out 2>&1; then ok "$name"; else
		bad "$name" "$* failed: $(tr '\n' ' ' </tmp/out)"
		# criu's errors, from the log the message names
		log=$(sed -n 's/.*(log: \([^)]*\)).*/\1/p' /tmp/out)
		[ -n "$log" ] && [ -f "$log" ] && grep -e Error -e Warn "$log" | tail -15 | sed 's/^/    criu: /'
		# the first failure's log in full context, once
		if [ -n "$log" ] && [ -f "$log" ] && [ -z "$shown" ]; then
			shown=1
			grep -v -e 'pie:' "$log" | grep -B30 -m1 -e 'Invalid argument' -e 'FAILED' | sed 's/^/    log: /'
		fi
	fi
}
now() { cut -d' ' -f1 /proc/uptime; }
# timed NAME ACTION COMMAND...: run, and print how long it took
timed() {
	name=$1
	action=$2
	shift 2
	t0=$(now)
	run "$name" "$@"
	echo "vmtime: $RT $action $(awk "BEGIN { printf \"%.2f\", $(now) - $t0 }")"
}
rt() {
	if [ "$RT" = skiff ]; then skiff --root /run/ct-skiff "$@"; else runc --root /run/ct-runc "$@"; fi
}
status_of() { rt state "$1" 2>/dev/null | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p'; }
count() { c=$(cat "/test/data/$1/count" 2>/dev/null); echo "${c:-0}"; }
# wait_count BUNDLE MIN: until the count reaches MIN (up to 60 s: TCG is slow)
wait_count() {
	i=0
	while [ "$(count "$1")" -lt "$2" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
}
# stopped BUNDLE: prints the count if it stays put for a second (no process writes it)
stopped() {
	a=$(count "$1")
	sleep 1
	[ "$(count "$1")" = "$a" ] && echo "$a"
}
# goes_on NAME BUNDLE FROM: the count moves past FROM+3 and never shows a value
# below FROM meanwhile (a fresh start would write 1, 2, ...)
goes_on() {
	if [ -z "$3" ]; then
		bad "$1" "no count to go on from (the checkpoint did not stop it)"
		return
	fi
	low=999999
	i=0
	while [ "$(count "$2")" -lt $(($3 + 3)) ] && [ $i -lt 600 ]; do
		c=$(count "$2")
		[ "$c" -lt "$low" ] && low=$c
		sleep 0.05
		i=$((i + 1))
	done
	c=$(count "$2")
	if [ "$c" -ge $(($3 + 3)) ] && [ "$low" -ge "$3" ]; then ok "$1"; else bad "$1" "count from $3: lowest seen $low, now $c"; fi
}
fresh() { rm -f "/test/data/$1/count" "/test/data/$1/count.new"; }
gone() { # NAME ID: the runtime no longer knows the container
	if rt state "$2" >/dev/null 2>&1; then bad "$1" "state $2 still answers: $(status_of "$2")"; else ok "$1"; fi
}
is_status() { # NAME ID STATUS
	s=$(status_of "$2")
	if [ "$s" = "$3" ]; then ok "$1"; else bad "$1" "status of $2 is '$s', want $3"; fi
}
wait_socket() {
	i=0
	while [ ! -S "$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
}

# criu probes the kernel on its first run and caches the result in
# /run/criu.kdat: probe once here, so neither runtime's first checkpoint pays for it.
criu check >/dev/null 2>&1
[ -e /run/criu.kdat ] && echo "vm: criu kerndat cached" || echo "vm: criu left no /run/criu.kdat"
for RT in skiff runc; do
	W=/tmp/$RT
	mkdir -p $W
	echo "vm: --- $RT"

	# 1. a counting container, checkpointed (it stops and is gone), restored: the count goes on
	fresh count
	run $RT-run rt run -d -b $B/count c1
	# what one command of this runtime costs here, to read the times below by
	timed $RT-state state rt state c1
	wait_count count 10
	timed $RT-checkpoint checkpoint rt checkpoint --image-path $W/img1 c1
	n=$(stopped count)
	if [ -n "$n" ]; then ok $RT-checkpoint-stops; else bad $RT-checkpoint-stops "the count still moves"; fi
	gone $RT-checkpoint-deletes c1
	timed $RT-restore restore rt restore -d -b $B/count --image-path $W/img1 c1
	is_status $RT-restored-running c1 running
	goes_on $RT-restored-counts-on count "$n"
	got=$(rt exec c1 cat /data/count 2>&1)
	if [ "$got" -ge "$n" ] 2>/dev/null; then ok $RT-restored-exec; else bad $RT-restored-exec "exec cat /data/count: $got"; fi
	cg=$(cat /proc/"$(rt state c1 | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')"/cgroup)
	case "$cg" in "0::/criu-test/count") ok $RT-restored-cgroup ;; *) bad $RT-restored-cgroup "cgroup $cg" ;; esac
	run $RT-restored-kill rt kill c1 KILL
	i=0
	while [ "$(status_of c1)" != stopped ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	run $RT-restored-delete rt delete c1

	# 2. --leave-running, then a restore into a new id
	fresh count
	run $RT-run-2 rt run -d -b $B/count c1
	wait_count count 5
	before=$(count count)
	run $RT-checkpoint-leave-running rt checkpoint --leave-running --image-path $W/img2 c1
	is_status $RT-left-running c1 running
	a=$(count count)
	sleep 1
	if [ "$(count count)" -gt "$a" ]; then ok $RT-left-running-counts; else bad $RT-left-running-counts "count stays at $a"; fi
	run $RT-delete-left rt delete -f c1
	run $RT-restore-new-id rt restore -d -b $B/count --image-path $W/img2 c2
	is_status $RT-new-id-running c2 running
	goes_on $RT-new-id-counts-on count "$before"
	run $RT-new-id-delete rt delete -f c2

	# 3. pre-dump, then a dump on top of it (--parent-path)
	fresh count
	run $RT-run-3 rt run -d -b $B/count c1
	wait_count count 5
	run $RT-pre-dump rt checkpoint --pre-dump --image-path $W/pre c1
	is_status $RT-pre-dump-running c1 running
	echo "vm: pre-dump images: $(ls $W/pre | tr '\n' ' ')"
	timed $RT-dump-on-parent checkpoint-after-pre-dump rt checkpoint --image-path $W/final --parent-path ../pre c1
	if [ -L $W/final/parent ]; then ok $RT-parent-link; else bad $RT-parent-link "no $W/final/parent link: $(ls $W/final | tr '\n' ' ')"; fi
	n=$(stopped count)
	run $RT-restore-pre-dumped rt restore -d -b $B/count --image-path $W/final c1
	goes_on $RT-pre-dumped-counts-on count "$n"
	run $RT-pre-dumped-delete rt delete -f c1

	# 4. a terminal: the pty master goes to --console-socket at run and at restore
	fresh tty
	recvtty -m save -o $W/tty1.out -n $W/tty1.info $W/tty1.sock &
	recv1=$!
	wait_socket $W/tty1.sock
	run $RT-run-tty rt run -d --console-socket $W/tty1.sock -b $B/tty t1
	wait_count tty 5
	run $RT-checkpoint-tty rt checkpoint --image-path $W/tty t1
	n=$(stopped tty)
	recvtty -m save -o $W/tty2.out -n $W/tty2.info $W/tty2.sock &
	recv2=$!
	wait_socket $W/tty2.sock
	run $RT-restore-tty rt restore -d --console-socket $W/tty2.sock -b $B/tty --image-path $W/tty t1
	goes_on $RT-tty-counts-on tty "$n"
	got=$(rt exec t1 readlink /proc/1/fd/1 2>&1)
	case "$got" in /dev/pts/*) ok $RT-tty-restored-pts ;; *) bad $RT-tty-restored-pts "init's stdout is '$got'" ;; esac
	sleep 1
	last=$(grep -o 'tick [0-9]*' $W/tty2.out 2>/dev/null | tail -1 | cut -d' ' -f2)
	if [ "${last:-0}" -gt "${n:-0}" ]; then ok $RT-tty-output-after-restore; else bad $RT-tty-output-after-restore "recvtty got '$(head -c 200 $W/tty2.out 2>/dev/null | tr '\n\r' '  ')' (count was $n)"; fi
	run $RT-tty-delete rt delete -f t1
	# a receiver that got no pty (a failed run or restore) would wait forever
	kill $recv1 $recv2 2>/dev/null

	# 5. stdio pipes: the restored process writes to the pipe restore was given
	#    (descriptors.json names the old pipes; criu takes the new ones in their place)
	fresh pipe
	(while [ ! -e $W/stop1 ]; do sleep 0.2; done) | rt run -d -b $B/pipe p1 2>&1 | cat >$W/pipe1.out &
	wait_count pipe 5
	run $RT-checkpoint-pipes rt checkpoint --image-path $W/pipe p1
	n=$(stopped pipe)
	touch $W/stop1
	(while [ ! -e $W/stop2 ]; do sleep 0.2; done) | rt restore -d -b $B/pipe --image-path $W/pipe p1 2>&1 | cat >$W/pipe2.out &
	goes_on $RT-pipes-counts-on pipe "$n"
	last=$(grep -o 'tick [0-9]*' $W/pipe2.out 2>/dev/null | tail -1 | cut -d' ' -f2)
	if [ "${last:-0}" -gt "${n:-0}" ]; then ok $RT-pipes-output-after-restore; else bad $RT-pipes-output-after-restore "the new pipe got '$(head -c 300 $W/pipe2.out | tr '\n' ' ')' (count was $n)"; fi
	run $RT-pipes-delete rt delete -f p1
	touch $W/stop2

	# 6. an attached restore: the runtime waits, exits with the process's status, deletes it
	fresh count
	run $RT-run-attached rt run -d -b $B/count c1
	wait_count count 5
	run $RT-checkpoint-attached rt checkpoint --image-path $W/att c1
	n=$(stopped count)
	(rt restore -b $B/count --image-path $W/att c1 </dev/null >$W/att.out 2>&1; echo $? >$W/att.rc) &
	goes_on $RT-attached-counts-on count "$n"
	is_status $RT-attached-running c1 running
	run $RT-attached-kill rt kill c1 KILL
	i=0
	while [ ! -s $W/att.rc ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	rc=$(cat $W/att.rc 2>/dev/null)
	if [ "$rc" = 137 ]; then ok $RT-attached-exit-status; else bad $RT-attached-exit-status "restore exited '$rc', want 137: $(tr '\n' ' ' <$W/att.out)"; fi
	gone $RT-attached-deleted c1

	# 7. the flags that only pass through to criu, at both ends, and --pid-file
	fresh count
	run $RT-run-flags rt run -d -b $B/count c1
	wait_count count 5
	run $RT-checkpoint-flags rt checkpoint --image-path $W/flags --work-path $W/flags-work --file-locks --tcp-established --ext-unix-sk --auto-dedup --manage-cgroups-mode soft c1
	if [ -f $W/flags-work/dump.log ]; then ok $RT-work-path-log; else bad $RT-work-path-log "no dump.log in $W/flags-work"; fi
	n=$(stopped count)
	run $RT-restore-flags rt restore -d -b $B/count --image-path $W/flags --file-locks --tcp-established --ext-unix-sk --auto-dedup --manage-cgroups-mode soft --pid-file $W/flags.pid c1
	goes_on $RT-flags-counts-on count "$n"
	pid=$(rt state c1 | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
	if [ -n "$pid" ] && [ "$(cat $W/flags.pid 2>/dev/null)" = "$pid" ]; then ok $RT-restore-pid-file; else bad $RT-restore-pid-file "pid file '$(cat $W/flags.pid 2>/dev/null)', state pid '$pid'"; fi
	run $RT-flags-delete rt delete -f c1

	# 8. prestart and createRuntime hooks run again at restore, given the restored pid
	fresh hook
	run $RT-run-hook rt run -d -b $B/hook c1
	wait_count hook 5
	run $RT-checkpoint-hook rt checkpoint --image-path $W/hook c1
	rm -f /test/data/hook/prestart.json /test/data/hook/createRuntime.json
	run $RT-restore-hook rt restore -d -b $B/hook --image-path $W/hook c1
	pid=$(rt state c1 | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
	for h in prestart createRuntime; do
		got=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' /test/data/hook/$h.json 2>/dev/null)
		if [ -n "$pid" ] && [ "$got" = "$pid" ]; then ok $RT-restore-hook-$h; else bad $RT-restore-hook-$h "hook state pid '$got', restored pid '$pid': $(cat /test/data/hook/$h.json 2>/dev/null)"; fi
	done
	run $RT-hook-delete rt delete -f c1

	# 9. nothing left behind
	left=$(ls /run/ct-$RT 2>/dev/null)
	[ -z "$left" ] && ok $RT-no-state || bad $RT-no-state "state left: $left"
	left=$(ls -d /sys/fs/cgroup/criu-test/* 2>/dev/null | grep -v '\.' )
	[ -z "$left" ] && ok $RT-no-cgroups || bad $RT-no-cgroups "cgroups left: $left"
	left=$(grep -e criu-root -e ' /rootfs' /proc/mounts)
	[ -z "$left" ] && ok $RT-no-mounts || bad $RT-no-mounts "mounts left: $left"
	left=$(ps -o pid,args | grep 'while :' | grep -v grep)
	[ -z "$left" ] && ok $RT-no-processes || bad $RT-no-processes "processes left: $left"
done
# Times of the counting container, alternating runtimes (the VM shares a
# busy host: one sample each says little). Printed, never asserted.
for round in 1 2 3; do
	for RT in skiff runc; do
		W=/tmp/$RT
		rm -rf $W/bench
		fresh count
		run $RT-bench-run-$round rt run -d -b $B/count b1
		wait_count count 3
		timed $RT-bench-checkpoint-$round bench-checkpoint rt checkpoint --image-path $W/bench b1
		timed $RT-bench-restore-$round bench-restore rt restore -d -b $B/count --image-path $W/bench b1
		run $RT-bench-delete-$round rt delete -f b1
	done
done
# Where skiff's time goes (--debug phases), once, not timed.
fresh count
skiff --root /run/ct-skiff run -d -b $B/count d1 </dev/null >/dev/null 2>&1
wait_count count 3
rm -rf /tmp/skiff/debug
skiff --debug --root /run/ct-skiff checkpoint --image-path /tmp/skiff/debug d1 2>&1 | grep ' at ' | sed 's/^/vm: debug checkpoint: /'
skiff --debug --root /run/ct-skiff restore -d -b $B/count --image-path /tmp/skiff/debug d1 </dev/null 2>&1 | grep ' at ' | sed 's/^/vm: debug restore: /'
skiff --root /run/ct-skiff delete -f d1
echo "vmtest: $pass passed, $fail failed"
