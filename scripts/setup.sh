#!/bin/sh
# Installs what building and testing skiff needs on a fresh Debian machine
# with Node/npm and a C compiler: Debian packages and the pinned npm tools.
# Idempotent: quick when everything is already there.
set -eu
cd "$(dirname "$0")/.."
need=""
for pkg in runc busybox-static hyperfine strace make; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need="$need $pkg"
done
if [ -n "$need" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages:$need (run as root to install them)" >&2
    exit 1
  fi
  echo "setup: installing$need"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
if [ ! -x node_modules/.bin/bun ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
