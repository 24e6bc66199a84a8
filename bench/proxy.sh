#!/usr/bin/env bash
# Proxy throughput, latency and memory on loopback, in one run:
#   direct (no proxy) · nono-proxy CONNECT tunnel · nono-proxy plain-HTTP
#   forwarding · the same through an older nono-proxy binary (when
#   NONO_PROXY_BEFORE names one) · peer: tinyproxy (installed with apt-get
#   when missing and possible).
# Bulk: one large download per path and round, rounds interleaved across
#   the paths (so load from elsewhere hits them alike), median in MB/s.
# Latency: N keep-alive requests on one client connection per path and
#   round, rounds interleaved; per-request p50 (median over rounds) and
#   the mean and p99 of the last round, in microseconds; "+p50" is the
#   p50 added over direct.
# Memory: C concurrent connections held open through nono-proxy (half
#   CONNECT tunnels that each carried 64 KiB, half keep-alive forwarding
#   connections), the proxy's resident and peak resident set (VmRSS,
#   VmHWM).
# Not part of the test suite; loopback only and bounded (fixed sizes,
# counts and timeouts).
#   bash bench/proxy.sh [bulk_MiB] [requests] [connections]
#   NONO_PROXY_BEFORE=/path/to/old/nono-proxy bash bench/proxy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-512}
n=${2:-2000}
conns=${3:-100}
rounds=3
cargo build --release --quiet -p nono -p nono-broker -p nono-proxy -p nono-keyholder -p nono-e2e
bin=$PWD/target/release
tmp=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

if ! command -v tinyproxy >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tinyproxy >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tinyproxy >/dev/null 2>&1; } ||
        echo "(tinyproxy could not be installed; its rows are left out)" >&2
fi

# A second front-end directory whose nono starts the older proxy.
before=""
if [ -n "${NONO_PROXY_BEFORE:-}" ]; then
    mkdir "$tmp/before"
    cp "$bin/nono" "$bin/nono-broker" "$bin/nono-keyholder" "$tmp/before/"
    cp "$NONO_PROXY_BEFORE" "$tmp/before/nono-proxy"
    before=$tmp/before
fi

"$bin/nono-upstream" "$tmp/port" "$tmp/log" & pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
up=$(cat "$tmp/port")
url="http://127.0.0.1:$up"
bytes=$((mib * 1024 * 1024))

tp=""
if command -v tinyproxy >/dev/null; then
    tport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    printf 'Port %s\nListen 127.0.0.1\nMaxClients 200\nAllow 127.0.0.1\nConnectPort %s\nLogLevel Critical\nDisableViaHeader Yes\n' \
        "$tport" "$up" >"$tmp/tinyproxy.conf"
    tinyproxy -d -c "$tmp/tinyproxy.conf" >/dev/null 2>&1 & pids+=($!)
    sleep 0.3
    tp="http://127.0.0.1:$tport"
fi

# Each measurement is a shell snippet run directly or inside nono.
bulk='curl -s -m 120 -o /dev/null -w "%{speed_download}\n" $PX "'"$url/bulk/$bytes"'"'
for i in $(seq "$n"); do echo "url = \"$url/k/$i\""; echo 'output = "/dev/null"'; done >"$tmp/urls"
lat='curl -s -m 120 $PX -K '"$tmp/urls"' -w "%{time_total}\n" | python3 -c "import sys,statistics as s; v=sorted(float(x)*1e6 for x in sys.stdin); print(f\"{s.mean(v):.0f} {v[len(v)//2]:.0f} {v[int(len(v)*0.99)]:.0f}\")"'

inside() { # $1: bin dir; $2: curl proxy flags; $3: snippet
    timeout 300 "$1/nono" run --silent --allow-domain "127.0.0.1:$up" --read-file "$tmp/urls" -- \
        /bin/sh -c "PX=\"$2\"; $3"
}
tunnel='-p --noproxy \"\" -x $HTTP_PROXY'
forward='--noproxy \"\" -x $HTTP_PROXY'

# Paths: name and a command running a snippet ($1) on it.
names=("direct (no proxy)")
runs=("PX=\"--noproxy '*'\" sh -c")
add() { names+=("$1"); runs+=("$2"); }
add "nono-proxy, CONNECT tunnel" "inside $bin '$tunnel'"
add "nono-proxy, HTTP forwarding" "inside $bin '$forward'"
if [ -n "$before" ]; then
    add "before: nono-proxy, CONNECT tunnel" "inside $before '$tunnel'"
    add "before: nono-proxy, HTTP forwarding" "inside $before '$forward'"
fi
if [ -n "$tp" ]; then
    add "peer: tinyproxy, CONNECT tunnel" "PX=\"-p -x $tp\" sh -c"
    add "peer: tinyproxy, HTTP forwarding" "PX=\"-x $tp\" sh -c"
fi

declare -A bw p50 last
for r in $(seq "$rounds"); do
    for i in "${!names[@]}"; do
        bw[$i]+="$(eval "${runs[$i]} '$bulk'") "
        l=$(eval "${runs[$i]} '$lat'")
        p50[$i]+="$(echo "$l" | cut -d' ' -f2) "
        last[$i]=$l
    done
done
median() { tr ' ' '\n' | grep . | sort -n | sed -n "$(( (rounds + 1) / 2 ))p"; }

row() { printf '| %-36s | %9s | %8s | %7s | %8s |\n' "$@"; }
row "path" "bulk MB/s" "× direct" "p50 µs" "+p50 µs"
row "---" "---" "---" "---" "---"
d_bw=$(echo "${bw[0]}" | median)
d_p50=$(echo "${p50[0]}" | median)
for i in "${!names[@]}"; do
    b=$(echo "${bw[$i]}" | median)
    p=$(echo "${p50[$i]}" | median)
    row "${names[$i]}" "$(python3 -c "print(f'{$b/1e6:.0f}')")" \
        "$(python3 -c "print(f'{$b/$d_bw:.2f}')")" "$p" "$((p - d_p50))"
done
echo
echo "last round, keep-alive µs mean/p50/p99:"
for i in "${!names[@]}"; do echo "  ${names[$i]}: ${last[$i]// //}"; done

# Memory under $conns concurrent connections.
cat >"$tmp/hold.py" <<EOF
import os, socket, sys, time
u = os.environ["HTTP_PROXY"]
auth = u.split("//", 1)[1].rsplit("@", 1)[0]
hp = u.rsplit("@", 1)[1].rstrip("/")
h, p = hp.rsplit(":", 1)
import base64
tok = base64.b64encode(auth.encode()).decode()
held = []
for i in range($conns):
    s = socket.create_connection((h, int(p)), timeout=30)
    if i % 2 == 0:
        s.sendall(f"CONNECT 127.0.0.1:$up HTTP/1.1\r\nHost: 127.0.0.1:$up\r\nProxy-Authorization: Basic {tok}\r\n\r\n".encode())
        assert s.recv(4096).startswith(b"HTTP/1.1 200"), "CONNECT refused"
        s.sendall(b"GET /bulk/65536 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    else:
        s.sendall(f"GET $url/bulk/65536 HTTP/1.1\r\nHost: 127.0.0.1:$up\r\nProxy-Authorization: Basic {tok}\r\n\r\n".encode())
    got = 0
    while got < 65536:
        b = s.recv(65536)
        assert b, "closed early"
        got += len(b)
    held.append(s)
print("ready", flush=True)
time.sleep(3)
EOF
# The system interpreter (a version manager's shim lives outside what
# the sandbox grants).
py=$([ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3)
mem() { # $1: bin dir; prints "VmRSS VmHWM" of its nono-proxy under load
    timeout 120 "$1/nono" run --silent --allow-domain "127.0.0.1:$up" --read-file "$tmp/hold.py" -- \
        "$py" "$tmp/hold.py" >"$tmp/hold.out" 2>&1 &
    local front=$!
    for _ in $(seq 600); do grep -q ready "$tmp/hold.out" 2>/dev/null && break; sleep 0.05; done
    local px="" p q
    for p in $(pgrep -x nono-proxy); do
        q=$p
        while [ "$q" -gt 1 ]; do
            [ "$q" = "$front" ] && px=$p && break
            q=$(awk '/^PPid:/{print $2}' "/proc/$q/status" 2>/dev/null || echo 1)
        done
    done
    if [ -n "$px" ] && grep -q ready "$tmp/hold.out"; then
        awk '/^VmRSS:|^VmHWM:/{printf "%.1f ", $2/1024}' "/proc/$px/status"
    else
        printf 'n/a (%s) ' "$(tr '\n' ' ' <"$tmp/hold.out" | tail -c 200)"
    fi
    wait "$front" || true
}
echo
echo "nono-proxy under $conns concurrent connections, MiB VmRSS VmHWM:"
echo "  after:  $(mem "$bin")"
[ -n "$before" ] && echo "  before: $(mem "$before")"
echo
echo "(${mib} MiB bulk, ${n} keep-alive requests, ${rounds} interleaved rounds; $(nproc) cores; $(uname -r))"
