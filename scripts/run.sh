#!/usr/bin/env bash
# make run: start the three-node sofs cluster of ARCHITECTURE.md "Runtime defaults" on this
# machine: nodes n1..n3 on 127.0.0.11-13 (cluster port 3343, SMB on 445 if free, else 4455), two
# volumes each on its own mirrored pool of two sparse files, one share on each, and print the
# smbclient command for each share (to the node that owns it) and the sofsctl commands to look
# at the cluster. State lives in $SOFS_RUN_DIR (default /var/tmp/sofs-run) and is formatted on
# first start only, so files written survive `make run` restarts; remove the directory to start
# over. Ctrl-C stops every node cleanly (shares offline, volumes unmounted).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${SOFS_BIN:-$PWD/bin}"
RUN="${SOFS_RUN_DIR:-/var/tmp/sofs-run}"
HOSTS=(127.0.0.11 127.0.0.12 127.0.0.13)
NODES=(n1 n2 n3)
user=sofs
mkdir -p "$RUN"

port_in_use() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
PORT="${SOFS_PORT:-}"
if [ -z "$PORT" ]; then
    PORT=445
    [ "$(id -u)" = 0 ] || PORT=4455
    for h in "${HOSTS[@]}"; do
        if port_in_use "$h" "$PORT"; then PORT=4455; fi
    done
fi
for h in "${HOSTS[@]}"; do
    if port_in_use "$h" "$PORT" || port_in_use "$h" 3343; then
        echo "run: $h:$PORT or $h:3343 is already in use (another make run?)" >&2
        exit 1
    fi
done

export SOFS_CREDS="$RUN/n1" SOFS_NODE="${HOSTS[0]}:3343"
ctl() { "$BIN/sofsctl" "$@"; }

pids=()
cleanup() {
    trap - EXIT INT TERM
    if [ ${#pids[@]} -gt 0 ]; then
        echo; echo "stopping the cluster..."
        kill -TERM "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
    fi
    exit 0
}
trap cleanup EXIT INT TERM

# wait_for DESCRIPTION SECONDS COMMAND...: poll a condition every 200 ms until it holds.
wait_for() {
    local what=$1 secs=$2; shift 2
    local deadline=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        if [ $SECONDS -ge $deadline ]; then
            echo "run: timed out waiting for $what; node logs are in $RUN/n*.log" >&2
            exit 1
        fi
        for p in "${pids[@]}"; do
            kill -0 "$p" 2>/dev/null || { echo "run: a node exited; see $RUN/n*.log" >&2; exit 1; }
        done
        sleep 0.2
    done
}

start_node() { # start_node INDEX [extra sofsd flags...]
    local i=$1; shift
    local peers=()
    for j in 0 1 2; do [ "$j" = "$i" ] || peers+=(--peer "${HOSTS[$j]}:3343"); done
    "$BIN/sofsd" node --data "$RUN/${NODES[$i]}" --smb-listen "${HOSTS[$i]}:$PORT" --users "$RUN/users" \
        --smb-name "SOFS-${NODES[$i]^^}" "${peers[@]}" "$@" >>"$RUN/${NODES[$i]}.log" 2>&1 &
    pids+=($!)
}

all_voting() { [ "$(ctl cluster status | awk '$1=="voters" {print $2}' | tr ',' '\n' | grep -c .)" = 3 ]; }
all_online() { [ "$(ctl group list | awk 'NR>1 && $1 ~ /^g-vol/ && $3=="Online"' | wc -l)" = 2 ]; }

first=false
if [ ! -f "$RUN/n1/node.json" ]; then
    first=true
    rm -rf "${RUN:?}"/*
    pass=$(head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 16)
    echo "$pass" > "$RUN/password"
    echo "$pass" | ctl user add --file "$RUN/users" "$user" >/dev/null
    ctl cluster create --data "$RUN/n1" --name sofs --id n1 --addr "${HOSTS[0]}" >/dev/null
fi
pass=$(cat "$RUN/password")

echo "starting n1..n3 on ${HOSTS[*]} (logs: $RUN/n*.log)"
start_node 0
if $first; then
    wait_for "the cluster to bootstrap" 60 ctl cluster token --ttl 1m
    for i in 1 2; do
        start_node "$i" --id "${NODES[$i]}" --listen "${HOSTS[$i]}" --via "${HOSTS[0]}:3343" --token "$(ctl cluster token --ttl 5m)"
    done
else
    start_node 1
    start_node 2
fi
wait_for "three voting nodes" 120 all_voting

# Formatted once: a marker in $RUN records a volume made and registered (the cluster's own view
# may still be catching up right after a restart). sofsctl refuses to format over a pool anyway.
for v in 1 2; do
    if [ ! -f "$RUN/disks/vol$v.ready" ]; then
        echo "formatting vol$v: a mirrored pool of two sparse 1 GiB files in $RUN/disks"
        mkdir -p "$RUN/disks"
        a="$RUN/disks/vol$v-a.img" b="$RUN/disks/vol$v-b.img"
        ctl volume create --disk "$a" --disk "$b" --disk-size 1G --name "vol$v" --size 512M --label "vol$v" >/dev/null
        ctl group create "g-vol$v" --preferred "n$v" >/dev/null
        ctl resource create "vol$v" --group "g-vol$v" --type vdisk/volume --prop "disks=$a,$b" --prop "vdisk=vol$v" >/dev/null
        ctl resource create "share$v" --group "g-vol$v" --type share --depends-on "vol$v" \
            --prop "name=share$v" --prop "volume=vol$v" >/dev/null
        touch "$RUN/disks/vol$v.ready"
    fi
done
# The access point: the built-in DNS responder answers fs.sofs.test on 127.0.0.10, from whichever
# node owns group g-name.
DNS_ADDR="${SOFS_DNS_ADDR:-127.0.0.10:53}"
if [ ! -f "$RUN/name.ready" ]; then
    ctl group create g-name --preferred n3 >/dev/null
    ctl resource create name --group g-name --type netname --prop zone=sofs.test. \
        --prop name=fs.sofs.test. --prop "listen=$DNS_ADDR" >/dev/null
    touch "$RUN/name.ready"
fi
wait_for "the share groups online" 120 all_online

echo
echo "sofs cluster 'sofs' is up: nodes n1..n3 on ${HOSTS[*]}, SMB port $PORT, user $user."
echo "Each share is served by the node that owns its group (a tree connect on another node gets"
echo "NT_STATUS_BAD_NETWORK_NAME; share redirection is later work):"
echo
# The config DB may still show the state from before a restart: the real check is a tree
# connect to each share on its owner.
share_answers() { smbclient "//$1/$2" -p "$PORT" -U "$user%$pass" -m SMB3 -c ls >/dev/null 2>&1; }
# all_shares_answer rebuilds the smbclient lines from the owners now and checks every share.
all_shares_answer() {
    lines=()
    local g owner share host
    while read -r g owner; do
        share="share${g#g-vol}"
        host="${HOSTS[$(( ${owner#n} - 1 ))]}"
        share_answers "$host" "$share" || return 1
        lines+=("    smbclient //$host/$share -p $PORT -U '$user%$pass' -m SMB3        # $share on $owner")
    done < <(ctl group list | awk 'NR>1 && $1 ~ /^g-vol/ {print $1, $2}')
    [ ${#lines[@]} = 2 ]
}
wait_for "both shares to answer on their owners" 120 all_shares_answer
all_shares_answer
printf '%s\n' "${lines[@]}"
cat <<MSG

The access point fs.sofs.test resolves (built-in DNS responder on $DNS_ADDR) to every up node:

    dig @${DNS_ADDR%:*} -p ${DNS_ADDR##*:} fs.sofs.test      # or: host -p ${DNS_ADDR##*:} fs.sofs.test ${DNS_ADDR%:*}

Look at the cluster (credentials in $RUN/n1):

    export SOFS_CREDS=$RUN/n1 SOFS_NODE=${HOSTS[0]}:3343
    $BIN/sofsctl cluster status
    $BIN/sofsctl node list
    $BIN/sofsctl group list
    $BIN/sofsctl resource list
    $BIN/sofsctl node pause n1 --drain      # move n1's groups away; 'node resume n1' brings it back
    $BIN/sofsctl group move g-vol1 n3

Data survives restarts of make run; rm -rf $RUN to start over. Press Ctrl-C to stop.
MSG
wait "${pids[@]}"
