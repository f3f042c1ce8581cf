#!/bin/sh
# Installs the engines the engines suite drives, from Debian's packages:
# podman (+ conmon), containerd (+ ctr, containerd-shim-runc-v2), docker.io,
# runc (the reference runtime), and for the CRI test the CNI plugins
# (containernetworking-plugins: bridge, host-local, portmap in /usr/lib/cni),
# iproute2 (ip netns) and iptables. Idempotent: quick when all are there.
#
# No service of these packages may be left running: Debian's invoke-rc.d
# asks /usr/sbin/policy-rc.d whether to start a service; when that file is
# missing, a temporary one answering "no" (101) is put in place for the
# install and removed afterwards. The harness starts private daemons only.
set -eu
need=""
for pkg in podman conmon containerd docker.io runc busybox-static util-linux containernetworking-plugins iproute2 iptables gcc libc6-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need="$need $pkg"
done
for bin in /usr/bin/podman /usr/bin/conmon /usr/bin/containerd /usr/bin/ctr \
           /usr/bin/containerd-shim-runc-v2 /usr/sbin/dockerd /usr/bin/docker /usr/sbin/runc /usr/bin/script \
           /usr/lib/cni/bridge /usr/lib/cni/host-local /usr/lib/cni/portmap /usr/sbin/ip /usr/sbin/iptables; do
  [ -x "$bin" ] || need="$need (missing $bin)"
done
[ -z "$need" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "engines install: missing:$need (run as root to install)" >&2
  exit 1
fi
policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# temporary, from skiff test/engines/install.sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  made_policy=1
fi
# An if, not `[ ] && rm`: the trap's last status becomes the script's.
cleanup() { if [ -n "$made_policy" ]; then rm -f "$policy"; fi; }
trap cleanup EXIT
echo "engines install: installing podman conmon containerd docker.io runc busybox-static containernetworking-plugins iproute2 iptables"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
  podman conmon containerd docker.io runc busybox-static util-linux bsdutils iptables \
  containernetworking-plugins iproute2 gcc libc6-dev >/dev/null
# Belt and braces: should a service have started anyway (no policy-rc.d
# honoured), stop it through its own init script (by its pid file, never by
# name), so that only the harness's private daemons run.
for svc in docker containerd; do
  [ -x "/etc/init.d/$svc" ] || continue
  if /etc/init.d/"$svc" status >/dev/null 2>&1; then
    echo "engines install: stopping the $svc service the install started"
    /etc/init.d/"$svc" stop >/dev/null 2>&1 || true
  fi
done
