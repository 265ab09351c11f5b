#!/usr/bin/env bash
# make run: start sofsd with one share on a temporary directory, a generated user and password,
# and print the smbclient command that reaches it. Serves until Ctrl-C, then cleans up.
# (The three-node cluster of ARCHITECTURE.md "Runtime defaults" replaces this once the cluster
# core is wired into sofsd.)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${SOFS_BIN:-$PWD/bin}"
ADDR="${SOFS_ADDR:-127.0.0.1}"
PORT="${SOFS_PORT:-4455}"
dir=$(mktemp -d -t sofs-run.XXXXXX)
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT INT TERM
mkdir -p "$dir/share"
user=sofs
pass=$(head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 16)
echo "$pass" | "$BIN/sofsctl" user add --file "$dir/users" "$user" >/dev/null
echo "Welcome to sofs" > "$dir/share/README.txt"
"$BIN/sofsd" standalone --listen "$ADDR:$PORT" --users "$dir/users" --share "data=$dir/share" &
pid=$!
for _ in $(seq 1 50); do
    if (exec 3<>"/dev/tcp/$ADDR/$PORT") 2>/dev/null; then break; fi
    kill -0 "$pid" 2>/dev/null || { echo "sofsd failed to start" >&2; exit 1; }
    sleep 0.1
done
cat <<MSG

sofs is serving share "data" from $dir/share on $ADDR:$PORT (user $user).
Reach it with:

    smbclient //$ADDR/data -p $PORT -U '$user%$pass' -m SMB3

List shares:  smbclient -L //$ADDR -p $PORT -U '$user%$pass'
Press Ctrl-C to stop.
MSG
wait "$pid"
