#!/bin/sh
# Builds a small OCI bundle for trying skiff (or runc) by hand:
#   scripts/make_demo_bundle.sh [DIR]        default DIR: build/demo-bundle
#   sudo skiff run --bundle build/demo-bundle demo
# The rootfs holds the static busybox from Debian's busybox-static. When
# $SKIFF names a skiff binary, its `spec` writes config.json (so the demo
# shows skiff's own defaults); otherwise a minimal config is written here.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$repo/build/demo-bundle}
busybox=${BUSYBOX:-/bin/busybox}

die() { echo "make_demo_bundle: $*" >&2; exit 1; }

[ -x "$busybox" ] || die "$busybox missing (apt-get install busybox-static)"
# A dynamic busybox would need a loader and libc inside the rootfs.
if command -v file >/dev/null 2>&1; then
	file -L "$busybox" | grep -q 'statically linked' || die "$busybox is not static (apt-get install busybox-static)"
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
rootfs=$dir/rootfs
# --one-file-system: never delete through a mount left in an old rootfs.
rm -rf --one-file-system "$rootfs"
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/tmp" "$rootfs/root"
chmod 1777 "$rootfs/tmp"
cp "$busybox" "$rootfs/bin/busybox"
"$busybox" --list-full | while read -r applet; do
	case $applet in bin/busybox|linuxrc|*..*|'') continue ;; esac
	mkdir -p "$rootfs/$(dirname "$applet")"
	ln -sf /bin/busybox "$rootfs/$applet"
done

cat > "$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$rootfs/etc/group" <<'GROUP'
root:x:0:
tty:x:5:
nogroup:x:65534:
GROUP
cat > "$rootfs/etc/os-release" <<'OSRELEASE'
NAME="skiff demo"
ID=skiff-demo
PRETTY_NAME="skiff demo (busybox)"
OSRELEASE

config=$dir/config.json
rm -f "$config"
if [ -n "${SKIFF:-}" ] && [ -x "$SKIFF" ] && (cd "$dir" && "$SKIFF" spec) >/dev/null 2>&1 && [ -s "$config" ]; then
	echo "config.json from $SKIFF spec"
else
	cat > "$config" <<'CONFIG'
{
	"ociVersion": "1.0.2-dev",
	"process": {
		"terminal": true,
		"user": { "uid": 0, "gid": 0 },
		"args": [
			"sh"
		],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
		},
		"noNewPrivileges": true
	},
	"root": { "path": "rootfs", "readonly": true },
	"hostname": "skiff",
	"mounts": [
		{ "destination": "/proc", "type": "proc", "source": "proc" },
		{ "destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
		{ "destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
		{ "destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"] }
	],
	"linux": {
		"namespaces": [
			{ "type": "pid" }, { "type": "network" }, { "type": "ipc" }, { "type": "uts" }, { "type": "mount" }
		],
		"maskedPaths": ["/proc/kcore", "/proc/keys", "/sys/firmware"],
		"readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"]
	}
}
CONFIG
	echo "config.json written inline"
fi

# jq-free edit: terminal off (output goes to the caller's stdout) and the demo
# command as process.args. awk replaces the args array whether it spans one
# line or several, as `spec` output of runc and skiff does.
tmp=$config.tmp
awk -v demo='"sh", "-c", "echo hello from skiff; cat /etc/os-release 2>/dev/null; id; hostname"' '
	skipping && /\]/ { skipping = 0; print; next }
	skipping { next }
	{ sub(/"terminal": *true/, "\"terminal\": false") }
	!done && /"args": *\[[^]]*\]/ { sub(/"args": *\[[^]]*\]/, "\"args\": [" demo "]"); done = 1 }
	!done && /"args": *\[/ { sub(/"args": *\[.*/, "\"args\": [" demo); print; done = skipping = 1; next }
	{ print }
' "$config" > "$tmp"
mv "$tmp" "$config"
grep -q '"terminal": false' "$config" || die "could not set terminal false in $config"
grep -q 'hello from skiff' "$config" || die "could not set args in $config"
echo "demo bundle ready: $dir"
