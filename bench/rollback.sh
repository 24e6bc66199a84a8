#!/usr/bin/env bash
# Rollback snapshot cost on a generated project (default 20,000 files,
# ~200 MB in 20 directories of 1,000), all in one run: a bare stat walk and
# `cp -a` of the same tree against the first `--rollback` session (empty
# store), a second one with nothing changed, and a restore of 100 changed
# files. Not part of the test suite. Each nono figure is one whole `nono run
# --rollback --no-rollback-prompt` of /bin/true (both snapshots, launch,
# record); "audit only" is the same run without --rollback. RUNS (default
# 5) repetitions, each with a fresh store; the table gives min and median
# (seconds) and the load average before and after, since the machine may
# be shared.
#   bash bench/rollback.sh [files] [kib-per-file]
#   BASELINE=DIR bash bench/rollback.sh   # also time the nono in DIR (with
#                                         # its helpers), interleaved
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-20000}
kib=${2:-10}
runs=${RUNS:-5}
cargo build --release --quiet -p nono -p nono-broker -p nono-proxy -p nono-keyholder
target=${CARGO_TARGET_DIR:-$PWD/target}
work=$(mktemp -d /tmp/nono-bench-rollback.XXXXXX)
trap 'rm -rf "$work"' EXIT
proj=$work/proj
unset XDG_STATE_HOME XDG_CONFIG_HOME
mkdir -p "$proj"
python3 - "$proj" "$files" "$kib" <<'PY'
import os, sys
root, n, kib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    d = os.path.join(root, f"d{i // 1000:03d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:05d}.txt"), "wb") as f:
        f.write(os.urandom(kib * 1024))
PY
sync
sleep 3 # older than the snapshot's racy window, as a project usually is
# Seconds taken by a command (its output discarded).
t() { python3 -c 'import subprocess, sys, time
s = time.perf_counter()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(f"{time.perf_counter() - s:.3f}")' "$@"; }
run() { "$1" run --allow "$proj" --rollback --no-rollback-prompt -- "${@:2}"; }
# One repetition for the nono at $1: "first second restore audit" seconds.
measure() {
    local nono=$1 first second audit id restore
    export HOME=$work/home-$2-$3
    rm -rf "$HOME"; mkdir -p "$HOME"
    first=$(t "$nono" run --allow "$proj" --rollback --no-rollback-prompt -- /bin/true)
    second=$(t "$nono" run --allow "$proj" --rollback --no-rollback-prompt -- /bin/true)
    audit=$(t "$nono" run --allow "$proj" -- /bin/true)
    run "$nono" /bin/sh -c "cd '$proj' && for f in d000/f000*.txt; do echo changed > \"\$f\"; done" >/dev/null 2>&1
    id=$("$nono" rollback list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
    restore=$(t "$nono" rollback restore "$id")
    rm -rf "$HOME"
    echo "$first $second $restore $audit"
}
declare -A col
labels=(new)
[ -n "${BASELINE:-}" ] && labels=(baseline new)
stat_walk=() cp_a=() cp_sync=()
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq "$runs"); do
    stat_walk+=("$(t find "$proj" -printf '%s %T@ %C@\n')")
    cp_a+=("$(t cp -a "$proj" "$work/copy")"); rm -rf "$work/copy"; sync
    cp_sync+=("$(t sh -c "cp -a '$proj' '$work/copy' && sync -f '$work/copy'")"); rm -rf "$work/copy"; sync
    for l in "${labels[@]}"; do
        bin=$target/release/nono
        [ "$l" = baseline ] && bin=$BASELINE/nono
        col[$l,$i]=$(measure "$bin" "$l" "$i")
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
# "min median" of the arguments.
stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "%.3f %.3f", a[1], a[int((NR+1)/2)]}'; }
pick() { local l=$1 k=$2 v=() i; for i in $(seq "$runs"); do v+=("$(echo "${col[$l,$i]}" | cut -d' ' -f"$k")"); done; stats "${v[@]}"; }
cell() { printf ' %13s' "$(echo "$1" | awk '{printf "%.3f / %.3f", $1, $2}')"; }
echo "$files files, $(du -sm "$proj" | cut -f1) MB; $runs runs; load average $load_before before, $load_after after"
printf '%-42s' "seconds, min / median"
for l in "${labels[@]}"; do printf ' %13s' "$l"; done; echo
line() { printf '%-42s' "$1"; shift; for v in "$@"; do cell "$v"; done; echo; }
# The same figure in every column: it does not depend on the nono.
common() { local v l args=(); v=$(stats "${@:2}"); for l in "${labels[@]}"; do args+=("$v"); done; line "$1" "${args[@]}"; }
common "stat walk (find -printf size,mtime,ctime)" "${stat_walk[@]}"
common "cp -a of the tree" "${cp_a[@]}"
common "cp -a of the tree, then syncfs" "${cp_sync[@]}"
row() { local args=() l; for l in "${labels[@]}"; do args+=("$(pick "$l" "$2")"); done; line "$1" "${args[@]}"; }
row "nono run, audit only (no --rollback)" 4
row "nono run --rollback, first session" 1
row "nono run --rollback, nothing changed" 2
row "nono rollback restore (100 changed files)" 3
