#!/usr/bin/env bash
# make bench: sofs against Samba on the same machine in the same run, then the packages' own Go
# benchmarks. Every figure is printed with its ratio to the peer.
#
#   SMB: sequential put/get of a SIZE_MIB file (default 1024) with smbclient -m SMB3, plain, signed
#        and encrypted, REPS runs each (default 3, median), both shares on tmpfs.
#   csv: a volume-backed share against a localfs share on the same disk (CSV_BENCHTIME, default
#        1000x per operation; SKIP_CSV_BENCH=1 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${SOFS_BIN:-$PWD/bin}"
SHARED="${SHARED:-$PWD/../shared}"
SIZE_MIB="${SIZE_MIB:-1024}"
REPS="${REPS:-3}"
SOFS_PORT="${SOFS_PORT:-4491}"
SAMBA_PORT="${SAMBA_PORT:-4492}"

work=$(mktemp -d -p /dev/shm sofs-bench.XXXXXX)
peer_dir=""
cleanup() {
    [ -n "${sofs_pid:-}" ] && kill "$sofs_pid" 2>/dev/null && wait "$sofs_pid" 2>/dev/null
    [ -n "$peer_dir" ] && "$SHARED/conformance/start-samba-peer.sh" stop "$peer_dir" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

user=smbtest pass=Smb-Peer-Pass1
mkdir -p "$work/share"
echo "$pass" | "$BIN/sofsctl" user add --file "$work/users" "$user" >/dev/null
"$BIN/sofsd" standalone --listen "127.0.0.1:$SOFS_PORT" --users "$work/users" --share "share=$work/share" --log-level warn &
sofs_pid=$!
eval "$("$SHARED/conformance/start-samba-peer.sh" "$SAMBA_PORT" share "$user" "$pass" | grep '^SAMBA_PEER_')"
peer_dir="$SAMBA_PEER_DIR"
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$SOFS_PORT") 2>/dev/null && break; sleep 0.1; done

echo "bench: writing a ${SIZE_MIB} MiB source file on tmpfs" >&2
head -c "$((SIZE_MIB << 20))" /dev/urandom > "$work/src.bin"

# seconds PORT PROTECTION COMMAND: wall time of one smbclient command.
seconds() {
    local port=$1 prot=$2 cmd=$3 t0 t1
    t0=$(date +%s%N)
    smbclient //127.0.0.1/share -p "$port" -U "$user%$pass" -m SMB3 --client-protection="$prot" -c "$cmd" >/dev/null 2>"$work/err" \
        || { echo "smbclient failed on port $port ($prot): $(tail -2 "$work/err")" >&2; exit 1; }
    t1=$(date +%s%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", (b - a) / 1e9 }'
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '\n%-10s %-4s %12s %12s %8s\n' mode op "sofs MB/s" "Samba MB/s" ratio
for prot in off sign encrypt; do
    for op in put get; do
        for target in sofs samba; do
            port=$SOFS_PORT; [ "$target" = samba ] && port=$SAMBA_PORT
            times=()
            for _ in $(seq 1 "$REPS"); do
                if [ "$op" = put ]; then
                    times+=("$(seconds "$port" "$prot" "put $work/src.bin bench.bin")")
                else
                    times+=("$(seconds "$port" "$prot" "get bench.bin /dev/null")")
                fi
            done
            t=$(printf '%s\n' "${times[@]}" | median)
            declare "rate_$target=$(awk -v m="$SIZE_MIB" -v t="$t" 'BEGIN { printf "%.3f", m * 1.048576 / t }')"
        done
        mode=$prot; [ "$prot" = off ] && mode=plain; [ "$prot" = sign ] && mode=signed; [ "$prot" = encrypt ] && mode=encrypted
        printf '%-10s %-4s %12.1f %12.1f %8.2f\n' "$mode" "$op" "$rate_sofs" "$rate_samba" "$(awk -v a="$rate_sofs" -v b="$rate_samba" 'BEGIN { print a / b }')"
    done
done

# A cluster shared volume against localfs, both shares of real sofsd processes on the same
# file system (the volume is a file beside the localfs directory), through SMB with go-smb2.
# Data as MB/s, metadata as ops/s; ratio = csv / localfs (targets: >= 0.9 data, >= 1.0 metadata).
if [ "${SKIP_CSV_BENCH:-}" = "" ]; then
    echo
    echo "bench: csv volume share vs localfs share on $(df -T "${TMPDIR:-/tmp}" | awk 'NR==2 {print $2}'), SMB via go-smb2 (go test -bench CsvShare ./test)"
    SOFS_BIN="$BIN" go test -count=1 -run '^$' -bench 'CsvShare' -benchtime "${CSV_BENCHTIME:-1000x}" ./test/ 2>&1 |
        awk '
        /^BenchmarkCsvShare\// {
            split($1, p, "/"); op = p[2]; be = p[3]; sub(/-[0-9]+$/, "", be)
            v = ($6 == "MB/s") ? $5 : 1e9 / $3
            unit[op] = ($6 == "MB/s") ? "MB/s" : "ops/s"
            val[op, be] = v
            if (!(op in seen)) { seen[op] = 1; order[++n] = op }
            next
        }
        /^(FAIL|---|panic)/ { print; failed = 1 }
        END {
            printf "%-22s %-6s %12s %12s %8s\n", "op", "unit", "csv", "localfs", "ratio"
            for (i = 1; i <= n; i++) {
                op = order[i]; c = val[op, "csv"]; l = val[op, "localfs"]
                printf "%-22s %-6s %12.1f %12.1f %8.2f\n", op, unit[op], c, l, (l > 0 ? c / l : 0)
            }
            exit failed
        }'
fi

if [ "${SKIP_GO_BENCH:-}" = "" ]; then
    echo
    echo "bench: package benchmarks (go test -bench, SOFS_LONG=1)"
    SOFS_LONG=1 go test -run '^$' -bench . -benchtime "${BENCHTIME:-3x}" ./smb/... ./spaces/... ./csv/... ./cluster/... ./dnsreg/... 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)' || true
fi
