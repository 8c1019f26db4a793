#!/bin/bash
# Build the debug image's root filesystem from packages.txt with mmdebstrap, so the
# toolbox can be checked (and used by the sandbox) without a container engine.
#
# Output: debug-image/build/rootfs, replaced atomically. A stamp file records the
# hash of the inputs; when they have not changed, nothing is rebuilt.
# Needs root and the Debian mirror. DEBIAN_MIRROR and DEBIAN_SECURITY_MIRROR
# override the mirrors read from this machine's apt sources.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build="$here/build"
rootfs="$build/rootfs"
stamp="$build/rootfs.stamp"
suite=bookworm

if [ "$(id -u)" -ne 0 ]; then
	echo "build_rootfs.sh: building the root filesystem needs root; run it with sudo." >&2
	exit 2
fi
if ! command -v mmdebstrap >/dev/null; then
	echo "build_rootfs.sh: mmdebstrap is not installed; run 'apt-get install mmdebstrap'." >&2
	exit 2
fi

# The mirror URI this machine's apt uses for a path ending in $1 ("debian" or "debian-security").
apt_mirror() {
	local tail=$1 uri
	uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk -v t="$tail" '$1 == "URIs:" { for (i = 2; i <= NF; i++) if ($i ~ ("/" t "/?$")) { print $i; exit } }')
	if [ -z "$uri" ]; then
		uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			awk -v t="$tail" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ ("/" t "/?$")) { print $i; exit } }')
	fi
	echo "${uri:-http://deb.debian.org/$tail}"
}

mirror=${DEBIAN_MIRROR:-$(apt_mirror debian)}
security=${DEBIAN_SECURITY_MIRROR:-$(apt_mirror debian-security)}
packages=$(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$here/packages.txt" | paste -sd, -)

inputs_hash=$( (
	cat "$here/packages.txt" "$here/dpkg-slim.cfg" "$here/debug-prompt.sh" "$0"
	echo "$suite $mirror $security"
) | sha256sum | cut -d' ' -f1)

if [ -f "$stamp" ] && [ -d "$rootfs" ] && [ "$(cat "$stamp")" = "$inputs_hash" ]; then
	echo "build_rootfs.sh: $rootfs is up to date with packages.txt; not rebuilding."
	exit 0
fi

mkdir -p "$build"
tmp=$(mktemp -d "$build/rootfs.new.XXXXXX")
cleanup() { rm -rf --one-file-system "$tmp"; }
trap cleanup EXIT

echo "build_rootfs.sh: building $suite from $mirror (security: $security)"
echo "build_rootfs.sh: packages: $packages"
dpkgopts=()
while read -r line; do
	dpkgopts+=("--dpkgopt=$line")
done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/dpkg-slim.cfg")

# Essential packages are unpacked before the dpkg excludes apply: drop what the
# excludes would have dropped, as the slim base image does.
slim_hook='cd "$1/usr/share" && {
	find doc -mindepth 1 ! -type d ! -name copyright -delete
	find locale -mindepth 1 ! -type d ! -name locale.alias -delete
	for d in info man groff linda lintian; do [ ! -d "$d" ] || find "$d" -mindepth 1 ! -type d -delete; done
}'

mmdebstrap \
	--mode=root \
	--variant=minbase \
	--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
	--format=directory \
	--aptopt='APT::Install-Recommends "false"' \
	--aptopt='APT::Install-Suggests "false"' \
	"${dpkgopts[@]}" \
	--include="$packages" \
	--customize-hook="install -D -m 0644 '$here/packages.txt' \"\$1/usr/share/retina-tui-debug/packages.txt\"" \
	--customize-hook="install -m 0644 '$here/debug-prompt.sh' \"\$1/etc/profile.d/zz-debug-prompt.sh\"" \
	--customize-hook="printf '\n. /etc/profile.d/zz-debug-prompt.sh\n' >> \"\$1/etc/bash.bashrc\"" \
	--customize-hook="$slim_hook" \
	"$suite" "$tmp/rootfs" \
	"deb $mirror $suite main" \
	"deb $mirror $suite-updates main" \
	"deb $security $suite-security main"

# Swap in the new tree; the old one is removed only after the new one is in place.
if [ -d "$rootfs" ]; then
	mv "$rootfs" "$tmp/old"
fi
mv "$tmp/rootfs" "$rootfs"
echo "$inputs_hash" >"$stamp"
echo "build_rootfs.sh: built $rootfs ($(du -sh --one-file-system "$rootfs" | cut -f1))"
