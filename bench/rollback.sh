#!/usr/bin/env bash
# Rollback snapshot cost on a generated project (default 20,000 files,
# ~200 MB in 20 directories of 1,000): the first session's snapshot, a second
# session with nothing changed, and a restore of 100 changed files, against
# `cp -a` of the same tree and a bare stat walk, in the same run.
# Not part of the test suite. Each nono figure is one whole `nono run
# --rollback` of /bin/true (both snapshots, launch, record); each figure is
# the median of RUNS (default 3) repetitions, each on a fresh store.
#   bash bench/rollback.sh [files] [kib-per-file]
#   BASELINE=DIR bash bench/rollback.sh   # also time the nono in DIR (with
#                                         # its helpers), interleaved
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-20000}
kib=${2:-10}
runs=${RUNS:-3}
cargo build --release --quiet -p nono -p nono-broker -p nono-proxy -p nono-keyholder
target=${CARGO_TARGET_DIR:-$PWD/target}
work=$(mktemp -d /tmp/nono-bench-rollback.XXXXXX)
trap 'rm -rf "$work"' EXIT
proj=$work/proj
unset XDG_STATE_HOME XDG_CONFIG_HOME
mkdir -p "$proj"
echo "generating $files files of $kib KiB in $proj"
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
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run() { "$1" run --allow "$proj" --rollback --no-rollback-prompt -- "${@:2}"; }
# One repetition for the nono at $1: "first second restore noop" seconds.
measure() {
    local nono=$1 first second noop id restore
    export HOME=$work/home-$2-$3
    rm -rf "$HOME"; mkdir -p "$HOME"
    first=$(t run "$nono" /bin/true)
    second=$(t run "$nono" /bin/true)
    noop=$(t "$nono" run --allow "$proj" --no-audit -- /bin/true)
    run "$nono" /bin/sh -c "cd '$proj' && for f in d000/f000*.txt; do echo changed > \"\$f\"; done" >/dev/null 2>&1
    id=$("$nono" rollback list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
    restore=$(t "$nono" rollback restore "$id")
    rm -rf "$HOME"
    echo "$first $second $restore $noop"
}
declare -A col
labels=(new)
[ -n "${BASELINE:-}" ] && labels=(baseline new)
stat_walk=() cp_a=()
for i in $(seq "$runs"); do
    stat_walk+=("$(t find "$proj" -printf '%s %T@ %C@\n')")
    cp_a+=("$(t cp -a "$proj" "$work/copy")"); rm -rf "$work/copy"
    for l in "${labels[@]}"; do
        bin=$target/release/nono
        [ "$l" = baseline ] && bin=$BASELINE/nono
        col[$l,$i]=$(measure "$bin" "$l" "$i")
    done
done
pick() { local l=$1 k=$2 v=() i; for i in $(seq "$runs"); do v+=("$(echo "${col[$l,$i]}" | cut -d' ' -f"$k")"); done; median "${v[@]}"; }
echo
printf '%-44s' "step ($files files, $(du -sm "$proj" | cut -f1) MB), median of $runs"
for l in "${labels[@]}"; do printf ' %9s' "$l"; done; echo
printf '%-44s %9.3f\n' "stat walk (find -printf size,mtime,ctime)" "$(median "${stat_walk[@]}")"
printf '%-44s %9.3f\n' "cp -a of the tree" "$(median "${cp_a[@]}")"
row() { printf '%-44s' "$1"; for l in "${labels[@]}"; do printf ' %9.3f' "$(pick "$l" "$2")"; done; echo; }
row "nono run, no rollback, no audit" 4
row "nono run --rollback, first session" 1
row "nono run --rollback, nothing changed" 2
row "nono rollback restore (100 changes)" 3
