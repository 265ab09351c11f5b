#!/usr/bin/env bash
# Installs the real clients and servers sofs tests talk to, when they are missing.
# Needs root on Debian; exits non-zero with a clear message when it cannot install.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have smbclient  || need+=(smbclient)
have smbtorture || need+=(samba-testsuite)
have smbd       || need+=(samba)
# The Samba peer's share uses acl_xattr and streams_xattr.
[ -e /usr/lib/x86_64-linux-gnu/samba/vfs/acl_xattr.so ] || ls /usr/lib/*/samba/vfs/acl_xattr.so >/dev/null 2>&1 || need+=(samba-vfs-modules)
have named      || need+=(bind9)
have dig        || need+=(bind9-dnsutils)
have named-checkzone || need+=(bind9utils)
have nft        || need+=(nftables)
have iptables   || need+=(iptables)
have ip         || need+=(iproute2)
have fio        || need+=(fio)

if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing ${need[*]} and not root: install them with apt-get" >&2
    exit 1
fi
echo "install-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Keep apt from starting the packaged smbd/nmbd/named: tests start private instances on loopback.
# policy-rc.d exit 101 is Debian's documented way to forbid service starts during installs.
prc=/usr/sbin/policy-rc.d
made_prc=0
if [ ! -e "$prc" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$prc" && chmod +x "$prc" && made_prc=1
fi
trap '[ "$made_prc" = 1 ] && rm -f "$prc"' EXIT
timeout 600 apt-get update -q >&2 || true
timeout 1500 apt-get install -y -q --no-install-recommends "${need[@]}" >&2
