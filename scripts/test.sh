#!/bin/sh
# The whole test suite: set-up, build, type check, unit tests (no root),
# integration and differential tests (as root; skipped with a reason
# otherwise), then the OCI runtime-tools validation suite against runc and
# skiff. Exits non-zero on any failure and ends with one line
# "N passed, N failed, N skipped" (bun test and runtime-tools together).
#
# Env:
#   SKIFF_TEST_PATHS="a_test.ts dir/"  run only these bun test paths (default:
#                 all); the engines and VM set-up are then done only when a
#                 path names them, and runtime-tools runs only if RT_TESTS is
#                 set too
#   RT_TESTS, RT_TIMEOUT, RT_BUDGET, RT_SRC   see test/runtime_tools/run.sh
#   CI            set by .ci/run: refuses UPDATE_GOLDEN (see below)
set -eu
cd "$(dirname "$0")/.."
paths=${SKIFF_TEST_PATHS:-}

# UPDATE_GOLDEN rewrites the golden files from the code under test, so the
# golden tests would compare a file with itself: never in CI.
if [ -n "${CI:-}" ] && [ -n "${UPDATE_GOLDEN:-}" ]; then
  echo "test: UPDATE_GOLDEN is set under CI: the golden tests would compare their files with themselves; unset it" >&2
  exit 2
fi

# A step before the tests failed: nothing was tested, and that is a failure.
fatal() {
  echo "test: $*" >&2
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
}
sh scripts/setup.sh || fatal "set-up failed (scripts/setup.sh)"
sh scripts/build.sh || fatal "build failed (scripts/build.sh)"
BUN=node_modules/.bin/bun
node_modules/.bin/tsc --noEmit -p . || fatal "type check failed (tsc --noEmit -p .)"

# What only the tests need, installed up front so that no test's time limit
# includes a download: the engines, and qemu with a cloud kernel for cgroup v2.
wants() { [ -z "$paths" ] || case " $paths" in *"$1"*) true ;; *) false ;; esac; }
if [ "$(id -u)" -eq 0 ]; then
  if wants engines; then
    sh test/engines/install.sh || fatal "installing the container engines failed (test/engines/install.sh)"
  fi
  vm_need=""
  if wants vm; then
    command -v qemu-system-x86_64 >/dev/null 2>&1 || vm_need="$vm_need qemu-system-x86"
    ls /boot/vmlinuz-*-cloud-amd64 >/dev/null 2>&1 || vm_need="$vm_need linux-image-cloud-amd64"
    command -v cpio >/dev/null 2>&1 || vm_need="$vm_need cpio"
    # the systemd VM's image is made of these installed packages (test/vm/systemd_image.ts)
    for p in systemd libsystemd-shared dbus libdbus-1-3 util-linux mount runc; do
      dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || vm_need="$vm_need $p"
    done
  fi
  # checkpoint/restore: Debian's criu (the host test; the VM test copies it in)
  [ -x /usr/sbin/criu ] || vm_need="$vm_need criu"
  if [ -n "$vm_need" ]; then
    echo "test: installing$vm_need"
    # Never start a service on this host (dbus's postinst would start a system bus).
    policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod 755 /usr/sbin/policy-rc.d
      policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $vm_need >/dev/null ||
      { [ -z "$policy" ] || rm -f /usr/sbin/policy-rc.d; fatal "apt-get install$vm_need failed"; }
    if [ -n "$policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0

# --- bun test -----------------------------------------------------------------
# bun's own exit status, not tee's: the pipeline's status is its last command.
# shellcheck disable=SC2086 # $paths is a list of paths
{ rc=0; $BUN test --timeout 60000 $paths 2>&1 || rc=$?; echo "$rc" >"$work/bun.rc"; } | tee "$work/bun.log"
bun_rc=$(cat "$work/bun.rc")
count() { sed -n "s/^ *\([0-9][0-9]*\) $1\$/\1/p" "$work/bun.log" | tail -1; }
pass=$(count pass)
fail=$(count fail)
skip=$(count skip)
todo=$(count todo)
errors=$(count 'errors*')
# A file that throws while loading, or an exception after its test ended,
# is an "Unhandled error between tests": each is a failure. bun counts such
# errors in "N fail" too, so take the larger count rather than the sum.
between=$(grep -c '^# Unhandled error between tests' "$work/bun.log" || true)
fail=${fail:-0}
[ "${errors:-0}" -gt "$fail" ] && fail=$errors
[ "$between" -gt "$fail" ] && fail=$between
skip=$(( ${skip:-0} + ${todo:-0} ))
if [ -z "$pass" ]; then
  echo "test: bun test printed no summary (exit status $bun_rc): counted as a failure"
  pass=0
  [ "$fail" -gt 0 ] || fail=1
fi
if [ "$bun_rc" -ne 0 ] || [ "$fail" -gt 0 ]; then
  status=1
  # bun exited non-zero without saying which test failed: still a failure.
  [ "$fail" -gt 0 ] || { echo "test: bun test exited $bun_rc with no failed test counted: counted as one"; fail=1; }
fi

# --- OCI runtime-tools validation suite ----------------------------------------
# Its source (upstream, with vendor/) is not packaged by Debian: it is laid
# beside the clone as ../shared/runtime-tools (see test/runtime_tools/README.md).
rt_why=""
if [ -n "$paths" ] && [ -z "${RT_TESTS:-}" ]; then
  rt_why="SKIFF_TEST_PATHS narrows this run to bun tests (set RT_TESTS to run some)"
elif [ "$(id -u)" -ne 0 ]; then
  rt_why="needs root (it creates containers with runc and skiff)"
fi
if [ -n "$rt_why" ]; then
  echo "skip: OCI runtime-tools validation: $rt_why"
  skip=$((skip + 1))
else
  { rc=0; bash test/runtime_tools/run.sh 2>&1 || rc=$?; echo "$rc" >"$work/rt.rc"; } | tee "$work/rt.log"
  rt_rc=$(cat "$work/rt.rc")
  line=$(sed -n 's/^runtime-tools: \([0-9]* passed, [0-9]* failed, [0-9]* skipped\)$/\1/p' "$work/rt.log" | tail -1)
  if [ -n "$line" ]; then
    set -- $line
    pass=$((pass + $1)); fail=$((fail + $3)); skip=$((skip + $5))
  fi
  case "$rt_rc" in
    0 | 3) [ -n "$line" ] || { echo "test: runtime-tools printed no summary: counted as a failure"; fail=$((fail + 1)); status=1; } ;;
    1) status=1 ;;
    *) echo "test: runtime-tools could not run (exit $rt_rc): counted as a failure"; fail=$((fail + 1)); status=1 ;;
  esac
fi

echo "$pass passed, $fail failed, $skip skipped"
exit "$status"
