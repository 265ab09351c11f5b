#!/usr/bin/env bash
# Installs the real clients and servers sofs tests talk to, when they are missing.
# Needs root on Debian; exits non-zero with a clear message when it cannot install.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have smbclient  || need+=(smbclient)
have smbtorture || need+=(samba-testsuite)
have smbd       || need+=(samba)
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
timeout 600 apt-get update -q >&2 || true
timeout 1500 apt-get install -y -q --no-install-recommends "${need[@]}" >&2
# The packaged daemons must not run on their own: tests start private instances.
for svc in smbd nmbd samba-ad-dc named bind9; do
    (systemctl disable --now "$svc" >/dev/null 2>&1 || service "$svc" stop >/dev/null 2>&1) || true
done
pkill -x smbd 2>/dev/null || true
pkill -x nmbd 2>/dev/null || true
pkill -x named 2>/dev/null || true
