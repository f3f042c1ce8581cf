#!/bin/bash
# Runs the OCI runtime-tools validation suite (validation/*/ of
# github.com/opencontainers/runtime-tools) against Debian's runc and skiff,
# and writes test/.work/runtime-tools/results.tsv. See README.md beside this.
#
# Env:
#   RT_REPORT_ONLY=1   only report; exit 0 even if skiff fails a test runc passes
#   RT_SRC=DIR         runtime-tools source tree holding validation/ and
#                      cmd/runtimetest/ (default test/.work/runtime-tools/upstream)
#   RT_TESTS="a b"     run only these tests
#   RT_TIMEOUT=60      per-test timeout in seconds
#   SKIFF=PATH         skiff binary (default build/skiff; built if missing)
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$REPO/test/runtime_tools
W=$REPO/test/.work/runtime-tools
SRC=${RT_SRC:-$W/upstream}
TIMEOUT=${RT_TIMEOUT:-60}
SKIFF=${SKIFF:-$REPO/build/skiff}
REPORT_ONLY=${RT_REPORT_ONLY:-0}
mkdir -p "$W"

say() { echo "runtime-tools: $*"; }
die() { say "$*" >&2; exit 2; }

# --- packages (idempotent, quiet) ------------------------------------------
PKGS="golang-go golang-github-opencontainers-runtime-tools-dev golang-github-google-uuid-dev busybox-static runc"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
	say "installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq $missing >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq $missing >/dev/null 2>&1; } ||
		die "apt-get install$missing failed"
fi

# --- source -------------------------------------------------------------------
# Debian's -dev package ships only the library packages (generate, specerror,
# validate, ...), not validation/ nor cmd/runtimetest, and Debian's source
# package cannot be fetched here; those two trees must be provided in $SRC.
if [ ! -f "$SRC/validation/util/test.go" ] || [ ! -f "$SRC/cmd/runtimetest/main.go" ]; then
	say "no runtime-tools validation source in $SRC (need validation/ and cmd/runtimetest/;"
	say "Debian's golang-github-opencontainers-runtime-tools-dev does not ship them)"
	[ "$REPORT_ONLY" = 1 ] && { say "skipped"; exit 0; }
	exit 2
fi

# --- build (GOPATH mode, offline, cached) -------------------------------------
GP=$W/gopath
BIN=$W/bin
RT=$GP/src/github.com/opencontainers/runtime-tools
mkdir -p "$RT" "$GP/src/github.com/mndrix" "$BIN"
# Stamp of the inputs: rebuild when the source, the tap shim or go change.
stamp=$( (cd "$SRC" && find validation cmd -name '*.go' -print0 | sort -z | xargs -0 sha256sum
	sha256sum "$HERE/tapshim/tap.go"; go version
	dpkg-query -W golang-github-opencontainers-runtime-tools-dev) 2>/dev/null | sha256sum | cut -c1-16)
if [ "$(cat "$BIN/.stamp" 2>/dev/null)" != "$stamp" ]; then
	say "building validation binaries"
	rm -rf "$RT/validation" "$RT/cmd" "$GP/src/github.com/mndrix/tap-go" "$BIN"/*
	cp -r "$SRC/validation" "$RT/validation"
	mkdir -p "$RT/cmd" && cp -r "$SRC/cmd/runtimetest" "$RT/cmd/runtimetest"
	mkdir -p "$GP/src/github.com/mndrix/tap-go" && cp "$HERE/tapshim/tap.go" "$GP/src/github.com/mndrix/tap-go/"
	export GO111MODULE=off GOPATH="$GP:/usr/share/gocode" GOCACHE=$W/gocache GOFLAGS=
	(cd "$RT" && CGO_ENABLED=0 go build -o "$BIN/runtimetest" ./cmd/runtimetest) || die "build runtimetest failed"
	for d in "$RT"/validation/*/; do
		t=$(basename "$d")
		[ "$t" = util ] && continue
		(cd "$RT" && go build -o "$BIN/$t.t" "./validation/$t") || die "build $t failed"
	done
	echo "$stamp" >"$BIN/.stamp"
fi

# --- rootfs tarball (busybox-static with its applets, like test/bundle.ts) ----
TARBALL=$BIN/rootfs-amd64.tar.gz
bbstamp="$(stat -c %Y:%s /bin/busybox) v1"
if [ "$(cat "$TARBALL.stamp" 2>/dev/null)" != "$bbstamp" ]; then
	say "building rootfs tarball"
	tmp=$(mktemp -d)
	mkdir -p "$tmp"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,etc,root,run,tmp,home/tester}
	chmod 1777 "$tmp/tmp"
	cp /bin/busybox "$tmp/bin/busybox"
	/bin/busybox --list-full | while read -r a; do
		case "$a" in "" | bin/busybox | linuxrc) continue ;; esac
		mkdir -p "$tmp/$(dirname "$a")"
		[ -e "$tmp/$a" ] || ln -s /bin/busybox "$tmp/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$tmp/etc/passwd"
	printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' >"$tmp/etc/group"
	tar -czf "$TARBALL.tmp" -C "$tmp" . && mv "$TARBALL.tmp" "$TARBALL"
	rm -rf "$tmp"
	echo "$bbstamp" >"$TARBALL.stamp"
fi

# --- runtimes -------------------------------------------------------------------
if [ ! -x "$SKIFF" ]; then
	say "building skiff"
	bash "$REPO/scripts/build.sh" >/dev/null || die "skiff build failed"
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
	[ "$rc" = 124 ] && { echo timeout; return; }
	if [ "$rc" != 0 ] || ! grep -q '^1\.\.[0-9]' "$log"; then echo fail; return; fi
	if grep '^not ok' "$log" | grep -vq '# TODO'; then echo fail; return; fi
	if grep -q '^ok' "$log" && ! grep '^ok' "$log" | grep -vq '# SKIP'; then echo skip; return; fi
	echo pass
}

tests=${RT_TESTS:-$(cd "$BIN" && ls *.t | sed 's/\.t$//')}
RESULTS=$W/results.tsv
LOGS=$W/logs
rm -rf "$LOGS" && mkdir -p "$LOGS/runc" "$LOGS/skiff"
printf 'test\trunc\tskiff\n' >"$RESULTS.tmp"
start=$(date +%s)
for t in $tests; do
	row="$t"
	for rt in runc skiff; do
		log=$LOGS/$rt/$t.tap
		(cd "$BIN" && RUNTIME="$W/wrap/$rt" timeout -k 5 "$TIMEOUT" "./$t.t" >"$log" 2>"$LOGS/$rt/$t.stderr")
		rc=$?
		v=$(verdict "$log" "$rc")
		row="$row	$v"
	done
	printf '%s\n' "$row" >>"$RESULTS.tmp"
	printf '%-32s runc=%-8s skiff=%s\n' "$t" "$(echo "$row" | cut -f2)" "$(echo "$row" | cut -f3)"
done
mv "$RESULTS.tmp" "$RESULTS"
# Leftover containers of timed-out tests: remove them from the private roots.
for rt in runc skiff; do
	for id in $("$W/wrap/$rt" list -q 2>/dev/null); do "$W/wrap/$rt" delete -f "$id" >/dev/null 2>&1; done
done

regressions=$(awk -F'\t' 'NR>1 && $2=="pass" && $3!="pass" {print $1}' "$RESULTS")
n_runc=$(awk -F'\t' 'NR>1 && $2=="pass"' "$RESULTS" | wc -l)
n_skiff=$(awk -F'\t' 'NR>1 && $3=="pass"' "$RESULTS" | wc -l)
n_reg=$(echo "$regressions" | grep -c . || true)
n_ok=$((n_runc - n_reg))
echo
say "$(($(date +%s) - start))s; runc passes $n_runc, skiff passes $n_skiff; results in $RESULTS, TAP in $LOGS"
if [ -n "$regressions" ]; then
	say "skiff fails tests that runc passes:" $regressions
fi
echo "runtime-tools: $n_ok passed, $n_reg failed"
if [ -n "$regressions" ] && [ "$REPORT_ONLY" != 1 ]; then exit 1; fi
exit 0
