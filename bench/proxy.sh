#!/usr/bin/env bash
# Proxy throughput and latency on loopback, in one run:
#   direct (no proxy) · nono-proxy CONNECT tunnel · nono-proxy plain-HTTP
#   forwarding · peer: tinyproxy forwarding (when installed).
# Bulk: one large download per path (median of 3), in MB/s.
# Latency: N keep-alive requests on one client connection, per-request
# mean / p50 / p99 in microseconds.
# Not part of the test suite; bounded (fixed sizes and counts).
#   bash bench/proxy.sh [bulk_MiB] [requests]
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-512}
n=${2:-2000}
cargo build --release --quiet -p nono -p nono-broker -p nono-proxy -p nono-keyholder -p nono-e2e
bin=$PWD/target/release
tmp=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

"$bin/nono-upstream" "$tmp/port" "$tmp/log" & pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
up=$(cat "$tmp/port")
url="http://127.0.0.1:$up"
bytes=$((mib * 1024 * 1024))
: >"$tmp/log.none"

tp=""
if command -v tinyproxy >/dev/null; then
    tport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    printf 'Port %s\nListen 127.0.0.1\nMaxClients 100\nAllow 127.0.0.1\nLogLevel Critical\nDisableViaHeader Yes\n' "$tport" >"$tmp/tinyproxy.conf"
    tinyproxy -d -c "$tmp/tinyproxy.conf" >/dev/null 2>&1 & pids+=($!)
    sleep 0.3
    tp="http://127.0.0.1:$tport"
fi

# Each measurement is a shell snippet run directly or inside nono.
bulk='for i in 1 2 3; do curl -s -o /dev/null -w "%{speed_download}\n" $PX "'"$url/bulk/$bytes"'"; done | sort -n | sed -n 2p'
for i in $(seq "$n"); do echo "url = \"$url/k/$i\""; echo 'output = "/dev/null"'; done >"$tmp/urls"
lat='curl -s $PX -K '"$tmp/urls"' -w "%{time_total}\n" | python3 -c "import sys,statistics as s; v=sorted(float(x)*1e6 for x in sys.stdin); print(f\"{s.mean(v):.0f} {v[len(v)//2]:.0f} {v[int(len(v)*0.99)]:.0f}\")"'

inside() { # $1: curl proxy flags; $2: snippet
    "$bin/nono" run --silent --allow-domain "127.0.0.1:$up" --read-file "$tmp/urls" -- \
        /bin/sh -c "PX=\"$1\"; $2"
}
row() { printf '| %-34s | %10s | %26s |\n' "$1" "$2" "$3"; }
mbs() { python3 -c "print(f'{float($1)/1e6:.0f}')"; }

row "path" "bulk MB/s" "keep-alive µs mean/p50/p99"
row "---" "---" "---"
row "direct (no proxy)" "$(mbs "$(PX="--noproxy '*'" sh -c "$bulk")")" "$(PX="" sh -c "$lat" | tr ' ' /)"
row "nono-proxy, CONNECT tunnel" \
    "$(mbs "$(inside '-p --noproxy \"\" -x $HTTP_PROXY' "$bulk")")" \
    "$(inside '-p --noproxy \"\" -x $HTTP_PROXY' "$lat" | tr ' ' /)"
row "nono-proxy, HTTP forwarding" \
    "$(mbs "$(inside '--noproxy \"\" -x $HTTP_PROXY' "$bulk")")" \
    "$(inside '--noproxy \"\" -x $HTTP_PROXY' "$lat" | tr ' ' /)"
if [ -n "$tp" ]; then
    row "peer: tinyproxy, CONNECT tunnel" "$(mbs "$(PX="-p -x $tp" sh -c "$bulk")")" "$(PX="-p -x $tp" sh -c "$lat" | tr ' ' /)"
    row "peer: tinyproxy, HTTP forwarding" "$(mbs "$(PX="-x $tp" sh -c "$bulk")")" "$(PX="-x $tp" sh -c "$lat" | tr ' ' /)"
fi
echo
echo "(${mib} MiB bulk, ${n} keep-alive requests; $(nproc) cores; $(uname -r))"
