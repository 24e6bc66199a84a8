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
# Memory: C concurrent connections held open through the proxy (half
#   CONNECT tunnels that each carried 64 KiB, half keep-alive forwarding
#   connections), the proxy's resident and peak resident set (VmRSS,
#   VmHWM; tinyproxy: a fresh instance, all its processes summed).
# Not part of the test suite; loopback only and bounded (fixed sizes,
# counts and timeouts).
#   bash bench/proxy.sh [bulk_MiB] [requests] [connections]
#   NONO_PROXY_BEFORE=/path/to/old/nono-proxy bash bench/proxy.sh
# Builds the release binaries first, unless BIN_DIR names a directory that
# holds them already (nono, nono-broker, nono-proxy, nono-keyholder and
# nono-upstream, from the nono-e2e crate); bench/compare.sh calls it so.
# The measurements are shell snippets in single quotes, expanded by the
# shell that runs them (directly or inside the sandbox):
# shellcheck disable=SC2016
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-512}
n=${2:-2000}
conns=${3:-100}
rounds=3
if [ -n "${BIN_DIR:-}" ]; then
    bin=$(cd "$BIN_DIR" && pwd)
else
    cargo build --release --quiet -p nono -p nono-broker -p nono-proxy -p nono-keyholder -p nono-e2e
    bin=$PWD/target/release
fi
for b in nono nono-broker nono-proxy nono-upstream; do
    [ -x "$bin/$b" ] || { echo "no $b in $bin"; exit 1; }
done
tmp=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

if ! command -v tinyproxy >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tinyproxy >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tinyproxy >/dev/null 2>&1; } ||
        true
fi
command -v tinyproxy >/dev/null ||
    echo "(tinyproxy is not installed and could not be: its rows are left out)"

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

# tinyproxy_start NAME: a tinyproxy on a free loopback port, tunnelling only
# to the upstream; sets tp (its URL) and tpid.
tinyproxy_start() {
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    printf 'Port %s\nListen 127.0.0.1\nMaxClients 200\nAllow 127.0.0.1\nConnectPort %s\nLogLevel Critical\nDisableViaHeader Yes\n' \
        "$port" "$up" >"$tmp/$1.conf"
    tinyproxy -d -c "$tmp/$1.conf" >/dev/null 2>&1 & tpid=$!
    pids+=("$tpid")
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.05
    done
    tp="http://127.0.0.1:$port"
}
tp=""
command -v tinyproxy >/dev/null && tinyproxy_start tinyproxy

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
import base64, os, socket, time
u = os.environ["HTTP_PROXY"].split("//", 1)[1].rstrip("/")
auth = b""
if "@" in u:
    cred, u = u.rsplit("@", 1)
    auth = b"Proxy-Authorization: Basic " + base64.b64encode(cred.encode()) + b"\r\n"
h, p = u.rsplit(":", 1)
held = []
for i in range($conns):
    s = socket.create_connection((h, int(p)), timeout=30)
    if i % 2 == 0:
        s.sendall(b"CONNECT 127.0.0.1:$up HTTP/1.1\r\nHost: 127.0.0.1:$up\r\n" + auth + b"\r\n")
        assert b" 200 " in s.recv(4096).split(b"\r\n")[0], "CONNECT refused"
        s.sendall(b"GET /bulk/65536 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    else:
        s.sendall(b"GET $url/bulk/65536 HTTP/1.1\r\nHost: 127.0.0.1:$up\r\n" + auth + b"\r\n")
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
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
ready() { # wait (bounded) for hold.py's "ready"
    for _ in $(seq 600); do grep -q ready "$tmp/hold.out" 2>/dev/null && break; sleep 0.05; done
    grep -q ready "$tmp/hold.out"
}
failed() { printf 'n/a (%s) ' "$(tr '\n' ' ' <"$tmp/hold.out" | tail -c 200)"; }
mem() { # $1: bin dir; prints "VmRSS VmHWM" of its nono-proxy under load
    timeout 120 "$1/nono" run --silent --allow-domain "127.0.0.1:$up" --read-file "$tmp/hold.py" -- \
        "$py" "$tmp/hold.py" >"$tmp/hold.out" 2>&1 &
    local front=$! px="" p q
    if ready; then
        for p in $(pgrep -x nono-proxy); do
            q=$p
            while [ "$q" -gt 1 ]; do
                [ "$q" = "$front" ] && px=$p && break
                q=$(awk '/^PPid:/{print $2}' "/proc/$q/status" 2>/dev/null || echo 1)
            done
        done
    fi
    if [ -n "$px" ]; then
        awk '/^VmRSS:|^VmHWM:/{printf "%.1f ", $2/1024}' "/proc/$px/status"
    else
        failed
    fi
    wait "$front" || true
}
mem_tinyproxy() { # the same for a fresh tinyproxy (all its processes)
    local tp tpid p rss=0 hwm=0 r h
    tinyproxy_start tinyproxy-mem
    HTTP_PROXY=$tp timeout 120 "$py" "$tmp/hold.py" >"$tmp/hold.out" 2>&1 &
    local client=$!
    if ready; then
        for p in $tpid $(pgrep -P "$tpid"); do
            read -r r h < <(awk '/^VmRSS:/{r=$2} /^VmHWM:/{h=$2} END {print r+0, h+0}' "/proc/$p/status")
            rss=$((rss + r)) hwm=$((hwm + h))
        done
        awk -v r="$rss" -v h="$hwm" 'BEGIN {printf "%.1f %.1f ", r/1024, h/1024}'
    else
        failed
    fi
    wait "$client" || true
    kill "$tpid" 2>/dev/null || true
}
echo
echo "proxy under $conns concurrent connections, MiB VmRSS VmHWM:"
echo "  nono-proxy:          $(mem "$bin")"
if [ -n "$before" ]; then echo "  before: nono-proxy:  $(mem "$before")"; fi
if [ -n "$tp" ]; then echo "  peer: tinyproxy:     $(mem_tinyproxy)"; fi
echo
echo "(${mib} MiB bulk, ${n} keep-alive requests, ${rounds} interleaved rounds; $(nproc) cores; $(uname -r))"
