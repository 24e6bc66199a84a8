#!/usr/bin/env bash
# Brokered open latency vs a native open, in one run (nanoseconds per
# open+close, N opens in one process, median of 5 runs):
#   native (no sandbox) · the kernel's floor for any brokered call (a
#   getppid suspended and answered at once by a supervisor process) ·
#   nono run (openat not brokered) ·
#   nono run --capability-elevation, file inside the grants (notified,
#   continued under Landlock) · same, file outside the grants (approved by
#   a decisions file, opened by the broker, injected with ADDFD).
# Not part of the test suite; bounded (fixed counts).
#   bash bench/broker.sh [opens]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
cargo build --release --quiet -p nono -p nono-broker -p nono-proxy -p nono-keyholder -p nono-e2e
bin=$PWD/target/release
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/g"
echo data >"$tmp/g/inside"
echo data >"$tmp/outside"
printf 'approve %s\n' "$tmp/outside" >"$tmp/decisions"
probe="$bin/nono-probe"
median() { sort -n | sed -n 3p; }
measure() { # $@: command prefix
    for _ in 1 2 3 4 5; do "$@" | awk '/^OK/ {print $2}'; done | median
}
nono_run() { "$bin/nono" run --silent --read-file "$probe" --allow "$tmp/g" "$@"; }
printf '| %-58s | %8s |\n' "open+close of a small file" "ns/open"
printf '| %-58s | %8s |\n' "---" "---"
printf '| %-58s | %8s |\n' "native (no sandbox)" "$(measure "$probe" open-loop "$tmp/g/inside" "$n")"
printf '| %-58s | %8s |\n' "floor: getppid notified, answered at once by a process" \
    "$(measure "$probe" bench-notify-floor "$n")"
printf '| %-58s | %8s |\n' "nono run (Landlock; open not brokered)" \
    "$(measure nono_run -- "$probe" open-loop "$tmp/g/inside" "$n")"
printf '| %-58s | %8s |\n' "nono run --capability-elevation, inside the grants" \
    "$(measure nono_run --capability-elevation --elevation-decisions "$tmp/decisions" -- "$probe" open-loop "$tmp/g/inside" "$n")"
printf '| %-58s | %8s |\n' "nono run --capability-elevation, outside (approved, ADDFD)" \
    "$(measure nono_run --capability-elevation --elevation-decisions "$tmp/decisions" -- "$probe" open-loop "$tmp/outside" "$((n / 10))")"
echo
echo "(${n} opens per run, median of 5; $(nproc) cores; $(uname -r))"

# Brokered socket calls: connect is notified in every `nono run` and
# performed by the broker on its duplicate (stream connects on a worker).
m=$((n / 4))
sock="$tmp/g/bench.sock"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
connects() { # $1: label, $2: accept action, $3: target, rest: command prefix
    local label=$1 acc=$2 target=$3; shift 3
    local v
    v=$(for _ in 1 2 3 4 5; do
        rm -f "$sock"
        "$probe" "$acc" "$target" "$m" >/dev/null &
        local server=$!
        sleep 0.3 # the server binds
        "$@" | awk '/^OK/ {print $2}'
        wait "$server"
    done | median)
    printf '| %-58s | %8s |\n' "$label" "$v"
}
echo
printf '| %-58s | %8s |\n' "connect+close" "ns/call"
printf '| %-58s | %8s |\n' "---" "---"
connects "unix socket, native" bench-accept-unix "$sock" "$probe" bench-connect-unix "$sock" "$m"
connects "unix socket, nono run --allow-unix-socket (brokered)" bench-accept-unix "$sock" \
    nono_run --allow-unix-socket "$sock" -- "$probe" bench-connect-unix "$sock" "$m"
connects "TCP 127.0.0.1, native" bench-accept-tcp "$port" "$probe" bench-connect-tcp "$port" "$m"
connects "TCP 127.0.0.1, nono run (brokered)" bench-accept-tcp "$port" \
    nono_run -- "$probe" bench-connect-tcp "$port" "$m"
echo "(${m} connects per run, median of 5)"
