#!/bin/sh
# The Debian packages the test suite runs for real (network namespaces, ping, tcpdump and dumpcap/tshark, tmux,
# nftables/iptables, conntrack, dig, ptys, the sandbox runtime's capabilities and PID namespaces). Installs the missing ones when run as root with apt-get; otherwise names them and
# fails, so a test run never fails later for a reason nobody was told about.
# RETINA_TUI_SKIP_SYSTEM_PACKAGES=1 skips the check.
set -eu

[ "${RETINA_TUI_SKIP_SYSTEM_PACKAGES:-0}" = 1 ] && exit 0

# command package
needed="
ip iproute2
ping iputils-ping
tcpdump tcpdump
dumpcap tshark
tshark tshark
tmux tmux
curl curl
ps procps
script bsdutils
bash bash
setpriv util-linux
nsenter util-linux
unshare util-linux
setsid util-linux
mount mount
capsh libcap2-bin
hostname hostname
getent libc-bin
nft nftables
iptables-restore iptables
conntrack conntrack
dig dnsutils
"

missing=$(printf '%s\n' "$needed" | while read -r command package; do
    [ -n "$command" ] || continue
    PATH="$PATH:/usr/sbin:/sbin" command -v "$command" >/dev/null 2>&1 || echo "$package"
done | sort -u | tr '\n' ' ')

missing=${missing% }
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing the Debian packages the tests need: $missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
    exit 0
fi

echo "The tests need these Debian packages, which are missing: $missing" >&2
echo "Install them (as root: apt-get install -y $missing) or run the tests as root," >&2
echo "or set RETINA_TUI_SKIP_SYSTEM_PACKAGES=1 to run without them." >&2
exit 1
