#!/bin/sh
# The whole test suite: set-up, build, type check, unit tests (no root),
# integration and differential tests (as root; skipped with a reason
# otherwise), then the OCI runtime-tools validation suite against runc and
# skiff. Ends with one line "N passed, N failed, N skipped".
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
sh scripts/build.sh
BUN=node_modules/.bin/bun
node_modules/.bin/tsc --noEmit -p .
# What only the tests need, installed up front so that no test's time limit
# includes a download: the engines, and qemu with a cloud kernel for cgroup v2.
if [ "$(id -u)" -eq 0 ]; then
  sh test/engines/install.sh
  vm_need=""
  command -v qemu-system-x86_64 >/dev/null 2>&1 || vm_need="$vm_need qemu-system-x86"
  ls /boot/vmlinuz-*-cloud-amd64 >/dev/null 2>&1 || vm_need="$vm_need linux-image-cloud-amd64"
  command -v cpio >/dev/null 2>&1 || vm_need="$vm_need cpio"
  # the systemd VM's image is made of these installed packages (test/vm/systemd_image.ts)
  for p in systemd libsystemd-shared dbus libdbus-1-3 util-linux mount runc; do
    dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || vm_need="$vm_need $p"
  done
  if [ -n "$vm_need" ]; then
    echo "test: installing$vm_need"
    # Never start a service on this host (dbus's postinst would start a system bus).
    policy=""
    [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; policy=1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $vm_need >/dev/null
    [ -z "$policy" ] || rm -f /usr/sbin/policy-rc.d
  fi
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
$BUN test --timeout 60000 2>&1 | tee "$log" || status=$?
pass=$(sed -n 's/^ *\([0-9][0-9]*\) pass$/\1/p' "$log" | tail -1)
fail=$(sed -n 's/^ *\([0-9][0-9]*\) fail$/\1/p' "$log" | tail -1)
skip=$(sed -n 's/^ *\([0-9][0-9]*\) skip$/\1/p' "$log" | tail -1)
# The validation suite's source is not packaged by Debian: run it only where
# a source tree was provided (see test/runtime_tools/README.md).
rt_src=${RT_SRC:-test/.work/runtime-tools/upstream}
if [ ! -f "$rt_src/validation/util/test.go" ]; then
  echo "skip: OCI runtime-tools validation: no source tree at $rt_src (Debian ships only the library)"
  skip=$(( ${skip:-0} + 1 ))
elif [ "$(id -u)" -eq 0 ]; then
  if bash test/runtime_tools/run.sh; then rt=0; else rt=$?; fi
  if [ "$rt" -ne 0 ]; then status=1; fail=$(( ${fail:-0} + 1 )); else pass=$(( ${pass:-0} + 1 )); fi
fi
echo "${pass:-0} passed, ${fail:-0} failed, ${skip:-0} skipped"
exit "$status"
