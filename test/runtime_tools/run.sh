#!/bin/bash
# Runs the OCI runtime-tools validation suite (validation/*/*.t of
# github.com/opencontainers/runtime-tools) against Debian's runc and skiff,
# prints the table (test, runc, skiff) and writes
# test/.work/runtime-tools/results.tsv. See README.md beside this.
#
# It fails (exit 1) when skiff does not pass a test that runc passes, or a
# test listed in skiff_passes.txt (the ratchet). Exit 2: could not run
# (no source, build failed). Exit 3: skipped (no source tree; the reason is
# printed). Last line: "runtime-tools: N passed, N failed, N skipped".
#
# Env:
#   RT_SRC=DIR         upstream source tree (default ../shared/runtime-tools
#                      beside the clone, as CI lays it; read-only is fine)
#   RT_TESTS="a b"     run only these tests
#   RT_TIMEOUT=60      per-test, per-runtime timeout in seconds (the slowest
#                      tests take up to 22s on a 2-core machine at load 11)
#   RT_BUDGET=900      seconds for the whole run; tests not started by then
#                      are not run and count as failures (a hang must not
#                      eat CI's 90 minutes)
#   RT_REPORT_ONLY=1   report only; exit 0 whatever the verdicts
#   SKIFF=PATH         skiff binary (default build/skiff; built if missing)
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$REPO/test/runtime_tools
W=$REPO/test/.work/runtime-tools
SRC=${RT_SRC:-$REPO/../shared/runtime-tools}
TIMEOUT=${RT_TIMEOUT:-60}
BUDGET=${RT_BUDGET:-900}
SKIFF=${SKIFF:-$REPO/build/skiff}
REPORT_ONLY=${RT_REPORT_ONLY:-0}
RATCHET=$HERE/skiff_passes.txt
REFUSALS=$HERE/skiff_refuses.txt

say() { echo "runtime-tools: $*"; }
die() { say "$*" >&2; exit 2; }

# --- source -------------------------------------------------------------------
# Debian packages only runtime-tools' library, not validation/ nor
# cmd/runtimetest, so the upstream tree (with vendor/) is provided beside the
# clone. A plain clone has none: skip, saying why.
if [ ! -f "$SRC/Makefile" ] || [ ! -d "$SRC/validation" ] || [ ! -d "$SRC/vendor" ]; then
	echo "skip: OCI runtime-tools validation: no upstream source tree at $SRC (a plain clone has no ../shared; CI lays it beside the clone, see test/runtime_tools/README.md)"
	echo "runtime-tools: 0 passed, 0 failed, 1 skipped"
	exit 3
fi
SRC=$(cd "$SRC" && pwd)

# --- packages (only when missing; a fresh machine has neither) ---------------
missing=""
for p in golang-go make runc; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
	say "installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt="apt-get -o DPkg::Lock::Timeout=600"
	$apt install -y -qq $missing >/dev/null 2>&1 ||
		{ $apt update -qq >/dev/null 2>&1 && $apt install -y -qq $missing >/dev/null 2>&1; } ||
		die "apt-get install$missing failed"
fi

# --- build (upstream's Makefile, vendored modules, offline, cached) ----------
# A writable copy of the tree, built as SOURCE.md says; the tests then run
# from its top, where they find runtimetest and rootfs-amd64.tar.gz.
TREE=$W/tree
mkdir -p "$W"
stamp=$( (cd "$SRC" && find . -type f -print0 | sort -z | xargs -0 sha256sum; go version) | sha256sum | cut -c1-16)
if [ "$(cat "$TREE/.skiff-stamp" 2>/dev/null)" != "$stamp" ]; then
	say "building runtimetest and the validation tests in $TREE (offline, vendored modules)"
	t0=$(date +%s)
	rm -rf "$TREE" "$TREE.new"
	cp -R "$SRC" "$TREE.new" && chmod -R u+w "$TREE.new" || die "copy $SRC failed"
	commit=$(sed -n 's/.*at commit \([0-9a-f]\{7\}\).*/\1/p' "$SRC/SOURCE.md" 2>/dev/null | head -1)
	(cd "$TREE.new" && GOFLAGS=-mod=vendor GO111MODULE=on GOPROXY=off GOSUMDB=off \
		GOPATH=$W/gopath GOCACHE=$W/gocache \
		make COMMIT="${commit:-unknown}" runtimetest validation-executables) >"$W/build.log" 2>&1 ||
		{ tail -20 "$W/build.log" >&2; die "build failed (log: $W/build.log)"; }
	echo "$stamp" >"$TREE.new/.skiff-stamp"
	mv "$TREE.new" "$TREE"
	say "built in $(($(date +%s) - t0))s"
fi

# --- runtimes -------------------------------------------------------------------
if [ ! -x "$SKIFF" ]; then
	say "building skiff"
	sh "$REPO/scripts/build.sh" >/dev/null || die "skiff build failed"
fi
# Private state roots, so runs never meet other containers.
mkdir -p "$W/wrap" "$W/state"
cat >"$W/wrap/runc" <<EOF
#!/bin/sh
exec /usr/sbin/runc --root "$W/state/runc" "\$@"
EOF
cat >"$W/wrap/skiff" <<EOF
#!/bin/sh
exec "$SKIFF" --root "$W/state/skiff" "\$@"
EOF
chmod +x "$W/wrap/runc" "$W/wrap/skiff"

# --- run ------------------------------------------------------------------------
# Verdict of one TAP log: pass (exit 0, a plan, no "not ok" outside TODO),
# skip (nothing but skips), fail, or timeout.
verdict() { # log rc
	local log=$1 rc=$2
	[ "$rc" = 124 ] || [ "$rc" = 137 ] && { echo timeout; return; }
	if [ "$rc" != 0 ] || ! grep -q '^1\.\.[0-9]' "$log"; then echo fail; return; fi
	if grep '^not ok' "$log" | grep -vq '# TODO'; then echo fail; return; fi
	if grep -q '^ok' "$log" && ! grep '^ok' "$log" | grep -vq '# SKIP'; then echo skip; return; fi
	echo pass
}

# Containers a timed-out test left behind: removed from the private root
# before the next test, which may use the same cgroup path.
sweep() { # runtime
	local id
	for id in $("$W/wrap/$1" list -q 2>/dev/null); do "$W/wrap/$1" delete -f "$id" >/dev/null 2>&1; done
}

all=$(cd "$TREE/validation" && ls -d */ | tr -d / | while read -r t; do [ -x "$t/$t.t" ] && echo "$t"; done)
tests=${RT_TESTS:-$all}
for t in $tests; do echo "$all" | grep -qx "$t" || die "no such test: $t (RT_TESTS)"; done
ratchet=$(sed 's/#.*//; s/[[:space:]]//g; /^$/d' "$RATCHET" 2>/dev/null)
for t in $ratchet; do echo "$all" | grep -qx "$t" || die "$RATCHET names $t, which is not a test of the suite"; done
# The reason skiff refuses a test on purpose (skiff_refuses.txt), or status 1.
refusal() { grep -v '^#' "$REFUSALS" | awk -v t="$1" '$1 == t { $1 = ""; sub(/^ /, ""); print; found = 1 } END { exit !found }'; }
for t in $(grep -v '^#' "$REFUSALS" | cut -d' ' -f1); do echo "$all" | grep -qx "$t" || die "$REFUSALS names $t, which is not a test of the suite"; done

RESULTS=$W/results.tsv
LOGS=$W/logs
rm -rf "$LOGS" && mkdir -p "$LOGS/runc" "$LOGS/skiff"
printf 'test\trunc\tskiff\tsecs_runc\tsecs_skiff\n' >"$RESULTS.tmp"
# The cgroup tests make "/cgrouptest" and, relative to the runtime's own
# cgroup, "testdir/cgrouptest/container"; runc leaves the parents it made.
# Whatever of these did not exist before the run is removed after it (rmdir
# only: a directory still in use stays, and is named).
cgroup_leftovers() {
	own=$(sed -n 's/^[0-9]*:[^:]*:\(.*\)$/\1/p' /proc/self/cgroup | sort -u)
	for m in $(awk '$3 == "cgroup" || $3 == "cgroup2" {print $2}' /proc/self/mounts); do
		for base in / $own; do
			for d in testdir/cgrouptest/container testdir/cgrouptest testdir cgrouptest; do
				[ -d "$m$base/$d" ] && echo "$m$base/$d" | sed 's#//*#/#g'
			done
		done
	done | sort -u
}
cgroups_before=$(cgroup_leftovers)
start=$(date +%s)
say "running $(echo $tests | wc -w) tests against runc and skiff (timeout ${TIMEOUT}s each)"
printf '%-36s %-8s %-8s %s\n' test runc skiff note
for t in $tests; do
	if [ $(($(date +%s) - start)) -ge "$BUDGET" ]; then
		printf '%s\tnotrun\tnotrun\t0\t0\n' "$t" >>"$RESULTS.tmp"
		printf '%-36s %-8s %-8s %s\n' "$t" notrun notrun "FAIL: not run, the suite's ${BUDGET}s budget was spent"
		continue
	fi
	row="$t"
	secs=""
	for rt in runc skiff; do
		log=$LOGS/$rt/$t.tap
		t1=$(date +%s)
		(cd "$TREE" && RUNTIME="$W/wrap/$rt" timeout -k 5 "$TIMEOUT" "./validation/$t/$t.t" >"$log" 2>"$LOGS/$rt/$t.stderr")
		rc=$?
		secs="$secs	$(($(date +%s) - t1))"
		row="$row	$(verdict "$log" "$rc")"
		sweep "$rt"
	done
	printf '%s%s\n' "$row" "$secs" >>"$RESULTS.tmp"
	r=$(echo "$row" | cut -f2)
	s=$(echo "$row" | cut -f3)
	listed=no
	echo "$ratchet" | grep -qx "$t" && listed=yes
	note=""
	if [ "$s" = pass ]; then
		[ "$listed" = no ] && note="passes, not yet in skiff_passes.txt: add it"
	elif [ "$r" = pass ] && refusal "$t" >/dev/null; then
		note="refused on purpose: $(refusal "$t")"
	elif [ "$r" = pass ]; then
		note="FAIL: runc passes it"
	elif [ "$listed" = yes ]; then
		note="FAIL: in skiff_passes.txt (skiff passed it before)"
	else
		note="not required: runc does not pass it either"
	fi
	printf '%-36s %-8s %-8s %s\n' "$t" "$r" "$s" "$note"
done
mv "$RESULTS.tmp" "$RESULTS"
for d in $(cgroup_leftovers | sort -r); do
	echo "$cgroups_before" | grep -qx "$d" && continue
	rmdir "$d" 2>/dev/null || say "left behind (in use): $d"
done

# Counted from skiff's side: passed = skiff passes; failed = skiff does not
# pass a test that runc passes or that the ratchet holds; skipped = the rest
# (nothing is required of skiff there).
n_runc=$(awk -F'\t' 'NR>1 && $2=="pass"' "$RESULTS" | wc -l)
n_pass=$(awk -F'\t' 'NR>1 && $3=="pass"' "$RESULTS" | wc -l)
n_all=$(awk 'NR>1' "$RESULTS" | wc -l)
failed=$(awk -F'\t' -v list="$(echo $ratchet)" -v refused="$(grep -v '^#' "$REFUSALS" | cut -d' ' -f1 | tr '\n' ' ')" '
	BEGIN { n = split(list, a, " "); for (i = 1; i <= n; i++) r[a[i]] = 1
		n = split(refused, b, " "); for (i = 1; i <= n; i++) x[b[i]] = 1 }
	NR>1 && $3!="pass" && !($1 in x && $2=="pass") && ($2=="pass" || $2=="notrun" || ($1 in r)) { print $1 }' "$RESULTS")
n_fail=$(echo "$failed" | grep -c . || true)
echo
say "$(($(date +%s) - start))s; of $n_all tests runc passes $n_runc, skiff passes $n_pass; results in $RESULTS, TAP in $LOGS"
[ -n "$failed" ] && say "skiff fails tests that runc or skiff_passes.txt require:" $failed
echo "runtime-tools: $n_pass passed, $n_fail failed, $((n_all - n_pass - n_fail)) skipped"
if [ -n "$failed" ] && [ "$REPORT_ONLY" != 1 ]; then exit 1; fi
exit 0
