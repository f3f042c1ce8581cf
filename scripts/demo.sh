#!/bin/sh
# The main job: build skiff, make a busybox bundle, run a real container.
#   sudo bash scripts/demo.sh
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
sh scripts/build.sh
SKIFF="$PWD/build/skiff" sh scripts/make_demo_bundle.sh build/demo-bundle >/dev/null
id="skiff-demo-$$"
cd build/demo-bundle
exec ../skiff run "$id"
